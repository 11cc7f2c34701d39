// The routing decision's cost (a benchmark, not a test): what the live router adds to a request beyond the
// prefill it reuses. BM_Decision is the whole per-request work: prompt features, the pre-generation score on
// the first token and the cascade score over a 16-token window with top-8 logprobs. The budget is
// 5 ms p50; this is in microseconds.
#include "router/signals.h"

#include <benchmark/benchmark.h>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace hearth::router;

const std::string kQuestion =
    "Every day, Wendi feeds each of her chickens three cups of mixed chicken feed, containing seeds, mealworms and "
    "vegetables to help keep them healthy. She gives the chickens their feed in three separate meals. In the "
    "morning, she gives her flock of chickens 15 cups of feed. In the afternoon, she gives her chickens another 25 "
    "cups of feed. How many cups of feed does she need to give her chickens in the final meal of the day if the "
    "size of Wendi's flock is 20 chickens?";

std::vector<TokenSignal> window(size_t n, int k) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    std::vector<TokenSignal> w(n);
    for (auto& s : w) {
        float lp = -0.05f;
        for (int i = 0; i < k; ++i) {
            s.top.push_back(lp);
            lp -= 0.5f + 3 * u(rng);
        }
        s.logprob = s.top[0];
    }
    return w;
}

void BM_PromptInfo(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(prompt_info(kQuestion));
}
BENCHMARK(BM_PromptInfo);

void BM_PreScore(benchmark::State& state) {
    const DecisionModel m = default_decision_model();
    const PromptInfo p = prompt_info(kQuestion);
    const auto w = window(1, 8);
    for (auto _ : state)
        benchmark::DoNotOptimize(pre_score(m, p, w[0]));
}
BENCHMARK(BM_PreScore);

void BM_CascadeScore(benchmark::State& state) {
    const DecisionModel m = default_decision_model();
    const PromptInfo p = prompt_info(kQuestion);
    const auto w = window(static_cast<size_t>(state.range(0)), 20);
    for (auto _ : state)
        benchmark::DoNotOptimize(cascade_score(m, p, w));
}
BENCHMARK(BM_CascadeScore)->Arg(16)->Arg(64);

void BM_Decision(benchmark::State& state) {
    const DecisionModel m = default_decision_model();
    const auto w = window(16, 8);
    for (auto _ : state) {
        const PromptInfo p = prompt_info(kQuestion);
        benchmark::DoNotOptimize(pre_score(m, p, w[0]) + cascade_score(m, p, w));
    }
}
BENCHMARK(BM_Decision);

} // namespace

BENCHMARK_MAIN();
