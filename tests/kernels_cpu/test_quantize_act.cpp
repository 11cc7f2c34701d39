// Activation quantizers of every ISA table vs kernels/ref's quantize_row: identical bytes. (Our AVX2 Q8_0 /
// Q8_1 quantizer rounds half away from zero like the reference; llama.cpp's AVX2 one rounds half to even.)
#include "kernels/cpu/ops.h"
#include "kernels/ref/quant.h"
#include "kernels_cpu_util.h"

#include <gtest/gtest.h>
#include <ostream>
#include <vector>

namespace hearth::cpu::test {
namespace {

struct QuantCase {
    std::string isa;
    DType w_type; // a weight type whose vec_dot_type is the one under test
};

void PrintTo(const QuantCase& c, std::ostream* os) {
    *os << c.isa << " " << dtype_name(c.w_type);
}

std::vector<QuantCase> quant_cases() {
    std::vector<QuantCase> cases;
    for (const auto& isa : available_isas()) {
        // (F16 weights take the F32 activations themselves: nothing to quantize.)
        for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::BF16})
            cases.push_back({isa, t});
    }
    return cases;
}

class QuantizeAct : public ::testing::TestWithParam<QuantCase> {};

TEST_P(QuantizeAct, BytesMatchReference) {
    const QuantCase& c = GetParam();
    const KernelTable table = table_for(c.isa);
    const TypeTraits& tt = table.at(c.w_type);
    ASSERT_NE(tt.quantize_act, nullptr);
    for (int64_t n : {int64_t(256), int64_t(2304), int64_t(4864)}) {
        for (float scale : {1.0f, 1e-3f, 3e4f, 1e-20f}) {
            auto x = make_activations(n, uint64_t(n) + 7);
            if (scale != 1.0f) {
                for (auto& v : x)
                    v *= scale;
            }
            const size_t bytes = size_t(*dtype_row_bytes(tt.vec_dot_type, uint64_t(n)));
            std::vector<uint8_t> want(bytes), got(bytes, 0xAB);
            ref::ref_quantize_row(tt.vec_dot_type, x.data(), want.data(), n);
            tt.quantize_act(x.data(), got.data(), n);
            size_t first_diff = 0;
            while (first_diff < bytes && want[first_diff] == got[first_diff])
                ++first_diff;
            EXPECT_EQ(first_diff, bytes) << "n " << n << " scale " << scale << ": first differing byte " << first_diff;
        }
    }
}

std::string quant_case_name(const ::testing::TestParamInfo<QuantCase>& info) {
    const KernelTable table = table_for(info.param.isa);
    const TypeTraits& tt = table.at(info.param.w_type);
    return info.param.isa + "_" + std::string(dtype_name(tt.vec_dot_type));
}

INSTANTIATE_TEST_SUITE_P(KernelsCpu, QuantizeAct, ::testing::ValuesIn(quant_cases()), quant_case_name);

// The KV cache's f32 -> f16 (KernelTable::to_f16) of every table: kernels/ref's F16 rounding, byte for byte, for
// lengths with and without a SIMD tail and values from f16's subnormals to past its largest (infinity).
TEST(ToF16, EveryTableMatchesTheReference) {
    for (const auto& isa : available_isas()) {
        const KernelTable table = table_for(isa);
        ASSERT_NE(table.to_f16, nullptr) << isa;
        for (int64_t n : {int64_t(1), int64_t(7), int64_t(64), int64_t(257)}) {
            for (float scale : {1.0f, 1e-6f, 3e4f, 1e5f}) {
                auto x = make_activations(n, uint64_t(n) + 11);
                for (auto& v : x)
                    v *= scale;
                std::vector<uint16_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n), 0xABCD);
                ref::ref_quantize_row(DType::F16, x.data(), want.data(), n);
                table.to_f16(x.data(), got.data(), n);
                EXPECT_EQ(got, want) << isa << " n " << n << " scale " << scale;
            }
        }
    }
}

} // namespace
} // namespace hearth::cpu::test
