#include "base/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HEARTH_CPU_RELAX() _mm_pause()
#else
#define HEARTH_CPU_RELAX() std::this_thread::yield()
#endif

namespace hearth {

namespace {
constexpr int kSpinIterations = 1 << 11; // ~20-80 us of pause instructions (CPU-dependent) before sleeping
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    threads_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i)
        threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_.store(true, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    cv_.notify_all();
    for (auto& t : threads_)
        t.join();
}

void ThreadPool::run(const Job& fn) {
    if (n_threads_ == 1) {
        fn(0, 1);
        return;
    }
    job_ = &fn;
    pending_.store(n_threads_ - 1, std::memory_order_release);
    {
        // Publishing under the mutex means a worker that checked the generation and is about to
        // sleep cannot miss this wake-up.
        std::lock_guard<std::mutex> lock(mu_);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    if (sleepers_.load(std::memory_order_acquire) > 0) cv_.notify_all();
    fn(0, n_threads_);
    for (int spin = 0; spin < kSpinIterations; ++spin) {
        if (pending_.load(std::memory_order_acquire) == 0) {
            job_ = nullptr;
            return;
        }
        HEARTH_CPU_RELAX();
    }
    {
        // caller_waiting_ and pending_ are both seq_cst: either the last worker sees the flag and notifies
        // (under the mutex, so not before this thread waits), or this thread sees pending_ == 0.
        std::unique_lock<std::mutex> lock(done_mu_);
        caller_waiting_.store(true);
        done_cv_.wait(lock, [&] { return pending_.load() == 0; });
        caller_waiting_.store(false);
    }
    job_ = nullptr;
}

void ThreadPool::worker(int ith) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = generation_.load(std::memory_order_acquire);
        for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
            HEARTH_CPU_RELAX();
            gen = generation_.load(std::memory_order_acquire);
        }
        if (gen == seen) {
            std::unique_lock<std::mutex> lock(mu_);
            sleepers_.fetch_add(1, std::memory_order_acq_rel);
            cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            sleepers_.fetch_sub(1, std::memory_order_acq_rel);
            gen = generation_.load(std::memory_order_acquire);
        }
        seen = gen;
        if (stop_.load(std::memory_order_acquire)) return;
        (*job_)(ith, n_threads_);
        if (pending_.fetch_sub(1) == 1 && caller_waiting_.load()) {
            { std::lock_guard<std::mutex> lock(done_mu_); }
            done_cv_.notify_one();
        }
    }
}

} // namespace hearth
