// base/balanced_range.h: [0, n) items split across the threads of one ThreadPool::run job, rebalanced at the end
// without a locked instruction on the owner's path.
//
// Each thread starts on its own contiguous share (ThreadPool::split). Before each item the owner reads its slot's
// request word and stores which item it is on: a plain load and a plain store to a line that stays in its cache
// until somebody asks. A thread that has finished its share asks another with two or more items left past the one
// it is on (one compare-exchange on the other's request word: the asker's path only), and the owner answers at its
// next item by giving away the back half of what it has not started. (Asking blindly, 84% of the 1.5B's asks at 2
// threads found one item left and waited that item for nothing.) The item itself is the
// unit: each runs once, on one thread, with the same arguments whichever thread runs it, so a kernel's results do
// not depend on the balancing.
//
// Why not a shared counter or work stealing with compare-exchange per claim: on x86 every locked instruction waits
// for the thread's earlier stores (decode's non-temporal stores of y) and loads to drain; a claim per group cost
// the 1.5B's decode 2.1% of its samples, as much as it saved (src/kernels/cpu/STATUS.md). Here the owner pays one
// plain load and store per item, and an answer only when asked.
//
// Use: declare one BalancedRange per job, on the caller's stack, before ThreadPool::run; every thread of the job
// calls for_each(ith, fn). nth must not change between construction and the calls.
#pragma once

#include "base/thread_pool.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace hearth {

class BalancedRange {
public:
    static constexpr int kMaxThreads = 64; // more threads than this: the static split, no balancing

    // How long an asker waits for an answer by default: longer than an item takes (a prefill group: a fraction of a
    // millisecond), short enough that an owner descheduled on a busy machine does not keep its asker spinning.
    static constexpr std::chrono::microseconds kPatience{1000};

    // n < 2^31 items (more: the static split).
    BalancedRange(int64_t n, int nth, std::chrono::microseconds patience = kPatience)
        : n_(n), nth_(nth), balanced_(nth > 1 && nth <= kMaxThreads && n < (int64_t(1) << 31)), patience_(patience) {
        if (!balanced_) return;
        for (int i = 0; i < nth; ++i) { // only the slots in use (storage_ is not zeroed)
            const auto [b, e] = ThreadPool::split(n, i, nth);
            new (storage_ + size_t(i) * sizeof(Slot)) Slot{{0}, {b}, {e}, {false}};
        }
        slots_ = std::launder(reinterpret_cast<Slot*>(storage_));
    }
    BalancedRange(const BalancedRange&) = delete;
    BalancedRange& operator=(const BalancedRange&) = delete;

    // Calls fn(i) for the items thread ith runs: its own share first, then what it is given by others.
    template <typename F> void for_each(int ith, F&& fn) {
        auto [begin, end] = ThreadPool::split(n_, ith, nth_);
        if (!balanced_) {
            for (int64_t i = begin; i < end; ++i)
                fn(i);
            return;
        }
        Slot& own = slots_[ith];
        for (int64_t i = begin; i < end; ++i) {
            const uint64_t w = own.word.load(std::memory_order_relaxed);
            if (w != 0 && !(w & kGranted)) end = answer(own, w, i, end);
            own.at.store(i, std::memory_order_relaxed); // a plain store to its own line (read only by askers)
            fn(i);
        }
        own.done.store(true, std::memory_order_release);
        // Ask each other thread in turn until it has finished its share or has nothing left to give.
        for (int k = 1; k < nth_; ++k) {
            Slot& v = slots_[(ith + k) % nth_];
            // Ask only an owner with two or more items past the one it is on: with one left it would give nothing
            // at its next item, and the asker would have waited that item for it (most asks, asked blindly).
            while (v.end.load(std::memory_order_relaxed) - v.at.load(std::memory_order_relaxed) > 2) {
                const Range got = ask(v, ith);
                if (got.begin == got.end) break;
                for (int64_t i = got.begin; i < got.end; ++i)
                    fn(i);
            }
        }
    }

private:
    struct Range {
        int64_t begin, end;
    };
    // word: 0 free; 1 + t: thread t asks; kGranted | begin << 32 | end: the answer, until the asker takes it
    // (begin == end: nothing to give). Every change of a nonzero word is a compare-exchange by the thread whose turn
    // it is (the owner answers, the asker withdraws) or a store by the asker taking its answer.
    struct alignas(64) Slot {
        std::atomic<uint64_t> word{0};
        std::atomic<int64_t> at{0};    // the item the owner is on (or about to start): a hint for askers
        std::atomic<int64_t> end{0};   // the end of the owner's share, as it gives parts away
        std::atomic<bool> done{false}; // the owner has finished its share and answers no more
    };
    static constexpr uint64_t kGranted = uint64_t(1) << 63;

    static void relax() {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#endif
    }

    // The owner, about to start item i of [i, end), asked by the request w: gives the back half away; returns its
    // new end (the old one if the asker withdrew first).
    static int64_t answer(Slot& own, uint64_t w, int64_t i, int64_t end) {
        const int64_t split = end - (end - i) / 2;
        if (!own.word.compare_exchange_strong(w, kGranted | uint64_t(split) << 32 | uint64_t(end),
                                              std::memory_order_acq_rel, std::memory_order_relaxed))
            return end; // withdrawn
        own.end.store(split, std::memory_order_relaxed);
        return split;
    }

    static Range taken(Slot& v, uint64_t g) {
        v.word.store(0, std::memory_order_release);
        return {int64_t((g >> 32) & 0x7fffffff), int64_t(g & 0xffffffff)};
    }

    // Thread ith asks v for work: the range it was given; empty if v had none left, has finished its share, or did
    // not answer within the patience.
    Range ask(Slot& v, int ith) {
        const uint64_t req = uint64_t(ith) + 1;
        const auto deadline = std::chrono::steady_clock::now() + patience_;
        const auto late = [&](int spin) { return spin % 64 == 63 && std::chrono::steady_clock::now() > deadline; };
        for (int spin = 0;; ++spin) {
            if (v.done.load(std::memory_order_acquire) || late(spin)) return {0, 0};
            uint64_t free = 0;
            if (v.word.compare_exchange_weak(free, req, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
            relax(); // another asker's turn
        }
        for (int spin = 0;; ++spin) {
            uint64_t w = v.word.load(std::memory_order_acquire);
            if (w & kGranted) return taken(v, w);
            if (late(spin) || v.done.load(std::memory_order_acquire)) {
                if (v.word.compare_exchange_strong(w, 0, std::memory_order_acq_rel, std::memory_order_acquire))
                    return {0, 0};  // withdrawn
                return taken(v, w); // answered meanwhile: w is the grant
            }
            relax();
        }
    }

    int64_t n_;
    int nth_;
    bool balanced_;
    std::chrono::microseconds patience_;
    Slot* slots_ = nullptr;
    alignas(64) unsigned char storage_[kMaxThreads * sizeof(Slot)];
};

} // namespace hearth
