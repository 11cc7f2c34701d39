#include "base/balanced_range.h"
#include "base/thread_pool.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace hearth {
namespace {

// Busy-waits about us microseconds (a sleep would hand the core to the other threads).
void spin_for(int us) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
    while (std::chrono::steady_clock::now() < until) {
    }
}

struct Tally {
    std::vector<std::atomic<int>> runs;   // how often item i ran
    std::vector<std::atomic<int>> runner; // which thread ran it
    explicit Tally(int64_t n) : runs(size_t(n)), runner(size_t(n)) {}
};

// Runs one job over n items on pool; slow_us(ith, i) is how long item i takes on thread ith.
template <typename Slow>
void run_job(ThreadPool& pool, int64_t n, Tally& t, Slow slow_us,
             std::chrono::microseconds patience = BalancedRange::kPatience) {
    BalancedRange range(n, pool.size(), patience);
    pool.run([&](int ith, int) {
        range.for_each(ith, [&](int64_t i) {
            ASSERT_GE(i, 0);
            ASSERT_LT(i, n);
            t.runs[size_t(i)].fetch_add(1);
            t.runner[size_t(i)].store(ith);
            spin_for(slow_us(ith, i));
        });
    });
}

TEST(BalancedRange, EveryItemRunsExactlyOnce) {
    for (int nth : {1, 2, 3, 4, 8}) {
        ThreadPool pool(nth);
        for (int64_t n : {0, 1, 2, 3, 7, 16, 100, 1000}) {
            for (int iter = 0; iter < 20; ++iter) {
                Tally t(n);
                // Uneven items: thread (iter % nth) is slow, so the others finish first and ask it for work.
                run_job(pool, n, t, [&](int ith, int64_t i) { return ith == iter % nth ? 20 : int(i % 3); });
                for (int64_t i = 0; i < n; ++i)
                    ASSERT_EQ(t.runs[size_t(i)].load(), 1) << "item " << i << " of " << n << ", " << nth << " threads";
            }
        }
    }
}

TEST(BalancedRange, IdleThreadTakesWorkFromASlowOne) {
    // Thread 0's items take 200 us, thread 1's none: without balancing thread 0 would run all of its 50. Thread 1
    // must take some of them, and every item still runs once. The asker's patience is long here: on a machine busy
    // with other tests both threads may share one core, and the owner answers only once it is scheduled again.
    ThreadPool pool(2);
    const int64_t n = 100;
    Tally t(n);
    run_job(
        pool, n, t, [](int ith, int64_t) { return ith == 0 ? 200 : 0; }, std::chrono::seconds(5));
    const auto [b, e] = ThreadPool::split(n, 0, 2);
    int moved = 0;
    for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(t.runs[size_t(i)].load(), 1);
        if (i >= b && i < e && t.runner[size_t(i)].load() == 1) ++moved;
    }
    EXPECT_GT(moved, 10) << "thread 1 took " << moved << " of thread 0's 50 items";
}

TEST(BalancedRange, MoreThreadsThanSlotsKeepTheStaticSplit) {
    const int nth = BalancedRange::kMaxThreads + 1;
    ThreadPool pool(nth);
    const int64_t n = 3 * nth + 5;
    Tally t(n);
    run_job(pool, n, t, [](int, int64_t) { return 0; });
    for (int ith = 0; ith < nth; ++ith) {
        const auto [b, e] = ThreadPool::split(n, ith, nth);
        for (int64_t i = b; i < e; ++i) {
            ASSERT_EQ(t.runs[size_t(i)].load(), 1);
            ASSERT_EQ(t.runner[size_t(i)].load(), ith);
        }
    }
}

} // namespace
} // namespace hearth
