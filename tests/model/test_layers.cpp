// Element-wise blocks of the forward pass (model/layers.h) against direct double-precision formulas.
#include "base/fp16.h"
#include "kernels/cpu/ops.h"
#include "model/layers.h"

#include <cmath>
#include <gtest/gtest.h>
#include <random>
#include <vector>

namespace hearth {
namespace {

// ggml's GELU table entry, in float as ggml computes it (for large negative x, 1 + tanh cancels: float's
// answer is what llama.cpp uses, so it is the one to match).
float gelu_tanh_ggml(float x) {
    return 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
}

std::vector<float> random_values(size_t n, float lo, float hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v)
        x = dist(rng);
    return v;
}

std::vector<float> run_glu(int threads, std::vector<float> gate, const std::vector<float>& up, FfnAct act) {
    const cpu::KernelTable kt = cpu::make_scalar_table();
    ThreadPool pool(threads);
    const ComputeCtx c{kt, pool, nullptr};
    glu(c, gate.data(), up.data(), int64_t(gate.size()), act);
    return gate;
}

TEST(Glu, GeluMatchesGgmlF16Semantics) {
    // Inputs over the whole interesting range plus the +-10 cut-offs and values past them.
    std::vector<float> gate = random_values(4099, -12.0f, 12.0f, 1);
    gate.insert(gate.end(), {-10.0f, 10.0f, -9.999f, 9.999f, 0.0f, -0.0f, 1e-6f, -1e-6f, 50.0f, -50.0f});
    const std::vector<float> up = random_values(gate.size(), -2.0f, 2.0f, 2);
    const std::vector<float> got = run_glu(1, gate, up, FfnAct::GeluTanh);
    for (size_t i = 0; i < gate.size(); ++i) {
        const float g = gate[i];
        double a;
        if (g <= -10.0f)
            a = 0;
        else if (g >= 10.0f)
            a = g;
        else // ggml: input rounded to f16, result rounded to f16
            a = fp16_to_f32(f32_to_fp16(gelu_tanh_ggml(fp16_to_f32(f32_to_fp16(g)))));
        ASSERT_EQ(got[i], float(a) * up[i]) << "gate " << g;
    }
}

TEST(Glu, SiluMatchesFormula) {
    const std::vector<float> gate = random_values(1000, -30.0f, 30.0f, 3);
    const std::vector<float> up = random_values(gate.size(), -2.0f, 2.0f, 4);
    const std::vector<float> got = run_glu(1, gate, up, FfnAct::Silu);
    for (size_t i = 0; i < gate.size(); ++i) {
        const double g = gate[i];
        const double want = g / (1.0 + std::exp(-g)) * up[i];
        ASSERT_NEAR(got[i], want, 1e-5 * std::fabs(want) + 1e-30) << "gate " << g;
    }
}

TEST(Glu, SameResultForAnyThreadCount) {
    for (FfnAct act : {FfnAct::Silu, FfnAct::GeluTanh}) {
        for (size_t n : {size_t(1), size_t(15), size_t(17), size_t(1000), size_t(2048 * 3 + 5)}) {
            const std::vector<float> gate = random_values(n, -8.0f, 8.0f, uint32_t(n));
            const std::vector<float> up = random_values(n, -1.0f, 1.0f, uint32_t(n + 1));
            const std::vector<float> one = run_glu(1, gate, up, act);
            for (int threads : {2, 3, 7})
                EXPECT_EQ(run_glu(threads, gate, up, act), one) << "n " << n << " threads " << threads;
        }
    }
}

} // namespace
} // namespace hearth
