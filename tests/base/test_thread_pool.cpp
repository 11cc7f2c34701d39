#include "base/cpu_features.h"
#include "base/thread_pool.h"

#include <atomic>
#include <gtest/gtest.h>
#include <numeric>
#include <vector>

namespace hearth {
namespace {

TEST(ThreadPool, EveryThreadRunsEachJobOnce) {
    for (int n : {1, 2, 3, 8}) {
        ThreadPool pool(n);
        ASSERT_EQ(pool.size(), n);
        for (int iter = 0; iter < 200; ++iter) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            pool.run([&](int ith, int nth) {
                ASSERT_EQ(nth, n);
                hits[static_cast<size_t>(ith)].fetch_add(1);
            });
            for (auto& h : hits)
                ASSERT_EQ(h.load(), 1);
        }
    }
}

TEST(ThreadPool, SplitCoversRangeExactly) {
    for (int64_t n : {0, 1, 7, 100, 1001}) {
        for (int nth : {1, 2, 3, 16}) {
            int64_t expect = 0;
            for (int ith = 0; ith < nth; ++ith) {
                auto [b, e] = ThreadPool::split(n, ith, nth);
                ASSERT_EQ(b, expect);
                ASSERT_LE(b, e);
                expect = e;
            }
            ASSERT_EQ(expect, n);
        }
    }
}

TEST(ThreadPool, ParallelSumMatchesSerial) {
    std::vector<int64_t> v(100000);
    std::iota(v.begin(), v.end(), 1);
    ThreadPool pool(4);
    std::vector<int64_t> partial(4, 0);
    pool.run([&](int ith, int nth) {
        auto [b, e] = ThreadPool::split(static_cast<int64_t>(v.size()), ith, nth);
        for (int64_t i = b; i < e; ++i)
            partial[static_cast<size_t>(ith)] += v[static_cast<size_t>(i)];
    });
    EXPECT_EQ(std::accumulate(partial.begin(), partial.end(), int64_t{0}), int64_t{100000} * 100001 / 2);
}

TEST(CpuFeatures, CapByEnvironment) {
    setenv("HEARTH_CPU", "scalar", 1);
    CpuFeatures f = detect_cpu_features();
    EXPECT_FALSE(f.avx2);
    EXPECT_FALSE(f.avx512f);
    EXPECT_EQ(f.summary(), "scalar");
    unsetenv("HEARTH_CPU");
    CpuFeatures g = detect_cpu_features();
    if (g.avx512f) {
        EXPECT_TRUE(g.avx2); // every AVX-512 CPU has AVX2
    }
}

} // namespace
} // namespace hearth
