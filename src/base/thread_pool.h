// base/thread_pool.h: a persistent pool of worker threads for data-parallel kernels.
//
// run(fn) calls fn(ith, nth) once on each of nth threads (the caller is thread 0) and returns when
// all have finished. Workers spin briefly between jobs (decode issues hundreds of small jobs per
// token, and a futex wake-up costs more than the job), then sleep on a condition variable. The caller
// likewise spins briefly for the workers to finish, then sleeps until the last one wakes it: on a
// machine with more runnable threads than cores (an HTTP server, other programs) a worker may be
// descheduled, and an endless spin would hold the very core it needs.
// One owner calls run() at a time; run() is not re-entrant.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
public:
    using Job = std::function<void(int ith, int nth)>;

    explicit ThreadPool(int n_threads); // n_threads >= 1 (clamped)
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }
    void run(const Job& fn);

    // Splits [0, n) into nth near-equal contiguous ranges; returns thread ith's [begin, end).
    static std::pair<int64_t, int64_t> split(int64_t n, int ith, int nth) {
        const int64_t per = n / nth, rem = n % nth;
        const int64_t begin = ith * per + (ith < rem ? ith : rem);
        return {begin, begin + per + (ith < rem ? 1 : 0)};
    }

private:
    void worker(int ith);

    int n_threads_;
    std::vector<std::thread> threads_;
    const Job* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::atomic<int> sleepers_{0};
    std::mutex done_mu_;
    std::condition_variable done_cv_;
    std::atomic<bool> caller_waiting_{false};
};

} // namespace hearth
