// bench/bench_dot_bf16.cpp: one BF16 x BF16 dot product per iteration (rows hot in L1), per kernel table:
// scalar (double accumulation), avx2 (FMA on widened floats) and avx512 (AVX512_BF16 VDPBF16PS when the CPU
// has it, else the AVX2 kernel again). Run: bench_dot_bf16 [--benchmark_filter=4096].
#include "base/cpu_features.h"
#include "base/fp16.h"
#include "kernels/cpu/ops.h"

#include <benchmark/benchmark.h>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace hearth;

cpu::KernelTable table_for(const std::string& isa) {
    CpuFeatures f = detect_cpu_features();
    if (isa == "scalar") return cpu::make_scalar_table();
    if (isa == "avx2") f.avx512f = false;
    return cpu::make_kernel_table(f);
}

void bm_dot_bf16(benchmark::State& state, std::string isa, int64_t n) {
    const cpu::KernelTable table = table_for(isa);
    if (isa != "scalar" && std::string(table.isa) != isa) {
        state.SkipWithError(("this CPU has no " + isa + " table").c_str());
        return;
    }
    const cpu::VecDotFn dot = table.at(DType::BF16).vec_dot;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<uint16_t> w(static_cast<size_t>(n)), a(static_cast<size_t>(n));
    for (size_t i = 0; i < w.size(); ++i) {
        w[i] = f32_to_bf16(0.02f * normal(rng));
        a[i] = f32_to_bf16(normal(rng));
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(w.data());
        benchmark::DoNotOptimize(dot(n, w.data(), a.data()));
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * n * 2 * 2); // weight + activation bytes
}

} // namespace

int main(int argc, char** argv) {
    for (int64_t n : {int64_t{896}, int64_t{4096}, int64_t{4099}}) {
        for (const char* isa : {"scalar", "avx2", "avx512"}) {
            const std::string name = std::string("dot_bf16/") + isa + "/" + std::to_string(n);
            benchmark::RegisterBenchmark(name.c_str(), bm_dot_bf16, std::string(isa), n)->Unit(benchmark::kNanosecond);
        }
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
