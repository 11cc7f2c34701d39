// kernels/cpu/avx512/dot_legacy.cpp: AVX-512 VNNI dot products of the 32-element block types.
//
// Two blocks per 512-bit step: their quants fill one register, VNNI's dpbusd gives 16 exact int32 lanes
// (lanes 0-7 block 0, 8-15 block 1), and the lanes are accumulated in float with [d0 x 8 | d1 x 8]. Unsigned
// quants with an offset o (Q4_0: 8, Q5_0: 16) use sum((q - o) y) = sum(q y) - sum(o y), both by dpbusd.
// An odd last block is summed alone in the low 256 bits.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "tensor/quant_blocks.h"

#include <cstddef>

namespace hearth::cpu::avx512 {
namespace {

// One weight row against N activation rows (act_stride bytes apart). For each pair of blocks ib, ib + 1 the
// weights are unpacked once (unpack(ib)) and reused by every activation row: pair(wq, y, ib, acc, acc_extra)
// accumulates one row; single(ib, y) sums an odd last block. acc_extra takes per-pair terms that are not per-lane
// products (Q4_1's m * s). Each row's arithmetic is the same sequence for every N, so out[j] does not depend on
// N: the decode dot product (N = 1) and the prefill tiles (N up to 4) agree bit for bit.
template <int N, typename YBlock, typename UnpackFn, typename PairFn, typename SingleFn>
inline void sum_block_pairs(int64_t nb, const void* act, size_t act_stride, float* out, UnpackFn unpack, PairFn pair,
                            SingleFn single) {
    const YBlock* y[N];
    __m512 acc[N][2];
    __m128 acc_extra[N][2];
    for (int j = 0; j < N; ++j) {
        y[j] = reinterpret_cast<const YBlock*>(static_cast<const uint8_t*>(act) + size_t(j) * act_stride);
        acc[j][0] = acc[j][1] = _mm512_setzero_ps();
        acc_extra[j][0] = acc_extra[j][1] = _mm_setzero_ps();
    }
    int64_t ib = 0;
    for (; ib + 3 < nb; ib += 4) {
        const auto w0 = unpack(ib);
        for (int j = 0; j < N; ++j)
            pair(w0, y[j], ib, acc[j][0], acc_extra[j][0]);
        const auto w1 = unpack(ib + 2);
        for (int j = 0; j < N; ++j)
            pair(w1, y[j], ib + 2, acc[j][1], acc_extra[j][1]);
    }
    for (; ib + 1 < nb; ib += 2) {
        const auto w0 = unpack(ib);
        for (int j = 0; j < N; ++j)
            pair(w0, y[j], ib, acc[j][0], acc_extra[j][0]);
    }
    for (int j = 0; j < N; ++j) {
        const float tail = ib < nb ? single(ib, y[j]) : 0.0f;
        __m128 extra = _mm_add_ps(acc_extra[j][0], acc_extra[j][1]);
        extra = _mm_add_ps(extra, _mm_movehl_ps(extra, extra));
        extra = _mm_add_ss(extra, _mm_movehdup_ps(extra));
        out[j] = _mm512_reduce_add_ps(_mm512_add_ps(acc[j][0], acc[j][1])) + _mm_cvtss_f32(extra) + tail;
    }
}

inline float scale(uint16_t a, uint16_t b) {
    return half_to_f32(a) * half_to_f32(b);
}

// [dx0 dy0 x 8 | dx1 dy1 x 8]: the scale products of two blocks from one half-to-float conversion.
inline __m512 pair_scales(uint16_t dx0, uint16_t dx1, uint16_t dy0, uint16_t dy1) {
    const __m128 h = _mm_cvtph_ps(_mm_set_epi16(0, 0, 0, 0, short(dy1), short(dy0), short(dx1), short(dx0)));
    const __m128 p = _mm_mul_ps(h, _mm_movehl_ps(h, h)); // [dx0 dy0, dx1 dy1, ...]
    const __m512i lanes = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(lanes, _mm512_castps128_ps512(p));
}

// Integer sum of one block of 32 int8 weight values (already in byte order) with 32 activations.
inline int32_t block_sum_i8(__m256i qx, const int8_t* y) {
    const __m512i z = _mm512_zextsi256_si512(qx);
    const __m512i zy = _mm512_zextsi256_si512(loadu256(y));
    const __m512i lanes = _mm512_maskz_mov_epi32(0x00FF, dot_i8_i8(z, zy));
    return _mm512_reduce_add_epi32(lanes);
}

// 32 nibbles of one block in byte order (lo | hi) in the low 256 bits.
inline __m256i unpack_nibbles_32(const uint8_t* qs) {
    const __m128i t = loadu128(qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

// Each kernel K has K::run<N>(n, w, act, act_stride, out): N activation rows at once (see sum_block_pairs).
struct Q8_0 {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ8_0*>(w);
        sum_block_pairs<N, BlockQ8_0>(
            n / HEARTH_QK8_0, act, stride, out, [&](int64_t ib) { return join256(x[ib].qs, x[ib + 1].qs); },
            [&](__m512i qx, const BlockQ8_0* y, int64_t ib, __m512& acc, __m128&) {
                const __m512i sums = dot_i8_i8(qx, join256(y[ib].qs, y[ib + 1].qs));
                const __m512 d = pair_scales(x[ib].d, x[ib + 1].d, y[ib].d, y[ib + 1].d);
                acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sums), acc);
            },
            [&](int64_t ib, const BlockQ8_0* y) {
                return float(block_sum_i8(loadu256(x[ib].qs), y[ib].qs)) * scale(x[ib].d, y[ib].d);
            });
    }
};

// Q4_0 / Q5_0: unsigned quants q with offset o (8 / 16): sum((q - o) y) = sum(q y) - sum(o y).
template <typename Block, bool kHasHighBit> struct Q4_5_0 {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const Block*>(w);
        const __m512i offset = _mm512_set1_epi8(kHasHighBit ? 16 : 8);
        sum_block_pairs<N, BlockQ8_0>(
            n / HEARTH_QK8_0, act, stride, out,
            [&](int64_t ib) {
                __m512i q = unpack_nibbles_2x32(x[ib].qs, x[ib + 1].qs);
                if constexpr (kHasHighBit) // q + 16 where the high bit is set
                    q = _mm512_or_si512(q, _mm512_and_si512(expand_bits_2x32(x[ib].qh, x[ib + 1].qh), offset));
                return q;
            },
            [&](__m512i qx, const BlockQ8_0* y, int64_t ib, __m512& acc, __m128&) {
                const __m512i qy = join256(y[ib].qs, y[ib + 1].qs);
                const __m512i sums = _mm512_sub_epi32(dot_u8_i8(qx, qy), dot_u8_i8(offset, qy));
                const __m512 d = pair_scales(x[ib].d, x[ib + 1].d, y[ib].d, y[ib + 1].d);
                acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sums), acc);
            },
            [&](int64_t ib, const BlockQ8_0* y) {
                __m256i qx;
                if constexpr (kHasHighBit) {
                    uint32_t qh;
                    std::memcpy(&qh, x[ib].qh, 4);
                    const __m256i bits = _mm256_movm_epi8(__mmask32(qh));
                    qx = _mm256_or_si256(unpack_nibbles_32(x[ib].qs),
                                         _mm256_andnot_si256(bits, _mm256_set1_epi8(int8_t(0xF0))));
                } else {
                    qx = _mm256_sub_epi8(unpack_nibbles_32(x[ib].qs), _mm256_set1_epi8(8));
                }
                return float(block_sum_i8(qx, y[ib].qs)) * scale(x[ib].d, y[ib].d);
            });
    }
};

// Q4_1 / Q5_1: unsigned quants, x = d q + m, so each block adds d_w d_a sum(q y) + m_w s_a.
template <typename Block, bool kHasHighBit> struct Q4_5_1 {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        static_assert(offsetof(Block, m) == offsetof(Block, d) + 2 &&
                      offsetof(BlockQ8_1, s) == offsetof(BlockQ8_1, d) + 2);
        const auto* x = static_cast<const Block*>(w);
        const __m512i sixteen = _mm512_set1_epi8(16);
        const __m512i scale_lanes = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
        sum_block_pairs<N, BlockQ8_1>(
            n / HEARTH_QK8_1, act, stride, out,
            [&](int64_t ib) {
                __m512i q = unpack_nibbles_2x32(x[ib].qs, x[ib + 1].qs);
                if constexpr (kHasHighBit)
                    q = _mm512_or_si512(q, _mm512_and_si512(expand_bits_2x32(x[ib].qh, x[ib + 1].qh), sixteen));
                return q;
            },
            [&](__m512i qx, const BlockQ8_1* y, int64_t ib, __m512& acc, __m128& acc_ms) {
                // Both blocks' (d, m) and (d, s) half pairs at once: p = [dx dy, m s, dx' dy', m' s'].
                uint32_t xdm[2], yds[2];
                std::memcpy(&xdm[0], &x[ib].d, 4);
                std::memcpy(&xdm[1], &x[ib + 1].d, 4);
                std::memcpy(&yds[0], &y[ib].d, 4);
                std::memcpy(&yds[1], &y[ib + 1].d, 4);
                const __m128 p = _mm_mul_ps(_mm_cvtph_ps(_mm_set_epi32(0, 0, int32_t(xdm[1]), int32_t(xdm[0]))),
                                            _mm_cvtph_ps(_mm_set_epi32(0, 0, int32_t(yds[1]), int32_t(yds[0]))));
                acc_ms = _mm_add_ps(acc_ms, _mm_blend_ps(_mm_setzero_ps(), p, 0b1010));
                const __m512 d = _mm512_permutexvar_ps(scale_lanes, _mm512_castps128_ps512(p));
                const __m512i sums = dot_u8_i8(qx, join256(y[ib].qs, y[ib + 1].qs));
                acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sums), acc);
            },
            [&](int64_t ib, const BlockQ8_1* y) {
                __m256i q = unpack_nibbles_32(x[ib].qs);
                if constexpr (kHasHighBit) {
                    uint32_t qh;
                    std::memcpy(&qh, x[ib].qh, 4);
                    q = _mm256_or_si256(q, _mm256_and_si256(_mm256_movm_epi8(__mmask32(qh)), _mm256_set1_epi8(16)));
                }
                const __m512i lanes = _mm512_maskz_mov_epi32(
                    0x00FF, dot_u8_i8(_mm512_zextsi256_si512(q), _mm512_zextsi256_si512(loadu256(y[ib].qs))));
                return float(_mm512_reduce_add_epi32(lanes)) * scale(x[ib].d, y[ib].d) +
                       half_to_f32(x[ib].m) * half_to_f32(y[ib].s);
            });
    }
};

} // namespace

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
    return dot_one<Q8_0>(n, w, a);
}
float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
    return dot_one<Q4_5_0<BlockQ4_0, false>>(n, w, a);
}
float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
    return dot_one<Q4_5_0<BlockQ5_0, true>>(n, w, a);
}
float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
    return dot_one<Q4_5_1<BlockQ4_1, false>>(n, w, a);
}
float dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
    return dot_one<Q4_5_1<BlockQ5_1, true>>(n, w, a);
}

void dot_multi_q8_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q8_0>(n, w, a, stride, n_act, out);
}
void dot_multi_q4_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4_5_0<BlockQ4_0, false>>(n, w, a, stride, n_act, out);
}
void dot_multi_q5_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4_5_0<BlockQ5_0, true>>(n, w, a, stride, n_act, out);
}
void dot_multi_q4_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4_5_1<BlockQ4_1, false>>(n, w, a, stride, n_act, out);
}
void dot_multi_q5_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4_5_1<BlockQ5_1, true>>(n, w, a, stride, n_act, out);
}

} // namespace hearth::cpu::avx512
