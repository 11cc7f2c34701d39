// attend_f16 (ops.h: grouped-query attention over an f16 K/V cache) of every ISA table against a double-precision
// oracle, for head sizes around the SIMD widths, key counts from one to many, groups of 1..kAttnMaxQ queries, and
// strided K/V rows (other heads in between); each query's result is the same bit for bit alone or in any group.
#include "base/fp16.h"
#include "kernels/cpu/ops.h"
#include "kernels_cpu_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <random>
#include <vector>

namespace hearth::cpu::test {
namespace {

struct Case {
    int64_t dim_k, dim_v, n_keys;
    int n_q;
    float q_range; // queries uniform in [-q_range, q_range]: larger means a peakier softmax
};

struct Data {
    std::vector<float> q;
    std::vector<uint16_t> k, v;
    int64_t q_stride, k_stride, v_stride, out_stride;
};

Data make_data(const Case& c, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    Data d;
    d.q_stride = c.dim_k + 3;
    d.k_stride = 3 * c.dim_k + 5; // a KV cache row: other heads in between
    d.v_stride = 2 * c.dim_v + 7;
    d.out_stride = c.dim_v + 2; // gaps between outputs: must stay untouched
    d.q.resize(size_t(c.n_q * d.q_stride));
    for (auto& x : d.q)
        x = c.q_range * u(rng);
    d.k.resize(size_t(c.n_keys * d.k_stride + c.dim_k));
    for (auto& h : d.k)
        h = f32_to_fp16(2.0f * u(rng));
    d.v.resize(size_t(c.n_keys * d.v_stride + c.dim_v));
    for (auto& h : d.v)
        h = f32_to_fp16(4.0f * u(rng));
    return d;
}

AttnGroup group_of(const Case& c, const Data& d, float* out) {
    AttnGroup g;
    g.n_q = c.n_q;
    g.q = d.q.data();
    g.q_stride = d.q_stride;
    g.k = d.k.data();
    g.v = d.v.data();
    g.k_stride = d.k_stride;
    g.v_stride = d.v_stride;
    g.n_keys = c.n_keys;
    g.dim_k = c.dim_k;
    g.dim_v = c.dim_v;
    g.scale = float(1.0 / std::sqrt(double(c.dim_k)));
    g.out = out;
    g.out_stride = d.out_stride;
    return g;
}

constexpr float kSentinel = 12345.0f;

std::vector<float> run(const KernelTable& t, const AttnGroup& g, int64_t out_floats) {
    std::vector<float> out(size_t(out_floats), kSentinel);
    std::vector<float> scratch(attend_scratch_floats(g.n_keys, g.dim_k), -777.0f);
    AttnGroup gg = g;
    gg.out = out.data();
    t.attend_f16(gg, scratch.data());
    return out;
}

std::vector<Case> cases() {
    std::vector<Case> cs;
    const std::pair<int64_t, int64_t> dims[] = {{1, 1},   {7, 9},   {8, 8},     {16, 16},  {17, 15},  {64, 64},
                                                {80, 80}, {96, 96}, {128, 128}, {200, 72}, {256, 256}};
    for (auto [dk, dv] : dims)
        for (int64_t n_keys : {1, 2, 7, 15, 16, 17, 33, 300})
            for (int n_q : {1, 2, 3, 6, 8})
                cs.push_back({dk, dv, n_keys, n_q, 2.0f});
    cs.push_back({128, 128, 2500, 6, 2.0f});
    cs.push_back({128, 128, 2500, 6, 40.0f}); // scores far apart: most weights underflow
    cs.push_back({64, 64, 1000, 4, 0.01f});   // nearly uniform weights
    return cs;
}

TEST(AttendF16, EveryIsaMatchesTheExactAttention) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        ASSERT_NE(t.attend_f16, nullptr) << isa;
        uint32_t seed = 1;
        for (const Case& c : cases()) {
            const Data d = make_data(c, seed++);
            const AttnGroup g = group_of(c, d, nullptr);
            const auto out = run(t, g, c.n_q * d.out_stride);
            for (int i = 0; i < c.n_q; ++i) {
                // The oracle: f16-rounded query, double scores, double softmax, double weighted sum.
                std::vector<double> s(size_t(c.n_keys));
                double mx = -INFINITY;
                for (int64_t j = 0; j < c.n_keys; ++j) {
                    double dot = 0;
                    for (int64_t e = 0; e < c.dim_k; ++e)
                        dot += double(fp16_to_f32(f32_to_fp16(d.q[size_t(i * d.q_stride + e)]))) *
                               double(fp16_to_f32(d.k[size_t(j * d.k_stride + e)]));
                    s[size_t(j)] = dot * double(g.scale);
                    mx = std::max(mx, s[size_t(j)]);
                }
                double sum = 0;
                for (auto& x : s)
                    sum += (x = std::exp(x - mx));
                for (int64_t e = 0; e < c.dim_v; ++e) {
                    double want = 0, magnitude = 0;
                    for (int64_t j = 0; j < c.n_keys; ++j) {
                        const double term = s[size_t(j)] / sum * double(fp16_to_f32(d.v[size_t(j * d.v_stride + e)]));
                        want += term;
                        magnitude += std::fabs(term);
                    }
                    // Each weight is rounded to f16 (2^-11 relative); float scores, exp and sums add a few 2^-24.
                    const double tol = (0x1p-11 + double(c.n_keys + c.dim_k + 64) * 0x1p-24) * magnitude + 1e-30;
                    ASSERT_NEAR(out[size_t(i * d.out_stride + e)], want, tol)
                        << isa << " dim_k " << c.dim_k << " dim_v " << c.dim_v << " keys " << c.n_keys << " n_q "
                        << c.n_q << " query " << i << " element " << e;
                }
                for (int64_t e = c.dim_v; e < d.out_stride; ++e)
                    ASSERT_EQ(out[size_t(i * d.out_stride + e)], kSentinel) << isa << ": wrote past dim_v";
            }
        }
    }
}

TEST(AttendF16, OneKeyGivesItsValueExactly) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        for (int64_t dim : {5, 16, 128}) {
            const Case c{dim, dim, 1, 3, 5.0f};
            const Data d = make_data(c, 99);
            const auto out = run(t, group_of(c, d, nullptr), c.n_q * d.out_stride);
            for (int i = 0; i < c.n_q; ++i)
                for (int64_t e = 0; e < dim; ++e)
                    ASSERT_EQ(out[size_t(i * d.out_stride + e)], fp16_to_f32(d.v[size_t(e)])) << isa << " " << e;
        }
    }
}

// A query's result must not depend on the group it is computed in (the model's batch invariance rests on it).
TEST(AttendF16, EachQueryIsTheSameAloneOrInAGroup) {
    for (const auto& isa : available_isas()) {
        const KernelTable t = table_for(isa);
        for (const Case& c : cases()) {
            if (c.n_q == 1) continue;
            const Data d = make_data(c, uint32_t(c.dim_k * 7 + c.n_keys));
            const AttnGroup g = group_of(c, d, nullptr);
            const auto together = run(t, g, c.n_q * d.out_stride);
            for (int i = 0; i < c.n_q; ++i) {
                AttnGroup one = g;
                one.n_q = 1;
                one.q = g.q + i * g.q_stride;
                const auto alone = run(t, one, d.out_stride);
                ASSERT_EQ(std::memcmp(alone.data(), together.data() + i * d.out_stride, size_t(c.dim_v) * 4), 0)
                    << isa << " dim_k " << c.dim_k << " keys " << c.n_keys << " n_q " << c.n_q << " query " << i;
            }
        }
    }
}

} // namespace
} // namespace hearth::cpu::test
