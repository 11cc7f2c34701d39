// The kernel table's elementwise ops (silu_mul, rms_norm, rope) of every ISA against a double-precision oracle and
// against the scalar table; silu_mul's split invariance (a row computed in one call or in any pieces gives the same
// bits: the model splits rows across threads); every table sets every op.
#include "kernels/cpu/ops.h"
#include "kernels_cpu_util.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>
#include <random>
#include <vector>

namespace hearth::cpu::test {
namespace {

std::vector<float> gate_values(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-12.0f, 12.0f);
    std::vector<float> v(n);
    for (auto& x : v)
        x = u(rng);
    // Edges: zero, tiny, large of both signs (exp overflows / underflows), and past float's exp range.
    const float edges[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 30.0f, -30.0f, 87.0f, -87.0f, 100.0f, -100.0f, 1e30f, -1e30f};
    for (size_t i = 0; i < std::size(edges) && i < n; ++i)
        v[i * 3 % n] = edges[i];
    return v;
}

TEST(SiluMul, EveryIsaMatchesTheExactFunction) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        ASSERT_NE(t.silu_mul, nullptr) << isa;
        for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 100, 4864}) {
            const auto g0 = gate_values(size_t(n), uint32_t(n));
            auto up = gate_values(size_t(n), uint32_t(n + 1));
            for (auto& u : up)
                u = std::fmod(u, 3.0f);
            std::vector<float> g = g0;
            g.push_back(12345.0f);
            t.silu_mul(g.data(), up.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                const double x = g0[size_t(i)];
                const double want = x / (1.0 + std::exp(-x)) * double(up[size_t(i)]);
                // exp within a few ulp, then a division and a product: a few 2^-24 relative.
                ASSERT_NEAR(g[size_t(i)], want, 8 * 0x1p-24 * std::fabs(want) + 1e-37)
                    << isa << " n " << n << " x " << x << " up " << up[size_t(i)];
            }
            EXPECT_EQ(g[size_t(n)], 12345.0f) << isa << ": wrote past n";
        }
    }
}

TEST(SiluMul, AnySplitGivesTheSameBits) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        const int64_t n = 203;
        const auto g0 = gate_values(size_t(n), 5);
        const auto up = gate_values(size_t(n), 6);
        std::vector<float> whole = g0;
        t.silu_mul(whole.data(), up.data(), n);
        for (int64_t cut : {1, 5, 8, 16, 17, 100, 202}) {
            std::vector<float> parts = g0;
            t.silu_mul(parts.data(), up.data(), cut);
            t.silu_mul(parts.data() + cut, up.data() + cut, n - cut);
            ASSERT_EQ(std::memcmp(parts.data(), whole.data(), size_t(n) * sizeof(float)), 0) << isa << " cut " << cut;
        }
    }
}

TEST(KernelTable, EveryTableSetsEveryOp) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        EXPECT_NE(t.attend_f16, nullptr) << isa;
        EXPECT_NE(t.silu_mul, nullptr) << isa;
        EXPECT_NE(t.rms_norm, nullptr) << isa;
        EXPECT_NE(t.rope, nullptr) << isa;
        for (DType w : weight_types()) {
            ASSERT_TRUE(t.supports(w)) << isa;
            EXPECT_EQ(t.at(w).vec_dot_type, make_scalar_table().at(w).vec_dot_type) << isa;
        }
    }
}

std::vector<float> norm_row(int64_t n, uint32_t seed, float magnitude) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, magnitude);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v)
        x = g(rng);
    return v;
}

TEST(RmsNorm, EveryIsaMatchesTheOracleAndTheScalarTableBitForBit) {
    const KernelTable ref = make_scalar_table();
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        for (int64_t n : {1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33, 64, 100, 128, 896, 1536, 2304, 4097}) {
            for (float mag : {1e-3f, 1.0f, 300.0f}) {
                const auto x = norm_row(n, uint32_t(n * 7 + 1), mag);
                const auto w = norm_row(n, uint32_t(n * 7 + 2), 1.0f);
                const float eps = 1e-6f;
                std::vector<float> y(size_t(n) + 1, 777.0f), y_ref(static_cast<size_t>(n));
                t.rms_norm(x.data(), w.data(), y.data(), n, eps);
                ref.rms_norm(x.data(), w.data(), y_ref.data(), n, eps);
                ASSERT_EQ(std::memcmp(y.data(), y_ref.data(), size_t(n) * sizeof(float)), 0)
                    << isa << " n " << n << " mag " << mag;
                EXPECT_EQ(y[size_t(n)], 777.0f) << isa << ": wrote past n";
                double ss = 0;
                for (float v : x)
                    ss += double(v) * double(v);
                const double scale = 1.0 / std::sqrt(ss / double(n) + double(eps));
                for (int64_t i = 0; i < n; ++i) {
                    const double want = double(x[size_t(i)]) * scale * double(w[size_t(i)]);
                    // float square, float mean, float sqrt and division, two products: a few 2^-24 relative.
                    ASSERT_NEAR(y[size_t(i)], want, 6 * 0x1p-24 * std::fabs(want)) << isa << " n " << n << " i " << i;
                }
                // In place (y aliases x), as the model's per-head q/k norms run.
                std::vector<float> inplace = x;
                t.rms_norm(inplace.data(), w.data(), inplace.data(), n, eps);
                ASSERT_EQ(std::memcmp(inplace.data(), y_ref.data(), size_t(n) * sizeof(float)), 0) << isa << " n " << n;
            }
        }
    }
}

TEST(RmsNorm, ZeroRowGivesZerosNotNan) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        std::vector<float> x(40, 0.0f), w(40, 1.0f), y(40, 5.0f);
        t.rms_norm(x.data(), w.data(), y.data(), 40, 1e-5f);
        for (float v : y)
            ASSERT_EQ(v, 0.0f) << isa;
    }
}

TEST(Rope, EveryIsaMatchesTheOracleAndTheScalarTableBitForBit) {
    const KernelTable ref = make_scalar_table();
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        for (bool neox : {false, true}) {
            for (int32_t half : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 64, 67}) {
                for (int32_t extra : {0, 6}) { // head_dim past the rotated dims stays as it is
                    const int32_t head_dim = 2 * half + extra, n_heads = 3;
                    const auto x0 = norm_row(int64_t{n_heads} * head_dim, uint32_t(half * 13 + extra), 2.0f);
                    std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
                    for (int32_t i = 0; i < half; ++i) {
                        const double th = 0.37 * (i + 1) + (neox ? 1.1 : 0.0);
                        cs[size_t(i)] = float(std::cos(th)), sn[size_t(i)] = float(std::sin(th));
                    }
                    std::vector<float> x = x0, x_ref = x0;
                    t.rope(x.data(), n_heads, head_dim, half, cs.data(), sn.data(), neox);
                    ref.rope(x_ref.data(), n_heads, head_dim, half, cs.data(), sn.data(), neox);
                    ASSERT_EQ(std::memcmp(x.data(), x_ref.data(), x.size() * sizeof(float)), 0)
                        << isa << " neox " << neox << " half " << half << " extra " << extra;
                    for (int32_t h = 0; h < n_heads; ++h) {
                        const float* in = x0.data() + h * head_dim;
                        const float* out = x.data() + h * head_dim;
                        for (int32_t i = 0; i < half; ++i) {
                            const int32_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
                            const double c = cs[size_t(i)], s = sn[size_t(i)];
                            const double wa = in[a] * c - in[b] * s, wb = in[a] * s + in[b] * c;
                            const double tol = 4 * 0x1p-24 * (std::fabs(in[a]) + std::fabs(in[b]));
                            ASSERT_NEAR(out[a], wa, tol) << isa << " half " << half << " i " << i;
                            ASSERT_NEAR(out[b], wb, tol) << isa << " half " << half << " i " << i;
                        }
                        for (int32_t d = 2 * half; d < head_dim; ++d)
                            ASSERT_EQ(out[d], in[d]) << isa << ": dim " << d << " past the rotated ones changed";
                    }
                }
            }
        }
    }
}

} // namespace
} // namespace hearth::cpu::test
