// The kernel table's elementwise ops of every ISA against a double-precision oracle, and split invariance: a row
// computed in one call or in any pieces gives the same bits (the model splits rows across threads).
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

} // namespace
} // namespace hearth::cpu::test
