// kernels/cpu/avx512/dot_k.cpp: AVX-512 VNNI dot products of Q4_K and Q6_K against Q8_K.
//
// 64 quants per step: dpbusd gives 16 exact int32 lanes of 4-product sums, which are multiplied by their
// sub-block's scale (vpmulld with the scales permuted to the lanes) and summed in int32 over the super-block;
// mins and Q6_K's offset 32 go through Q8_K's bsums, as in the AVX2 kernels.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "kernels/cpu/k_scales.h"
#include "tensor/quant_blocks.h"

namespace hearth::cpu::avx512 {
namespace {

constexpr int QK = HEARTH_QK_K;

// Lane l of the result holds v[first + l / lanes_per_value].
inline __m512i spread(__m512i v, int first, int lanes_per_value) {
    alignas(64) int32_t idx[16];
    for (int l = 0; l < 16; ++l)
        idx[l] = first + l / lanes_per_value;
    return _mm512_permutexvar_epi32(_mm512_load_si512(idx), v);
}

} // namespace

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    const int64_t nb = n / QK;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i nibble_shift = shift16_by_lane(0, 0, 4, 4); // low 256 bits: 0, high: 4
    // Permutations of [scales 0..7, mins 0..7]: lanes of sub-blocks 2j (0-7) and 2j+1 (8-15); mins per bsum.
    const __m512i scale_idx[4] = {_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                  _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
                                  _mm512_set_epi32(5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4),
                                  _mm512_set_epi32(7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 6)};
    const __m512i min_idx = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
    __m512 acc = _mm512_setzero_ps();
    float acc_min = 0;
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t aux[4]; // 8 scales, 8 mins as bytes
        unpack_k4_scales(x[i].scales, aux);
        const __m512i sm32 =
            _mm512_cvtepu8_epi32(_mm_set_epi32(int32_t(aux[3]), int32_t(aux[2]), int32_t(aux[1]), int32_t(aux[0])));
        __m512i sumi = _mm512_setzero_si512();
        for (int j = 0; j < QK / 64; ++j) {
            // [qs | qs] -> [low nibbles | high nibbles] = sub-blocks 2j and 2j + 1, in activation order.
            const __m512i q4 = _mm512_broadcast_i64x4(loadu256(x[i].qs + 32 * j));
            const __m512i q = _mm512_and_si512(_mm512_srlv_epi16(q4, nibble_shift), low4);
            const __m512i p = dot_u8_i8(q, loadu512(y[i].qs + 64 * j));
            sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(p, _mm512_permutexvar_epi32(scale_idx[j], sm32)));
        }
        const __m512i bsums = _mm512_cvtepi16_epi32(loadu256(y[i].bsums));
        const int32_t min_sum =
            _mm512_reduce_add_epi32(_mm512_mullo_epi32(bsums, _mm512_permutexvar_epi32(min_idx, sm32)));
        const float d = y[i].d * half_to_f32(x[i].d);
        const float dmin = y[i].d * half_to_f32(x[i].dmin);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
        acc_min += dmin * float(min_sum);
    }
    return _mm512_reduce_add_ps(acc) - acc_min;
}

float dot_q6_k_q8_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    const int64_t nb = n / QK;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i low2 = _mm512_set1_epi8(0x03);
    // Per half: register 0 = groups 0 | 1 (qh bits 0-1 | 2-3), register 1 = groups 2 | 3 (bits 4-5 | 6-7).
    const __m512i qh_shift0 = shift16_by_lane(0, 0, 2, 2);
    const __m512i qh_shift1 = shift16_by_lane(4, 4, 6, 6);
    __m512i scale_idx[4]; // register k of the super-block covers sub-blocks 4k .. 4k + 3, 4 lanes each
    for (int k = 0; k < 4; ++k)
        scale_idx[k] = spread(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 4 * k, 4);
    __m512 acc = _mm512_setzero_ps();
    float acc_offset = 0;
    for (int64_t i = 0; i < nb; ++i) {
        const __m512i sc32 = _mm512_cvtepi8_epi32(loadu128(x[i].scales));
        __m512i sumi = _mm512_setzero_si512();
        for (int half = 0; half < 2; ++half) {
            const __m512i ql = loadu512(x[i].ql + 64 * half);
            const __m512i qh = _mm512_broadcast_i64x4(loadu256(x[i].qh + 32 * half));
            const __m512i h0 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift0), low2), 4);
            const __m512i h1 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift1), low2), 4);
            const __m512i q[2] = {
                _mm512_or_si512(_mm512_and_si512(ql, low4), h0),
                _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), h1),
            };
            for (int r = 0; r < 2; ++r) {
                const __m512i p = dot_u8_i8(q[r], loadu512(y[i].qs + 128 * half + 64 * r));
                const __m512i sc = _mm512_permutexvar_epi32(scale_idx[2 * half + r], sc32);
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(p, sc));
            }
        }
        const __m512i bsums = _mm512_cvtepi16_epi32(loadu256(y[i].bsums));
        const int32_t offset_sum = _mm512_reduce_add_epi32(_mm512_mullo_epi32(bsums, sc32));
        const float d = y[i].d * half_to_f32(x[i].d);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
        acc_offset += d * float(32 * offset_sum);
    }
    return _mm512_reduce_add_ps(acc) - acc_offset;
}

} // namespace hearth::cpu::avx512
