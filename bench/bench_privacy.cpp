// Privacy scanner throughput (MB/s) on ordinary prose (docs), code (C++/Python sources) and PII-dense text
// (the generated corpus of tests/privacy/corpus.h). Prose and code come from scripts/fetch-fixtures.
// Usage: build/release/src/privacy/bench_privacy   (bytes_per_second is the figure to read)
#include "model_paths.h"
#include "privacy/corpus.h" // tests/privacy/corpus.h
#include "privacy/privacy.h"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

std::string read_all(const std::string& dir) {
    std::string all;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        all += ss.str();
    }
    if (all.empty()) {
        std::fprintf(stderr, "bench_privacy: no text in %s: run scripts/fetch-fixtures\n", dir.c_str());
        std::exit(1);
    }
    return all;
}

std::string pii_dense() {
    std::string all;
    for (const auto& p : hearth::privacy::corpus::make_corpus(4000, 1))
        for (const auto& m : p.messages)
            all += m + "\n";
    return all;
}

void run(benchmark::State& state, const std::string& text) {
    auto scanner = hearth::privacy::Scanner::create({});
    size_t found = 0;
    for (auto _ : state) {
        auto r = scanner->scan(text);
        found = r ? r->size() : 0;
        benchmark::DoNotOptimize(found);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
    state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
    state.counters["findings"] = static_cast<double>(found);
}

void BM_ScanProse(benchmark::State& state) {
    static const std::string text = read_all(hearth::test::fixtures_dir() + "/text/prose");
    run(state, text);
}
void BM_ScanCode(benchmark::State& state) {
    static const std::string text = read_all(hearth::test::fixtures_dir() + "/text/code");
    run(state, text);
}
void BM_ScanPiiDense(benchmark::State& state) {
    static const std::string text = pii_dense();
    run(state, text);
}

// Worst cases for a byte-oriented scanner: each input repeats one trigger pattern for 1 MB; all must stay
// linear (compare their MB/s with prose).
void BM_ScanAdversarial(benchmark::State& state) {
    static const char* kUnits[] = {"1 ",    "a-",  "@",     "a@b.",        ":",      "::1:",     "eyJ", "0 12 ",
                                   "4111 ", "+1 ", "GB82 ", "-----BEGIN ", "x://a:", "<EMAIL_1", "Aa1"};
    const std::string unit = kUnits[state.range(0)];
    std::string text;
    while (text.size() < (1u << 20))
        text += unit;
    state.SetLabel(unit);
    run(state, text);
}

BENCHMARK(BM_ScanAdversarial)->DenseRange(0, 14)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanProse)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanCode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanPiiDense)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
