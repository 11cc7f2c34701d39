// Memory read bandwidth: T threads each stream-sum their own slice of one large buffer (>> LLC).
// Driven by bench/membw (which builds it with -O3 -march=native when the CMake target is absent).
//
// Usage: bench_membw [--size-mib M] [--reps R] [--threads T1,T2,...] [--small-pages] [--json]
// Every rep times one full pass over the buffer by all T threads (from a common start barrier to
// the last thread's end) with each of two read loops: a plain sum (the hardware prefetchers alone) and the same
// sum with the software prefetches hearth's kernels use; GB/s = buffer bytes / that time / 1e9. Reported per
// loop, and as the ceiling: best = the higher best of the two loops, median and min those of the faster loop.
// Each thread first-touches its own slice (page placement as in a model's weights read by its
// worker threads) and the pass before the timed reps is a discarded warm-up.
// The buffer is on transparent huge pages (2 MiB aligned, MADV_HUGEPAGE), as hearth's weights are
// (model/weights.cpp): on a VM that grants them, one core reads about a quarter faster than on
// 4 KiB pages (fewer TLB misses and page walks), and the ceiling must be the one the model can reach.
// --small-pages measures the 4 KiB-page rate instead.
#include "membw_loop.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Barrier { // reusable spin barrier (the threads are pinned to nothing; cores are few)
    std::atomic<int> count{0};
    std::atomic<int> phase{0};
    int n;
    explicit Barrier(int n_) : n(n_) {}
    void wait() {
        const int ph = phase.load(std::memory_order_acquire);
        if (count.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
            count.store(0, std::memory_order_relaxed);
            phase.fetch_add(1, std::memory_order_acq_rel);
        } else {
            while (phase.load(std::memory_order_acquire) == ph)
                std::this_thread::yield();
        }
    }
};

struct Stats {
    double best_gbps, median_gbps, min_gbps;
};

struct Result {
    int threads;
    Stats loop[2]; // 0: plain (hardware prefetchers), 1: with software prefetch
    // The faster loop's figures (the higher median; best is the higher best of the two).
    double best_gbps, median_gbps, min_gbps;
};

Stats stats(std::vector<double> gbps) {
    std::sort(gbps.begin(), gbps.end());
    const size_t m = gbps.size();
    const double med = m % 2 ? gbps[m / 2] : (gbps[m / 2 - 1] + gbps[m / 2]) / 2;
    return {gbps.back(), med, gbps.front()};
}

// Each rep times one pass of each loop (in alternating order, so both see the same machine); rep 0 is a warm-up.
Result measure(uint64_t* buf, size_t n_words, int n_threads, int reps) {
    const size_t bytes = n_words * sizeof(uint64_t);
    Barrier bar(n_threads + 1);
    std::vector<std::thread> pool;
    std::vector<double> end_s(static_cast<size_t>(n_threads));
    std::atomic<uint64_t> sink{0};
    Clock::time_point start;
    const int passes = 2 * (reps + 1);
    auto loop_of = [](int pass) { return (pass % 2) ^ (pass / 2 % 2); };
    for (int t = 0; t < n_threads; ++t) {
        pool.emplace_back([&, t] {
            const size_t lo = n_words * size_t(t) / size_t(n_threads);
            const size_t hi = n_words * size_t(t + 1) / size_t(n_threads);
            for (size_t i = lo; i < hi; ++i)
                buf[i] = i * 0x9E3779B97F4A7C15ull; // first touch
            bar.wait();
            for (int r = 0; r < passes; ++r) {
                bar.wait(); // start
                const uint64_t s =
                    loop_of(r) ? membw::sum_range<true>(buf + lo, hi - lo) : membw::sum_range<false>(buf + lo, hi - lo);
                end_s[size_t(t)] = std::chrono::duration<double>(Clock::now() - start).count();
                sink.fetch_add(s, std::memory_order_relaxed);
                bar.wait(); // end
            }
        });
    }
    bar.wait(); // slices initialised
    std::vector<double> gbps[2];
    for (int r = 0; r < passes; ++r) {
        start = Clock::now();
        bar.wait();
        bar.wait();
        const double sec = *std::max_element(end_s.begin(), end_s.end());
        if (r >= 2) gbps[loop_of(r)].push_back(double(bytes) / sec / 1e9);
    }
    for (auto& th : pool)
        th.join();
    if (sink.load() == 42) std::fprintf(stderr, " "); // keep the sums alive
    Result res{n_threads, {stats(gbps[0]), stats(gbps[1])}, 0, 0, 0};
    const Stats& fast = res.loop[res.loop[1].median_gbps > res.loop[0].median_gbps ? 1 : 0];
    res.best_gbps = std::max(res.loop[0].best_gbps, res.loop[1].best_gbps);
    res.median_gbps = fast.median_gbps;
    res.min_gbps = fast.min_gbps;
    return res;
}

} // namespace

int main(int argc, char** argv) {
    size_t size_mib = 1024;
    int reps = 7;
    bool json = false, small_pages = false;
    std::vector<int> threads;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_membw: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--size-mib")
            size_mib = std::strtoull(next(), nullptr, 10);
        else if (a == "--reps")
            reps = std::atoi(next());
        else if (a == "--json")
            json = true;
        else if (a == "--small-pages")
            small_pages = true;
        else if (a == "--threads") {
            std::string s = next();
            for (size_t p = 0; p <= s.size();) {
                size_t q = s.find(',', p);
                if (q == std::string::npos) q = s.size();
                if (q > p) threads.push_back(std::atoi(s.substr(p, q - p).c_str()));
                p = q + 1;
            }
        } else {
            std::fprintf(
                stderr,
                "usage: bench_membw [--size-mib M] [--reps R] [--threads T1,T2,...] [--small-pages] [--json]\n");
            return a == "-h" || a == "--help" ? 0 : 2;
        }
    }
    const int ncpu = int(std::max(1u, std::thread::hardware_concurrency()));
    if (threads.empty()) threads = ncpu > 1 ? std::vector<int>{1, ncpu} : std::vector<int>{1};
    if (size_mib < 1 || reps < 1 || std::any_of(threads.begin(), threads.end(), [](int t) { return t < 1; })) {
        std::fprintf(stderr, "bench_membw: --size-mib, --reps and --threads must be >= 1\n");
        return 2;
    }
    const size_t bytes = size_mib << 20;
    constexpr size_t kHuge = size_t(2) << 20;
    const size_t align = small_pages ? 4096 : kHuge;
    auto* buf = static_cast<uint64_t*>(std::aligned_alloc(align, (bytes + align - 1) / align * align));
    if (!buf) {
        std::fprintf(stderr, "bench_membw: cannot allocate %zu MiB\n", size_mib);
        return 1;
    }
    if (!small_pages) madvise(buf, (bytes + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE); // advice: may be refused
    std::vector<Result> res;
    for (int t : threads)
        res.push_back(measure(buf, bytes / sizeof(uint64_t), t, reps));
    std::free(buf);
    if (json) {
        std::printf("{\"size_mib\": %zu, \"reps\": %d, \"nproc\": %d, \"pages\": \"%s\", \"results\": [", size_mib,
                    reps, ncpu, small_pages ? "4k" : "huge");
        for (size_t i = 0; i < res.size(); ++i)
            std::printf("%s{\"threads\": %d, \"best_gbps\": %.2f, \"median_gbps\": %.2f, \"min_gbps\": %.2f, "
                        "\"plain\": {\"best_gbps\": %.2f, \"median_gbps\": %.2f}, "
                        "\"prefetch\": {\"best_gbps\": %.2f, \"median_gbps\": %.2f}}",
                        i ? ", " : "", res[i].threads, res[i].best_gbps, res[i].median_gbps, res[i].min_gbps,
                        res[i].loop[0].best_gbps, res[i].loop[0].median_gbps, res[i].loop[1].best_gbps,
                        res[i].loop[1].median_gbps);
        std::printf("]}\n");
    } else {
        std::printf("read bandwidth, %zu MiB buffer on %s pages, %d reps (GB/s = 1e9 bytes/s)\n", size_mib,
                    small_pages ? "4 KiB" : "huge", reps);
        std::printf("| threads | best GB/s | median GB/s | min GB/s | plain best / median | prefetch best / median "
                    "|\n|---:|---:|---:|---:|---:|---:|\n");
        for (const auto& r : res)
            std::printf("| %d | %.2f | %.2f | %.2f | %.2f / %.2f | %.2f / %.2f |\n", r.threads, r.best_gbps,
                        r.median_gbps, r.min_gbps, r.loop[0].best_gbps, r.loop[0].median_gbps, r.loop[1].best_gbps,
                        r.loop[1].median_gbps);
    }
    return 0;
}
