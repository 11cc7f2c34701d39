// kernels/cpu/avx2/dot_k.cpp: AVX2 dot products of the K-quants and IQ4_XS against Q8_K.
//
// Per 256-element super-block: quants are unpacked to unsigned bytes, multiplied with the activation bytes by
// maddubs and weighted by their sub-block scale with madd (exact int32). Offsets and mins are not applied per
// element but through Q8_K's bsums (sums of 16 activations): sum(sc * (q - o) * a) = sum(sc * q * a) -
// o * sum(sc * bsum). The super-block's int32 lanes are accumulated in float with d_w * d_a.
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "kernels/cpu/k_scales.h"
#include "tensor/quant_blocks.h"

#include <cstddef>

namespace hearth::cpu::avx2 {
namespace {

constexpr int QK = HEARTH_QK_K;

// Weights for a 32-quant group spanning sub-blocks s (first 16 quants) and s + 1 (next 16), for madd_epi16:
// [sc[s] x 8 | sc[s + 1] x 8] from the 16 int16 scales of the super-block (s even), without leaving SIMD.
inline __m256i pair_scales(__m256i scales16, int s) {
    const __m256i pair = _mm256_permutevar8x32_epi32(scales16, _mm256_set1_epi32(s / 2));   // (sc[s], sc[s+1]) x 8
    const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, //
                                            2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    return _mm256_shuffle_epi8(pair, spread);
}

// sum over 16 sub-blocks of scale[s] * bsums[s]; scales16: 16 int16.
inline int32_t scaled_bsums(__m256i scales16, const int16_t* bsums) {
    return hsum_i32(_mm256_madd_epi16(scales16, loadu256(bsums)));
}

// sum over the 8 sub-blocks of 32 of mins[k] * (bsums[2k] + bsums[2k+1]); mins16: 8 int16.
inline int32_t k4_min_sum(__m128i mins16, const int16_t* bsums) {
    const __m256i b = loadu256(bsums);
    const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    __m128i p = _mm_madd_epi16(mins16, pairs);
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0x4E));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0xB1));
    return _mm_cvtsi128_si32(p);
}

// 16 unpacked 6-bit scale bytes (k_scales.h) as 16 int16, straight from registers.
inline __m256i scales_to_i16(const uint32_t aux[4]) {
    return _mm256_cvtepu8_epi16(_mm_set_epi32(int32_t(aux[3]), int32_t(aux[2]), int32_t(aux[1]), int32_t(aux[0])));
}

// scales16[k] in all 16 lanes.
inline __m256i broadcast_i16(__m256i scales16, int k) {
    const __m256i pair = _mm256_permutevar8x32_epi32(scales16, _mm256_set1_epi32(k / 2));
    return k % 2 == 0 ? _mm256_shufflelo_epi16(_mm256_shufflehi_epi16(pair, 0x00), 0x00)
                      : _mm256_shufflelo_epi16(_mm256_shufflehi_epi16(pair, 0x55), 0x55);
}

// Each kernel below is a K::run<N> (util.h's dot_one / dot_multi): a super-block's weights (quants as bytes,
// scales as int16 vectors) are unpacked once and then used by N activation rows, the row loop inside each
// 32- or 64-quant step so that only that step's unpacked registers are live. Per row, the int32 sums are exact
// and the float steps are the same, in the same order, for every N.

// Zeroed int32 sums, one per activation row.
template <int N> inline void zero_sums(__m256i (&sumi)[N]) {
    for (int r = 0; r < N; ++r)
        sumi[r] = _mm256_setzero_si256();
}

// Q4_K and Q5_K: 8 sub-blocks of 32, 6-bit scales and mins; Q5_K adds a fifth bit from qh.
template <typename Block, bool kHasHighBit> struct Q45K {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const Block*>(w);
        const BlockQ8_K* y[N];
        act_rows(act, stride, y);
        __m256 acc[N];
        float acc_min[N];
        for (int r = 0; r < N; ++r) {
            acc[r] = _mm256_setzero_ps();
            acc_min[r] = 0;
        }
        for (int64_t i = 0; i < n / QK; ++i) {
            uint32_t aux[4];
            unpack_k4_scales(x[i].scales, aux);
            const __m256i sm16 = scales_to_i16(aux); // 8 scales, 8 mins
            __m256i sumi[N];
            zero_sums(sumi);
            for (int j = 0; j < QK / 64; ++j) {
                __m256i lo, hi;
                unpack_group_pair(x[i], j, lo, hi);
                const __m256i sc_lo = broadcast_i16(sm16, 2 * j);
                const __m256i sc_hi = broadcast_i16(sm16, 2 * j + 1);
                for (int r = 0; r < N; ++r) {
                    const int8_t* q8 = y[r][i].qs + 64 * j;
                    const __m256i p_lo = _mm256_maddubs_epi16(lo, loadu256(q8));
                    const __m256i p_hi = _mm256_maddubs_epi16(hi, loadu256(q8 + 32));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p_lo, sc_lo));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p_hi, sc_hi));
                }
            }
            const __m128i mins16 = _mm256_extracti128_si256(sm16, 1);
            const float xd = half_to_f32(x[i].d);
            const float xdmin = half_to_f32(x[i].dmin);
            for (int r = 0; r < N; ++r) {
                const float d = y[r][i].d * xd;
                const float dmin = y[r][i].d * xdmin;
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
                acc_min[r] += dmin * float(k4_min_sum(mins16, y[r][i].bsums));
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = hsum(acc[r]) - acc_min[r];
    }

    // Quants of sub-blocks 2j (lo) and 2j + 1 (hi) as unsigned bytes: the nibbles of qs[32j..32j+31], and for
    // Q5_K bits 2j and 2j + 1 of qh moved to bit 4.
    static void unpack_group_pair(const Block& b, int j, __m256i& lo, __m256i& hi) {
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        const __m256i q4 = loadu256(b.qs + 32 * j);
        lo = _mm256_and_si256(q4, low4);
        hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low4);
        if constexpr (kHasHighBit) {
            const __m256i bit4 = _mm256_set1_epi8(0x10);
            const __m256i hb = _mm256_srl_epi16(loadu256(b.qh), _mm_cvtsi32_si128(2 * j));
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 4), bit4));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hb, 3), bit4));
        }
    }
};

// Q6_K: 16 sub-blocks of 16, int8 scales, quants q + 32 in 0..63 (the offset goes through the bsums).
struct Q6K {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ6_K*>(w);
        const BlockQ8_K* y[N];
        act_rows(act, stride, y);
        __m256 acc[N];
        float acc_offset[N];
        for (int r = 0; r < N; ++r) {
            acc[r] = _mm256_setzero_ps();
            acc_offset[r] = 0;
        }
        for (int64_t i = 0; i < n / QK; ++i) {
            const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(x[i].scales));
            __m256i sumi[N];
            zero_sums(sumi);
            for (int half = 0; half < 2; ++half) {
                __m256i q[4];
                unpack_half(x[i], half, q);
                for (int g = 0; g < 4; ++g) {
                    const __m256i sc = pair_scales(sc16, 8 * half + 2 * g);
                    for (int r = 0; r < N; ++r) {
                        const __m256i p = _mm256_maddubs_epi16(q[g], loadu256(y[r][i].qs + 128 * half + 32 * g));
                        sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p, sc));
                    }
                }
            }
            const float xd = half_to_f32(x[i].d);
            for (int r = 0; r < N; ++r) {
                const float d = y[r][i].d * xd;
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
                acc_offset[r] += d * float(32 * scaled_bsums(sc16, y[r][i].bsums));
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = hsum(acc[r]) - acc_offset[r];
    }

    // Unsigned 6-bit quants (q + 32) of the four 32-quant groups of one half (128 quants).
    static void unpack_half(const BlockQ6_K& b, int half, __m256i (&q)[4]) {
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        const __m256i bits45 = _mm256_set1_epi8(0x30);
        const __m256i ql0 = loadu256(b.ql + 64 * half);
        const __m256i ql1 = loadu256(b.ql + 64 * half + 32);
        const __m256i qh = loadu256(b.qh + 32 * half);
        q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
        q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
        q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, bits45));
        q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                               _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
    }
};

// Q2_K and Q3_K: 2-bit fields of qs[32 * half + l] at shift 2 * g give the 32-quant group g of each half;
// group (half, g) spans sub-blocks 8 * half + 2 * g and the next one. scales16: the 16 sub-block scales.
// Q3_K's high bit (hmask bit 4 * half + g) adds 4, its offset 4 is applied through the bsums by the caller.
// Adds the scaled sums of super-block i of each activation row r to sumi[r].
template <bool kHasHighBit, int N>
inline void dot_2bit_groups(const uint8_t* qs, const uint8_t* hmask, __m256i scales16, const BlockQ8_K* const (&y)[N],
                            int64_t i, __m256i (&sumi)[N]) {
    const __m256i low2 = _mm256_set1_epi8(3);
    const __m256i four = _mm256_set1_epi8(4);
    __m256i hm = _mm256_setzero_si256();
    if constexpr (kHasHighBit) hm = loadu256(hmask);
    for (int half = 0; half < 2; ++half) {
        const __m256i q2 = loadu256(qs + 32 * half);
        const __m256i groups[4] = {_mm256_and_si256(q2, low2), _mm256_and_si256(_mm256_srli_epi16(q2, 2), low2),
                                   _mm256_and_si256(_mm256_srli_epi16(q2, 4), low2),
                                   _mm256_and_si256(_mm256_srli_epi16(q2, 6), low2)};
        for (int g = 0; g < 4; ++g) {
            __m256i q = groups[g];
            if constexpr (kHasHighBit) {
                // Bit k of each hmask byte moved to bit 2 (= 4): the 16-bit shifts by at most 5 keep it in its byte.
                const int k = 4 * half + g;
                const __m256i h = k >= 2 ? _mm256_srli_epi16(hm, k - 2) : _mm256_slli_epi16(hm, 2 - k);
                q = _mm256_or_si256(q, _mm256_and_si256(h, four));
            }
            const __m256i sc = pair_scales(scales16, 8 * half + 2 * g);
            for (int r = 0; r < N; ++r) {
                const __m256i p = _mm256_maddubs_epi16(q, loadu256(y[r][i].qs + 128 * half + 32 * g));
                sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p, sc));
            }
        }
    }
}

struct Q3K {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ3_K*>(w);
        const BlockQ8_K* y[N];
        act_rows(act, stride, y);
        float sumf[N] = {};
        for (int64_t i = 0; i < n / QK; ++i) {
            uint32_t aux[4];
            unpack_q3_k_scales(x[i].scales, aux);
            const __m256i sc16 = _mm256_sub_epi16(scales_to_i16(aux), _mm256_set1_epi16(32));
            __m256i sumi[N];
            zero_sums(sumi);
            // Quants are stored + 4 (hbit set) or as is (hbit clear): q = (2 bits | 4 * hbit) - 4.
            dot_2bit_groups<true>(x[i].qs, x[i].hmask, sc16, y, i, sumi);
            const float xd = half_to_f32(x[i].d);
            for (int r = 0; r < N; ++r) {
                const int32_t total = hsum_i32(sumi[r]) - 4 * scaled_bsums(sc16, y[r][i].bsums);
                const float d = y[r][i].d * xd;
                sumf[r] += d * float(total);
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = sumf[r];
    }
};

struct Q2K {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ2_K*>(w);
        const BlockQ8_K* y[N];
        act_rows(act, stride, y);
        float sumf[N] = {};
        for (int64_t i = 0; i < n / QK; ++i) {
            const __m128i packed = loadu128(x[i].scales); // low nibble: scale, high nibble: min
            const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, _mm_set1_epi8(0x0F)));
            const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F)));
            __m256i sumi[N];
            zero_sums(sumi);
            dot_2bit_groups<false>(x[i].qs, nullptr, sc16, y, i, sumi);
            const float xd = half_to_f32(x[i].d);
            const float xdmin = half_to_f32(x[i].dmin);
            for (int r = 0; r < N; ++r) {
                const int32_t isum = hsum_i32(sumi[r]);
                const int32_t summs = scaled_bsums(mins16, y[r][i].bsums);
                const float dall = y[r][i].d * xd;
                const float dmin = y[r][i].d * xdmin;
                sumf[r] += dall * float(isum) - dmin * float(summs);
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = sumf[r];
    }
};

// IQ4_XS: 8 sub-blocks of 32, codebook quants (signed, so their signs go onto the activations), 6-bit scales.
struct IQ4XS {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockIQ4_XS*>(w);
        const BlockQ8_K* y[N];
        act_rows(act, stride, y);
        const __m256i codebook = _mm256_broadcastsi128_si256(loadu128(kIq4NlValues));
        __m256 acc[N];
        for (int r = 0; r < N; ++r)
            acc[r] = _mm256_setzero_ps();
        for (int64_t i = 0; i < n / QK; ++i) {
            __m256i sumi[N];
            zero_sums(sumi);
            for (int ib = 0; ib < QK / 32; ++ib) {
                const int ls =
                    ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((x[i].scales_h >> (2 * ib)) & 3) << 4);
                const __m256i sc = _mm256_set1_epi16(int16_t(ls - 32));
                const __m256i qx = _mm256_shuffle_epi8(codebook, unpack_nibbles_32(x[i].qs + 16 * ib));
                const __m256i ax = _mm256_sign_epi8(qx, qx);
                for (int r = 0; r < N; ++r) {
                    const __m256i qy = loadu256(y[r][i].qs + 32 * ib);
                    const __m256i p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(qy, qx));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p, sc));
                }
            }
            const float xd = half_to_f32(x[i].d);
            for (int r = 0; r < N; ++r) {
                const float d = xd * y[r][i].d;
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = hsum(acc[r]);
    }
};

using Q4K = Q45K<BlockQ4_K, false>;
using Q5K = Q45K<BlockQ5_K, true>;

} // namespace

float dot_q2_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<Q2K>(n, w, a);
}
float dot_q3_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<Q3K>(n, w, a);
}
float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<Q4K>(n, w, a);
}
float dot_q5_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<Q5K>(n, w, a);
}
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<Q6K>(n, w, a);
}
float dot_iq4_xs_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<IQ4XS>(n, w, a);
}

void dot_multi_q2_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q2K>(n, w, a, stride, n_act, out);
}
void dot_multi_q3_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q3K>(n, w, a, stride, n_act, out);
}
void dot_multi_q4_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4K>(n, w, a, stride, n_act, out);
}
void dot_multi_q5_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q5K>(n, w, a, stride, n_act, out);
}
void dot_multi_q6_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q6K>(n, w, a, stride, n_act, out);
}
void dot_multi_iq4_xs_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<IQ4XS>(n, w, a, stride, n_act, out);
}

} // namespace hearth::cpu::avx2
