// bench/membw_loop.h: bench/membw's two read loops, shared by bench_membw.cpp and bench_decode_stream (through
// membw_loop.cpp), so that both time the same code built the same way (-O3 -march=native: bench/CMakeLists.txt,
// src/kernels/cpu/CMakeLists.txt, the bench/membw script).
#pragma once

#include <cstddef>
#include <cstdint>

namespace membw {
namespace {

// Eight independent accumulators so the loop is bound by loads, not by the add chain;
// GCC/Clang vectorise this at -O3 (-march=native: 512-bit loads on AVX-512 parts).
// kPrefetch: the same loop asking for each cache line 3 KB ahead into L1 and 6 KB ahead into L2, as hearth's decode
// kernels do (src/kernels/cpu/x16_tiles.h). On some machines this reads faster than the hardware prefetchers alone
// (on the 2-core AVX-512 VM of the README's tables 10-12% more: the best of L1 / L2 distances 0.75-6 / 2-12 KB), so
// the ceiling is the faster of the two loops. Prefetches never fault: the requests past the buffer are addresses
// only.
template <bool kPrefetch> __attribute__((noinline)) uint64_t sum_range(const uint64_t* p, size_t n) {
    constexpr size_t kAheadL1 = 3072 / sizeof(uint64_t), kAheadL2 = 6144 / sizeof(uint64_t);
    uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        if constexpr (kPrefetch) {
            __builtin_prefetch(p + i + kAheadL1, 0, 3);
            __builtin_prefetch(p + i + kAheadL2, 0, 2);
        }
        for (int k = 0; k < 8; ++k)
            a[k] += p[i + k];
    }
    for (; i < n; ++i)
        a[0] += p[i];
    uint64_t s = 0;
    for (uint64_t v : a)
        s += v;
    return s;
}

} // namespace
} // namespace membw
