// bench_decode_stream: decode's weight stream as the model reads it. One 1 GiB buffer on transparent huge pages
// (like the CPU backend's repacked-weight arena) holds consecutive x16-packed matrices of one shape; each pass runs
// matmul_packed (1 token) over all of them in order, y 64-byte aligned as the backend allocates it, and the same
// process times bench/membw's prefetching summing loop over the same buffer between passes: GB/s (1e9 bytes / s) of
// weight bytes and its median's share of the loop's best pass (the README's bus column's convention). The weights are
// random bytes with sane f16 scales (timing only).
//
//   bench_decode_stream [--threads N] [--reps R] [--shape N_OUT N_IN] [--types q4_0,q8_0,q4_K,q6_K] [--ab-gfni]
//
// The last column divides each pass by the loop's pass just before it (in the same round) and takes the median: on a
// machine whose bus others share, steadier than dividing by the best pass. --ab-gfni also runs the types whose kernel
// GFNI replaces (Q5_K) with the AVX-512 table without it, in the same rounds (rows "q5_K no-GFNI").
//
// Built with bench_kernels (src/kernels/cpu/CMakeLists.txt); src/kernels/cpu/STATUS.md quotes its figures.
#include "base/cpu_features.h"
#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/packed.h"
#include "tensor/dtype.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <vector>

// bench/membw's prefetching loop (bench/membw_loop.cpp, compiled as bench_membw is: -O3 -march=native).
uint64_t membw_sum_prefetch(const uint64_t* p, size_t n);

namespace {

using Clock = std::chrono::steady_clock;
using namespace hearth;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t m = v.size();
    return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

int usage() {
    std::fprintf(stderr, "usage: bench_decode_stream [--threads N] [--reps R] [--shape N_OUT N_IN] [--types a,b,..] "
                         "[--ab-gfni]\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    int threads = 1, reps = 5;
    int64_t n_out = 8960, n_in = 1536;
    std::vector<DType> types = {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K};
    bool ab_gfni = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc)
            threads = std::atoi(argv[++i]);
        else if (a == "--reps" && i + 1 < argc)
            reps = std::atoi(argv[++i]);
        else if (a == "--shape" && i + 2 < argc) {
            n_out = std::atoll(argv[++i]);
            n_in = std::atoll(argv[++i]);
        } else if (a == "--ab-gfni") {
            ab_gfni = true;
        } else if (a == "--types" && i + 1 < argc) {
            types.clear();
            const std::string list = argv[++i];
            for (size_t p = 0; p <= list.size();) {
                size_t q = list.find(',', p);
                if (q == std::string::npos) q = list.size();
                const auto t = dtype_from_name(list.substr(p, q - p));
                if (!t) return usage();
                types.push_back(*t);
                p = q + 1;
            }
        } else {
            return usage();
        }
    }
    if (threads < 1 || reps < 1) return usage();
    const CpuFeatures features = detect_cpu_features();
    const cpu::KernelTable table = cpu::make_kernel_table(features);
    CpuFeatures no_gfni = features;
    no_gfni.gfni = false;
    const cpu::KernelTable table_no_gfni = cpu::make_kernel_table(no_gfni);
    // (name, table) per row: every type, then its no-GFNI kernel where asked and different.
    std::vector<std::pair<std::string, const cpu::KernelTable*>> rows;
    std::vector<DType> row_types;
    for (DType t : types) {
        rows.emplace_back(std::string(dtype_name(t)), &table);
        row_types.push_back(t);
        if (ab_gfni && table_no_gfni.at(t).packed_gemm != table.at(t).packed_gemm) {
            rows.emplace_back(std::string(dtype_name(t)) + " no-GFNI", &table_no_gfni);
            row_types.push_back(t);
        }
    }
    for (DType t : types)
        if (table.at(t).packed_gemm == nullptr || !cpu::packable(t, n_out, n_in)) {
            std::fprintf(stderr, "bench_decode_stream: no x16 kernel for %s at %lldx%lld\n",
                         std::string(dtype_name(t)).c_str(), (long long)n_out, (long long)n_in);
            return 2;
        }

    constexpr size_t kBytes = size_t{1} << 30, kHuge = size_t{2} << 20;
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(kHuge, kBytes));
    if (buf == nullptr) return 1;
    madvise(buf, kBytes, MADV_HUGEPAGE);
    std::mt19937 rng(1);
    for (size_t i = 0; i < kBytes / 4; ++i) // f16 fields below 2 (no inf / NaN), any quant bits
        reinterpret_cast<uint32_t*>(buf)[i] = rng() & 0x3BFF3BFFu;
    ThreadPool pool(threads);
    std::vector<float> x(static_cast<size_t>(n_in));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : x)
        v = normal(rng);
    std::vector<float> y_buf(size_t(n_out) + 16);
    float* y = y_buf.data() + (64 - reinterpret_cast<uintptr_t>(y_buf.data()) % 64) % 64 / sizeof(float);
    size_t act_bytes = 0;
    for (DType t : types)
        act_bytes = std::max(act_bytes, cpu::packed_act_bytes(t, 1, n_in));
    std::vector<cpu::PackedActK> act(act_bytes / sizeof(cpu::PackedActK) + 1);

    std::map<std::string, std::vector<double>> gbps, share; // share: each pass / the loop's pass of its round
    uint64_t sink = 0;
    for (int r = 0; r < reps; ++r) {
        {
            std::vector<std::thread> th;
            std::vector<uint64_t> part(static_cast<size_t>(threads));
            const size_t words = kBytes / 8 / size_t(threads);
            const auto t0 = Clock::now();
            for (int i = 0; i < threads; ++i)
                th.emplace_back([&, i] {
                    part[size_t(i)] = membw_sum_prefetch(reinterpret_cast<uint64_t*>(buf) + words * i, words);
                });
            for (auto& t : th)
                t.join();
            gbps["sum"].push_back(double(kBytes) / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9);
            share["sum"].push_back(1.0);
            sink += part[0];
        }
        for (size_t i = 0; i < rows.size(); ++i) {
            const DType t = row_types[i];
            const size_t mat = cpu::packed_bytes(t, n_out, n_in);
            const size_t n_mat = kBytes / mat;
            const auto t0 = Clock::now();
            for (size_t k = 0; k < n_mat; ++k)
                cpu::matmul_packed(*rows[i].second, pool, t, buf + k * mat, n_out, n_in, x.data(), 1, y, act.data());
            const double g = double(n_mat * mat) / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9;
            gbps[rows[i].first].push_back(g);
            share[rows[i].first].push_back(g / gbps["sum"].back());
            sink += uint64_t(y[1] != 0.0f);
        }
    }
    // The share divides by the loop's best pass, as the README's bus column divides by bench/membw's best pass.
    const double sum = *std::max_element(gbps["sum"].begin(), gbps["sum"].end());
    std::printf("decode stream: %lldx%lld matrices in 1 GiB on huge pages, %d thread(s), %d passes, isa %s\n\n",
                (long long)n_out, (long long)n_in, threads, reps, table.isa);
    std::printf("| read | median GB/s | min-max | median / the loop's best pass | median of pass / its round's loop "
                "|\n|---|---:|---:|---:|---:|\n");
    for (const auto& [name, v] : gbps)
        std::printf("| %s | %.2f | %.2f-%.2f | %.2f | %.2f |\n",
                    name == "sum" ? "summing loop (bench/membw's)" : name.c_str(), median(v),
                    *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()), median(v) / sum,
                    median(share[name]));
    std::free(buf);
    return sink == 42 ? 1 : 0;
}
