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

// Q4_K and Q5_K: 8 sub-blocks of 32, 6-bit scales and mins; Q5_K adds a fifth bit from qh.
template <bool kHasHighBit, typename Block> float dot_q45_k(int64_t n, const Block* x, const BlockQ8_K* y) {
    const int64_t nb = n / QK;
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    float acc_min = 0;
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t aux[4];
        unpack_k4_scales(x[i].scales, aux);
        const __m256i sm16 = scales_to_i16(aux); // 8 scales, 8 mins
        const int8_t* q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < QK / 64; ++j) {
            const __m256i q4 = loadu256(x[i].qs + 32 * j);
            __m256i lo = _mm256_and_si256(q4, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low4);
            if constexpr (kHasHighBit) {
                // Bits 2j (low nibbles) and 2j + 1 (high nibbles) of qh, moved to bit 4.
                const __m256i hb = _mm256_srl_epi16(loadu256(x[i].qh), _mm_cvtsi32_si128(2 * j));
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 4), bit4));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hb, 3), bit4));
            }
            const __m256i p_lo = _mm256_maddubs_epi16(lo, loadu256(q8 + 64 * j));
            const __m256i p_hi = _mm256_maddubs_epi16(hi, loadu256(q8 + 64 * j + 32));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, broadcast_i16(sm16, 2 * j)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, broadcast_i16(sm16, 2 * j + 1)));
        }
        const float d = y[i].d * half_to_f32(x[i].d);
        const float dmin = y[i].d * half_to_f32(x[i].dmin);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        acc_min += dmin * float(k4_min_sum(_mm256_extracti128_si256(sm16, 1), y[i].bsums));
    }
    return hsum(acc) - acc_min;
}

// Q2_K and Q3_K: 2-bit fields of qs[32 * half + l] at shift 2 * g give the 32-quant group g of each half;
// group (half, g) spans sub-blocks 8 * half + 2 * g and the next one. scales16: the 16 sub-block scales.
// Q3_K's high bit (hmask bit 4 * half + g) adds 4, its offset 4 is applied through the bsums by the caller.
template <bool kHasHighBit>
inline __m256i dot_2bit_groups(const uint8_t* qs, const uint8_t* hmask, const int8_t* q8, __m256i scales16) {
    const __m256i low2 = _mm256_set1_epi8(3);
    const __m256i four = _mm256_set1_epi8(4);
    __m256i hm = _mm256_setzero_si256();
    if constexpr (kHasHighBit) hm = loadu256(hmask);
    __m256i sumi = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
        const __m256i q2 = loadu256(qs + 32 * half);
        const __m256i groups[4] = {_mm256_and_si256(q2, low2), _mm256_and_si256(_mm256_srli_epi16(q2, 2), low2),
                                   _mm256_and_si256(_mm256_srli_epi16(q2, 4), low2),
                                   _mm256_and_si256(_mm256_srli_epi16(q2, 6), low2)};
        for (int g = 0; g < 4; ++g) {
            __m256i q = groups[g];
            if constexpr (kHasHighBit) {
                const __m256i bit = _mm256_set1_epi8(int8_t(1 << (4 * half + g)));
                const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
                q = _mm256_or_si256(q, _mm256_and_si256(set, four));
            }
            const int s = 8 * half + 2 * g;
            const __m256i p = _mm256_maddubs_epi16(q, loadu256(q8 + 128 * half + 32 * g));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pair_scales(scales16, s)));
        }
    }
    return sumi;
}

} // namespace

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_q45_k<false>(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a));
}

float dot_q5_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_q45_k<true>(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a));
}

float dot_q6_k_q8_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    const int64_t nb = n / QK;
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i bits45 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    float acc_offset = 0;
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(x[i].scales));
        const int8_t* q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int half = 0; half < 2; ++half) {
            const __m256i ql0 = loadu256(x[i].ql + 64 * half);
            const __m256i ql1 = loadu256(x[i].ql + 64 * half + 32);
            const __m256i qh = loadu256(x[i].qh + 32 * half);
            // Unsigned 6-bit quants (q + 32) of the four 32-quant groups of this half.
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
                _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, bits45)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45)),
            };
            for (int g = 0; g < 4; ++g) {
                const int s = 8 * half + 2 * g;
                const __m256i p = _mm256_maddubs_epi16(q[g], loadu256(q8 + 128 * half + 32 * g));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pair_scales(sc16, s)));
            }
        }
        const float d = y[i].d * half_to_f32(x[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        acc_offset += d * float(32 * scaled_bsums(sc16, y[i].bsums));
    }
    return hsum(acc) - acc_offset;
}

float dot_q3_k_q8_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ3_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    const int64_t nb = n / QK;
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t aux[4];
        unpack_q3_k_scales(x[i].scales, aux);
        const __m256i sc16 = _mm256_sub_epi16(scales_to_i16(aux), _mm256_set1_epi16(32));
        // Quants are stored + 4 (hbit set) or as is (hbit clear): q = (2 bits | 4 * hbit) - 4.
        const __m256i sumi = dot_2bit_groups<true>(x[i].qs, x[i].hmask, y[i].qs, sc16);
        const int32_t total = hsum_i32(sumi) - 4 * scaled_bsums(sc16, y[i].bsums);
        const float d = y[i].d * half_to_f32(x[i].d);
        sumf += d * float(total);
    }
    return sumf;
}

float dot_q2_k_q8_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ2_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    const int64_t nb = n / QK;
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        const __m128i packed = loadu128(x[i].scales); // low nibble: scale, high nibble: min
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, _mm_set1_epi8(0x0F)));
        const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F)));
        const int32_t isum = hsum_i32(dot_2bit_groups<false>(x[i].qs, nullptr, y[i].qs, sc16));
        const int32_t summs = scaled_bsums(mins16, y[i].bsums);
        const float dall = y[i].d * half_to_f32(x[i].d);
        const float dmin = y[i].d * half_to_f32(x[i].dmin);
        sumf += dall * float(isum) - dmin * float(summs);
    }
    return sumf;
}

float dot_iq4_xs_q8_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockIQ4_XS*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    const int64_t nb = n / QK;
    const __m256i codebook = _mm256_broadcastsi128_si256(loadu128(kIq4NlValues));
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        __m256i sumi = _mm256_setzero_si256();
        for (int ib = 0; ib < QK / 32; ++ib) {
            const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((x[i].scales_h >> (2 * ib)) & 3) << 4);
            const __m256i qx = _mm256_shuffle_epi8(codebook, unpack_nibbles_32(x[i].qs + 16 * ib));
            const __m256i qy = loadu256(y[i].qs + 32 * ib);
            const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_set1_epi16(int16_t(ls - 32))));
        }
        const float d = half_to_f32(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc);
}

} // namespace hearth::cpu::avx2
