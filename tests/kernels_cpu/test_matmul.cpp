// matmul of every ISA table against
//   (1) the double-precision product of the dequantized weights (kernels/ref) with the dequantized quantized
//       activations: the same math with exact accumulation, so only float rounding separates them;
//   (2) the double-precision product with the original float activations, within a bound derived from the
//       activation quantization (act_quant_error_bound): |y - y_f32| <= sum_i |w_i| * err_i + rounding;
// and checks that 1, 2 and 3 threads give bit-identical results.
//
// Q4_1 / Q5_1 need one more term: their offset m_w multiplies Q8_1's stored block sum s = half(d * sum(q)),
// as in ggml, rather than sum(half(d) * q) of the dequantized activations (offset_terms below).
#include "base/fp16.h"
#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "kernels/ref/quant.h"
#include "kernels_cpu_util.h"
#include "tensor/quant_blocks.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <memory>
#include <ostream>

namespace hearth::cpu::test {
namespace {

struct MatmulCase {
    std::string isa;
    DType type;
    int64_t n_in;
    int64_t n_out;
    int64_t n_tokens;
};

void PrintTo(const MatmulCase& c, std::ostream* os) {
    *os << c.isa << " " << dtype_name(c.type) << " n_in=" << c.n_in << " n_out=" << c.n_out
        << " n_tokens=" << c.n_tokens;
}

std::vector<MatmulCase> matmul_cases() {
    std::vector<MatmulCase> cases;
    for (const auto& isa : available_isas()) {
        for (DType t : weight_types()) {
            std::vector<int64_t> sizes = {288, 2304};
            if (is_k_type(t)) sizes = {256, 2304};
            if (is_float_type(t)) sizes = {33, 2304};
            for (int64_t n_in : sizes)
                for (int64_t n_out : {1, 7, 64})
                    for (int64_t n_tokens : {1, 3, 17})
                        cases.push_back({isa, t, n_in, n_out, n_tokens});
        }
    }
    return cases;
}

struct OffsetTerms {
    double correction = 0; // add to the dequantized oracle
    double bound = 0;      // add to the bound against the f32 product
};

// For Q4_1 / Q5_1 (Q8_1 activations): per block, the dot product computes d_w d_a sum(q_w q_a) + m_w s_a. Against
// the dequantized oracle sum((d_w q_w + m_w) d_a q_a) that is off by m_w (s_a - d_a sum(q_a)). Against the f32
// product, the offset term errs by |m_w| |s_a - sum(x)| <= |m_w| (2^-11 |s_a| + sum_i |d q_i - x_i|), and the
// scaled part by sum_i |d_w q_i| err_i <= sum_i (|w_i| + |m_w|) err_i: at most |m_w| (2^-11 |s_a| + 64 err) extra.
OffsetTerms offset_terms(DType w_type, const uint8_t* w_row, const uint8_t* act_row, const double* err, int64_t n_in) {
    OffsetTerms terms;
    if (w_type != DType::Q4_1 && w_type != DType::Q5_1) return terms;
    const size_t w_block_bytes = dtype_info(w_type).type_size;
    const auto* a = reinterpret_cast<const BlockQ8_1*>(act_row);
    for (int64_t b = 0; b < n_in / 32; ++b) {
        uint16_t m_bits;
        std::memcpy(&m_bits, w_row + size_t(b) * w_block_bytes + 2, 2); // Q4_1 / Q5_1: d, m, ...
        const double m = fp16_to_f32(m_bits);
        int sum_q = 0;
        for (int j = 0; j < 32; ++j)
            sum_q += a[b].qs[j];
        const double s = fp16_to_f32(a[b].s);
        terms.correction += m * (s - double(fp16_to_f32(a[b].d)) * sum_q);
        terms.bound += std::fabs(m) * (std::ldexp(std::fabs(s), -11) + 64 * err[b * 32]);
    }
    return terms;
}

class Matmul : public WithPools<MatmulCase> {};

TEST_P(Matmul, MatchesOracleAndIsThreadInvariant) {
    const MatmulCase& c = GetParam();
    const KernelTable table = table_for(c.isa);
    const TypeTraits& tt = table.at(c.type);
    const auto w = make_weights(c.type, c.n_out, c.n_in, 7 + uint64_t(c.n_out), WeightFill::quantized);
    const auto x = make_activations(c.n_tokens * c.n_in, 11 + uint64_t(c.n_tokens));

    std::vector<uint8_t> scratch(act_scratch_bytes(table, c.type, c.n_tokens, c.n_in));
    std::vector<float> y[3];
    for (int p = 0; p < 3; ++p) {
        y[p].assign(size_t(c.n_tokens * c.n_out), NAN);
        matmul(table, pool(p), c.type, w.data(), c.n_out, c.n_in, x.data(), c.n_tokens, y[p].data(),
               scratch.empty() ? nullptr : scratch.data());
    }
    for (int p = 1; p < 3; ++p)
        ASSERT_EQ(std::memcmp(y[0].data(), y[p].data(), y[0].size() * sizeof(float)), 0) << p + 1 << " threads";

    // Oracle inputs: dequantized weights, and activations through the reference quantizer and back.
    const auto w_dq = dequantize_rows(c.type, w.data(), c.n_out, c.n_in);
    std::vector<float> x_dq = x;
    std::vector<uint8_t> q;
    const size_t act_row_bytes = size_t(*dtype_row_bytes(tt.vec_dot_type, uint64_t(c.n_in)));
    const size_t w_row_bytes = w.size() / size_t(c.n_out);
    if (tt.vec_dot_type != DType::F32) {
        q.resize(act_row_bytes * size_t(c.n_tokens));
        ref::ref_quantize_row(tt.vec_dot_type, x.data(), q.data(), int64_t(x.size()));
        x_dq = dequantize_rows(tt.vec_dot_type, q.data(), 1, int64_t(x.size()));
    }
    for (int64_t t = 0; t < c.n_tokens; ++t) {
        const float* xt = x.data() + t * c.n_in;
        const auto err = act_quant_error_bound(tt.vec_dot_type, xt, c.n_in);
        for (int64_t r = 0; r < c.n_out; ++r) {
            const float* wr = w_dq.data() + r * c.n_in;
            double exact_q = 0, magnitude_q = 0, exact_f = 0, magnitude_f = 0, quant_bound = 0;
            for (int64_t i = 0; i < c.n_in; ++i) {
                const double wi = wr[i];
                exact_q += wi * double(x_dq[size_t(t * c.n_in + i)]);
                magnitude_q += std::fabs(wi * double(x_dq[size_t(t * c.n_in + i)]));
                exact_f += wi * double(xt[i]);
                magnitude_f += std::fabs(wi * double(xt[i]));
                quant_bound += std::fabs(wi) * err[size_t(i)];
            }
            // F32 activations are not quantized: q is empty (and no offset pointer is formed from null).
            const uint8_t* qt = q.empty() ? nullptr : q.data() + size_t(t) * act_row_bytes;
            const OffsetTerms offset = offset_terms(c.type, w.data() + size_t(r) * w_row_bytes, qt, err.data(), c.n_in);
            exact_q += offset.correction;
            quant_bound += offset.bound;
            const double got = y[0][size_t(t * c.n_out + r)];
            ASSERT_LE(std::fabs(got - exact_q), 1e-5 * magnitude_q + 1e-30)
                << "token " << t << " row " << r << ": got " << got << " want " << exact_q;
            ASSERT_LE(std::fabs(got - exact_f), quant_bound + 1e-5 * magnitude_f + 1e-30)
                << "token " << t << " row " << r << ": got " << got << " f32 product " << exact_f;
        }
    }
}

std::string matmul_case_name(const ::testing::TestParamInfo<MatmulCase>& info) {
    const MatmulCase& c = info.param;
    return case_name(c.isa, c.type) + "_in" + std::to_string(c.n_in) + "_out" + std::to_string(c.n_out) + "_tok" +
           std::to_string(c.n_tokens);
}

INSTANTIATE_TEST_SUITE_P(KernelsCpu, Matmul, ::testing::ValuesIn(matmul_cases()), matmul_case_name);

TEST(KernelTable, ScalarSupportsEveryListedTypeAndBestTableNamesItsIsa) {
    const KernelTable scalar = make_scalar_table();
    for (DType t : weight_types())
        EXPECT_TRUE(scalar.supports(t)) << dtype_name(t);
    EXPECT_FALSE(scalar.supports(DType::IQ2_XXS));
    EXPECT_FALSE(scalar.supports(DType::Q8_K));
    const KernelTable best = make_kernel_table(detect_cpu_features());
    EXPECT_EQ(std::string(best.isa), available_isas().back());
    for (DType t : weight_types())
        EXPECT_TRUE(best.supports(t)) << dtype_name(t);
}

} // namespace
} // namespace hearth::cpu::test
