// vec_dot of every ISA table vs the scalar oracle (scalar_dot.h), on the same activation bytes: integer block
// sums are exact in both, so only float accumulation order may differ.
#include "kernels/cpu/ops.h"
#include "kernels_cpu_util.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <ostream>

namespace hearth::cpu::test {
namespace {

struct DotCase {
    std::string isa;
    DType type;
    int64_t n_in;
    WeightFill fill;
};

void PrintTo(const DotCase& c, std::ostream* os) {
    *os << c.isa << " " << dtype_name(c.type) << " n_in=" << c.n_in;
}

std::vector<DotCase> dot_cases() {
    std::vector<DotCase> cases;
    for (const auto& isa : available_isas()) {
        for (DType t : weight_types()) {
            std::vector<int64_t> sizes = {32, 64, 96, 192, 288, 2304}; // 1, 2, 3, 6, 9, 72 blocks
            if (is_k_type(t)) sizes = {256, 768, 2304};
            if (is_float_type(t)) sizes = {1, 7, 33, 288, 2304};
            for (int64_t n : sizes) {
                cases.push_back({isa, t, n, WeightFill::quantized});
                if (!is_float_type(t)) cases.push_back({isa, t, n, WeightFill::raw_bytes});
                if (!is_float_type(t)) cases.push_back({isa, t, n, WeightFill::saturated});
            }
        }
    }
    return cases;
}

class VecDot : public ::testing::TestWithParam<DotCase> {};

TEST_P(VecDot, MatchesScalarOracle) {
    const DotCase& c = GetParam();
    const KernelTable table = table_for(c.isa);
    const KernelTable scalar = make_scalar_table();
    ASSERT_TRUE(table.supports(c.type));
    const TypeTraits& tt = table.at(c.type);
    const TypeTraits& st = scalar.at(c.type);
    ASSERT_EQ(tt.vec_dot_type, st.vec_dot_type);

    constexpr int64_t kRows = 5;
    const auto w = make_weights(c.type, kRows, c.n_in, 1234 + uint64_t(c.n_in), c.fill);
    const auto x = c.fill == WeightFill::saturated ? saturated_activations(c.n_in)
                                                   : make_activations(c.n_in, 99 + uint64_t(c.n_in));
    // The same activation bytes (from the scalar quantizer) for both tables.
    std::vector<uint8_t> act(std::max<size_t>(act_scratch_bytes(scalar, c.type, 1, c.n_in), 1));
    const void* act_row = x.data();
    if (st.quantize_act != nullptr) {
        st.quantize_act(x.data(), act.data(), c.n_in);
        act_row = act.data();
    }
    const auto w_dq = dequantize_rows(c.type, w.data(), kRows, c.n_in);
    const auto a_dq = dequantize_rows(st.vec_dot_type, act_row, 1, c.n_in);
    const size_t row_bytes = w.size() / kRows;
    for (int64_t r = 0; r < kRows; ++r) {
        const uint8_t* w_row = w.data() + size_t(r) * row_bytes;
        const float want = st.vec_dot(c.n_in, w_row, act_row);
        const float got = tt.vec_dot(c.n_in, w_row, act_row);
        double magnitude = 0; // sum |w_i a_i|: the scale of the float rounding of any summation order
        for (int64_t i = 0; i < c.n_in; ++i)
            magnitude += std::fabs(double(w_dq[size_t(r * c.n_in + i)]) * double(a_dq[size_t(i)]));
        ASSERT_TRUE(std::isfinite(got)) << "row " << r;
        if (c.isa == "scalar") {
            EXPECT_EQ(got, want) << "row " << r;
        } else {
            EXPECT_LE(std::fabs(double(got) - double(want)), 1e-5 * magnitude + 1e-30)
                << "row " << r << " got " << got << " want " << want << " magnitude " << magnitude;
        }
    }
}

// `rows` activation rows of n_in elements in the table's activation type for `tt` (quantized, or for F16 weights the
// F32 values themselves), `stride` bytes apart with stride = the row's bytes + 8 (off any SIMD alignment, aligned
// for the block structs); row j from seed seed_mul * j + n_in.
std::vector<uint8_t> act_rows(const TypeTraits& tt, int64_t n_in, int rows, uint64_t seed_mul, size_t* stride) {
    const size_t act_bytes = size_t(*dtype_row_bytes(tt.vec_dot_type, uint64_t(n_in)));
    *stride = act_bytes + 8;
    std::vector<uint8_t> act(*stride * size_t(rows));
    for (int j = 0; j < rows; ++j) {
        const auto x = make_activations(n_in, seed_mul * uint64_t(j) + uint64_t(n_in));
        if (tt.quantize_act != nullptr)
            tt.quantize_act(x.data(), act.data() + size_t(j) * *stride, n_in);
        else
            std::memcpy(act.data() + size_t(j) * *stride, x.data(), act_bytes);
    }
    return act;
}

// The prefill tile kernel: one weight row against up to 9 activation rows at an odd stride must give exactly
// what vec_dot gives for each row (so a prompt's logits do not depend on how it was batched).
TEST_P(VecDot, MultiRowMatchesSingleBitForBit) {
    const DotCase& c = GetParam();
    const KernelTable table = table_for(c.isa);
    const TypeTraits& tt = table.at(c.type);
    if (tt.vec_dot_multi == nullptr) GTEST_SKIP() << "no multi-row kernel for this type on " << c.isa;
    // Quantized activations, or (F16 weights) the F32 activations themselves.
    ASSERT_TRUE(tt.quantize_act != nullptr || tt.vec_dot_type == DType::F32);
    constexpr int kMaxAct = 9;
    constexpr int64_t kRows = 3;
    const auto w = make_weights(c.type, kRows, c.n_in, 777 + uint64_t(c.n_in), c.fill);
    size_t stride = 0;
    const std::vector<uint8_t> act = act_rows(tt, c.n_in, kMaxAct, 31, &stride);
    const size_t row_bytes = w.size() / kRows;
    for (int64_t r = 0; r < kRows; ++r) {
        const uint8_t* w_row = w.data() + size_t(r) * row_bytes;
        for (int n_act = 1; n_act <= kMaxAct; ++n_act) {
            std::vector<float> out(kMaxAct + 1, -12345.0f);
            tt.vec_dot_multi(c.n_in, w_row, act.data(), stride, n_act, out.data());
            for (int j = 0; j < n_act; ++j)
                ASSERT_EQ(out[size_t(j)], tt.vec_dot(c.n_in, w_row, act.data() + size_t(j) * stride))
                    << "row " << r << " n_act " << n_act << " act row " << j;
            EXPECT_EQ(out[size_t(n_act)], -12345.0f) << "wrote past n_act";
        }
    }
}

// The register-blocked prefill kernel: every block shape (1..kTileRows weight rows x 1..kTileActs activation rows,
// odd strides) gives exactly vec_dot for each pair, and writes only its block of `out`.
TEST_P(VecDot, TileMatchesSingleBitForBit) {
    const DotCase& c = GetParam();
    const KernelTable table = table_for(c.isa);
    const TypeTraits& tt = table.at(c.type);
    if (tt.vec_dot_tile == nullptr) GTEST_SKIP() << "no tile kernel for this type on " << c.isa;
    ASSERT_TRUE(tt.quantize_act != nullptr || tt.vec_dot_type == DType::F32);
    const auto w = make_weights(c.type, kTileRows, c.n_in, 555 + uint64_t(c.n_in), c.fill);
    const size_t row_bytes = w.size() / kTileRows;
    const size_t w_stride = row_bytes + 4; // rows off any SIMD alignment
    std::vector<uint8_t> wpad(w_stride * kTileRows);
    for (int r = 0; r < kTileRows; ++r)
        std::memcpy(wpad.data() + size_t(r) * w_stride, w.data() + size_t(r) * row_bytes, row_bytes);
    size_t a_stride = 0;
    const std::vector<uint8_t> act = act_rows(tt, c.n_in, kTileActs, 17, &a_stride);
    constexpr size_t kOutStride = kTileRows + 3;
    for (int nr = 1; nr <= kTileRows; ++nr)
        for (int na = 1; na <= kTileActs; ++na) {
            std::vector<float> out(kOutStride * kTileActs, -12345.0f);
            tt.vec_dot_tile(c.n_in, wpad.data(), w_stride, nr, act.data(), a_stride, na, out.data(), kOutStride);
            for (int j = 0; j < kTileActs; ++j)
                for (size_t i = 0; i < kOutStride; ++i) {
                    const float got = out[size_t(j) * kOutStride + i];
                    if (j < na && int(i) < nr)
                        ASSERT_EQ(got,
                                  tt.vec_dot(c.n_in, wpad.data() + i * w_stride, act.data() + size_t(j) * a_stride))
                            << nr << " x " << na << " block, row " << i << " act " << j;
                    else
                        ASSERT_EQ(got, -12345.0f)
                            << nr << " x " << na << " block wrote outside it at " << j << "," << i;
                }
        }
}

std::string dot_case_name(const ::testing::TestParamInfo<DotCase>& info) {
    const DotCase& c = info.param;
    return case_name(c.isa, c.type) + "_n" + std::to_string(c.n_in) + fill_name(c.fill);
}

INSTANTIATE_TEST_SUITE_P(KernelsCpu, VecDot, ::testing::ValuesIn(dot_cases()), dot_case_name);

} // namespace
} // namespace hearth::cpu::test
