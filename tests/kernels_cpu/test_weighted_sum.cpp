// weighted_sum_f16 (the attention's sum of softmax-weighted f16 V rows) of every ISA table against a
// double-precision sum, for head sizes around the SIMD widths, row counts from none to many, and strided rows.
#include "base/fp16.h"
#include "kernels/cpu/ops.h"
#include "kernels_cpu_util.h"

#include <cmath>
#include <gtest/gtest.h>
#include <random>
#include <vector>

namespace hearth::cpu::test {
namespace {

std::vector<uint16_t> random_halves(size_t n, float lo, float hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<uint16_t> v(n);
    for (auto& h : v)
        h = f32_to_fp16(d(rng));
    return v;
}

TEST(WeightedSumF16, EveryIsaMatchesTheExactSum) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        ASSERT_NE(t.weighted_sum_f16, nullptr) << isa;
        for (int64_t dim : {1, 7, 8, 9, 63, 64, 65, 128, 200, 256}) {
            for (int64_t n_rows : {0, 1, 5, 300}) {
                const int64_t stride = 3 * dim + 5; // rows of a KV cache: other heads in between
                const auto rows = random_halves(size_t(n_rows * stride + dim), -4, 4, uint32_t(dim * 1000 + n_rows));
                const auto p = random_halves(size_t(n_rows), 0, 1, uint32_t(n_rows + 7));
                std::vector<float> out(size_t(dim) + 1, 12345.0f);
                t.weighted_sum_f16(n_rows, p.data(), rows.data(), stride, dim, out.data());
                for (int64_t e = 0; e < dim; ++e) {
                    double want = 0, magnitude = 0;
                    for (int64_t j = 0; j < n_rows; ++j) {
                        const double term =
                            double(fp16_to_f32(p[size_t(j)])) * double(fp16_to_f32(rows[size_t(j * stride + e)]));
                        want += term;
                        magnitude += std::fabs(term);
                    }
                    // n_rows float roundings of partial sums at most: <= n_rows * 2^-24 * magnitude.
                    ASSERT_NEAR(out[size_t(e)], want, double(n_rows + 1) * 0x1p-24 * magnitude + 1e-30)
                        << isa << " dim " << dim << " rows " << n_rows << " element " << e;
                }
                EXPECT_EQ(out[size_t(dim)], 12345.0f) << isa << ": wrote past dim";
            }
        }
    }
}

} // namespace
} // namespace hearth::cpu::test
