// kernels/cpu/x16_tiles.h: the loops every ISA's x16 kernels (packed.h) share. Internal linkage, like the ISA headers
// (see k_scales.h): each ISA's translation units are built with their own flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <xmmintrin.h>

namespace hearth::cpu {
namespace {

// run.template operator()<N>(act, y) for N tokens at a time: kMax while they last, then kMax / 2, ... down to 1 (every
// N does each token's arithmetic the same way, so the tiling never changes a result).
template <int kMax, typename Act, typename Run>
inline void token_tiles(const Act* act, int64_t act_nb, int n_tok, float* y, size_t y_stride, Run run) {
    for (; n_tok >= kMax; n_tok -= kMax, act += kMax * act_nb, y += kMax * y_stride)
        run.template operator()<kMax>(act, y);
    if constexpr (kMax > 1) token_tiles<kMax / 2>(act, act_nb, n_tok, y, y_stride, run);
}

// f.template operator()<G>() for G = 0 .. 7 in order (the 32-element groups of a super-block; G a constant, so the
// shifts that depend on it stay immediates).
template <typename F> inline void for_groups(F f) {
    [&]<int... G>(std::integer_sequence<int, G...>) {
        (f.template operator()<G>(), ...);
    }
    (std::make_integer_sequence<int, 8>{});
}

// Software prefetch of the weight stream. Decode reads every weight byte once, column after column of one 16-row
// group and then the next group (contiguous). Left to the hardware prefetchers, the kernels kept one core's stream
// at 53-80% of the rate a plain summing loop reads the same huge-page buffer (the K-quants lowest: their columns
// are 1.3-3.4 KB and the loads come spread through the arithmetic). Each column's kernel asks, before its
// arithmetic, for the cache lines of the bytes kPrefetchAhead past the column's start into L1, and for those
// kPrefetchFar past it into L2: one request of each kind per line of a column, so about 1.5 KB of the stream is on
// its way to L1 and another 1.5 KB to L2 ahead of the arithmetic whatever the type (the hardware's L2 streamer does
// not cross 4 KiB boundaries). What the kernels still lose is the overlap of their arithmetic with the stream
// (bench_kernels' membw_alu rows, STATUS.md).
// Measured on a 1 GiB matrix, 1 token, as a share of the summing loop's rate (1 and 2 threads): no prefetch Q4_0 0.77,
// Q8_0 0.80, Q4_K 0.65-0.75, Q6_K 0.53-0.62; L1 at 1536 (the best of 0 / 1024 / 1536 / 2048 / 3072 / 4096) 0.87-0.93,
// 0.92-0.95, 0.80-0.85, 0.76-0.80; plus L2 at 3072 (the best with 4096 of L2 at 3072 / 4096 / 5120 / 6144 / 8192
// after L1 at 768 / 1024 / 1536 / 2048 / 2560) 0.94-0.99, 0.95-0.98, 0.86-0.90, 0.84-0.86. The L2 requests are
// made for tiles of up to kPrefetchFarTokens tokens (batched decode: 2 tokens +5-12%, 4 tokens -1..+16%; 8 tokens,
// where the arithmetic sets the pace, mixed: Q4_K -10%, Q4_0 +20%; prefill's 16-token tiles 1-4% slower with them).
// Prefetches never fault, so the last columns of a matrix may name bytes past its end (an address only).
// Decode's tiles (up to kPrefetchFarTokens tokens) ask twice as far ahead, L1 at 3 KB and L2 at 6 KB: a summing loop
// with these distances read 18.4-18.6 GB/s (1 thread) and 37.1 (2 threads) where 1.5 / 3 KB read 17.6-17.8 and 34.9
// (plain: 16.7, 32-33); the 1.5B's tg +0-6% (Q4_0, Q8_0, Q4_K_M, Q6_K, 1 and 2 threads, interleaved), its pp128 1-4%
// slower with them, so prefill keeps 1.5 KB.
// Decode's requests, per column into L1 3 KB ahead and into L2 6 KB ahead, go out in one of two ways (kCursor):
// - a burst before the column's arithmetic, one request per 64 bytes of the column (the K-quants: their columns are
//   whole lines or nearly, 1344-3360 bytes);
// - a cursor over the stream's lines after the column's arithmetic (the legacy types, whose 288-544-byte columns
//   straddle lines: a burst asks for a line in nine twice, and the column's own loads go first): Q8_0 +2-4% in the
//   stream, Q4_0 the same; the K-quants 9-10% slower that way (the cursor's loop of 21-53 lines).
// Measured on a 1 GiB stream of 8960x1536 matrices, 1 token, this VM. Other distances with the cursor (L1 2 / 2.5 /
// 4 KB, L2 1-2 KB further) 2-7% slower. Prefill's tiles ask for L1 only, a burst 1.5 KB ahead before each column.
inline constexpr uintptr_t kPrefetchAhead = 1536;
inline constexpr uintptr_t kPrefetchAheadDecode = 3072;
inline constexpr uintptr_t kPrefetchFar = 6144;
inline constexpr int kPrefetchFarTokens = 4;

// None of this where the table says so (KernelTable::prefetch_stream, off on AMD): on a Zen 4 core the requests
// cost the stream more than they bring (1 GiB of 8960x1536 matrices, 1 token, 1 thread, share of the summing loop,
// with -> without: Q4_K 0.64-0.66 -> 0.87-1.0, Q6_K 0.46-0.48 -> 0.83-0.97, the legacy types 0.85-0.94 -> 0.87-1.07;
// the 1.5B Q4_K_M's tg at 1 thread 16.2-17.4 -> 24.2-27.4 tok/s; prefill the same within 2%).
// One per pass of a kernel over its columns: before(col) ahead of each column's arithmetic, after(col) behind it.
template <size_t kBytes, int kTokens, bool kCursor> struct StreamPrefetch {
    static constexpr bool kDecode = kTokens <= kPrefetchFarTokens;
    uintptr_t next; // the cursor's next line to ask for into L1 (into L2: kPrefetchFar - kPrefetchAheadDecode on)
    bool on;

    StreamPrefetch(const uint8_t* first, bool prefetch)
        : next((reinterpret_cast<uintptr_t>(first) + kPrefetchAheadDecode) & ~uintptr_t{63}), on(prefetch) {}

    void before(const uint8_t* col) const {
        if (!on) return;
        if constexpr (!kDecode) {
            const uintptr_t ahead = reinterpret_cast<uintptr_t>(col) + kPrefetchAhead;
            for (size_t q = 0; q < kBytes; q += 64)
                _mm_prefetch(reinterpret_cast<const char*>(ahead + q), _MM_HINT_T0);
        } else if constexpr (!kCursor) {
            const uintptr_t ahead = reinterpret_cast<uintptr_t>(col) + kPrefetchAheadDecode;
            const uintptr_t far = reinterpret_cast<uintptr_t>(col) + kPrefetchFar;
            for (size_t q = 0; q < kBytes; q += 64)
                _mm_prefetch(reinterpret_cast<const char*>(ahead + q), _MM_HINT_T0);
            for (size_t q = 0; q < kBytes; q += 64)
                _mm_prefetch(reinterpret_cast<const char*>(far + q), _MM_HINT_T1);
        }
    }
    void after(const uint8_t* col) {
        if (!on) return;
        if constexpr (kDecode && kCursor) {
            const uintptr_t end = reinterpret_cast<uintptr_t>(col) + kBytes + kPrefetchAheadDecode;
            for (; next < end; next += 64) {
                _mm_prefetch(reinterpret_cast<const char*>(next), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(next + (kPrefetchFar - kPrefetchAheadDecode)), _MM_HINT_T1);
            }
        }
    }
};

} // namespace
} // namespace hearth::cpu
