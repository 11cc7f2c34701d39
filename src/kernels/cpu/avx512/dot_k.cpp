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

// Q4_K: per super-block the weights (8 sub-block scales and mins, 256 nibbles) are unpacked once and dotted with
// N activation rows; each row's arithmetic is the same for every N (so N = 1 is the decode kernel, bit for bit).
struct Q4K {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ4_K*>(w);
        const BlockQ8_K* y[N];
        for (int r = 0; r < N; ++r)
            y[r] = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(act) + size_t(r) * stride);
        const int64_t nb = n / QK;
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        const __m512i nibble_shift = shift16_by_lane(0, 0, 4, 4); // low 256 bits: 0, high: 4
        // Permutations of [scales 0..7, mins 0..7]: lanes of sub-blocks 2j (0-7) and 2j+1 (8-15); mins per bsum.
        const __m512i scale_idx[4] = {_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                      _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
                                      _mm512_set_epi32(5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4),
                                      _mm512_set_epi32(7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 6)};
        const __m512i min_idx = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
        __m512 acc[N];
        float acc_min[N];
        for (int r = 0; r < N; ++r) {
            acc[r] = _mm512_setzero_ps();
            acc_min[r] = 0;
        }
        for (int64_t i = 0; i < nb; ++i) {
            uint32_t aux[4]; // 8 scales, 8 mins as bytes
            unpack_k4_scales(x[i].scales, aux);
            const __m512i sm32 =
                _mm512_cvtepu8_epi32(_mm_set_epi32(int32_t(aux[3]), int32_t(aux[2]), int32_t(aux[1]), int32_t(aux[0])));
            __m512i q[QK / 64], sc[QK / 64];
            for (int j = 0; j < QK / 64; ++j) {
                // [qs | qs] -> [low nibbles | high nibbles] = sub-blocks 2j and 2j + 1, in activation order.
                const __m512i q4 = _mm512_broadcast_i64x4(loadu256(x[i].qs + 32 * j));
                q[j] = _mm512_and_si512(_mm512_srlv_epi16(q4, nibble_shift), low4);
                sc[j] = _mm512_permutexvar_epi32(scale_idx[j], sm32);
            }
            const __m512i mins = _mm512_permutexvar_epi32(min_idx, sm32);
            const float xd = half_to_f32(x[i].d), xdmin = half_to_f32(x[i].dmin);
            for (int r = 0; r < N; ++r) {
                const BlockQ8_K& yb = y[r][i];
                __m512i sumi = _mm512_setzero_si512();
                for (int j = 0; j < QK / 64; ++j)
                    sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(dot_u8_i8(q[j], loadu512(yb.qs + 64 * j)), sc[j]));
                const __m512i bsums = _mm512_cvtepi16_epi32(loadu256(yb.bsums));
                const int32_t min_sum = _mm512_reduce_add_epi32(_mm512_mullo_epi32(bsums, mins));
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(yb.d * xd), _mm512_cvtepi32_ps(sumi), acc[r]);
                acc_min[r] += yb.d * xdmin * float(min_sum);
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = _mm512_reduce_add_ps(acc[r]) - acc_min[r];
    }
};

// Q6_K: as Q4_K, the 6-bit quants and 16 scales of a super-block unpacked once for N activation rows.
struct Q6K {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ6_K*>(w);
        const BlockQ8_K* y[N];
        for (int r = 0; r < N; ++r)
            y[r] = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(act) + size_t(r) * stride);
        const int64_t nb = n / QK;
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        const __m512i low2 = _mm512_set1_epi8(0x03);
        // Per half: register 0 = groups 0 | 1 (qh bits 0-1 | 2-3), register 1 = groups 2 | 3 (bits 4-5 | 6-7).
        const __m512i qh_shift0 = shift16_by_lane(0, 0, 2, 2);
        const __m512i qh_shift1 = shift16_by_lane(4, 4, 6, 6);
        __m512i scale_idx[4]; // register k of the super-block covers sub-blocks 4k .. 4k + 3, 4 lanes each
        for (int k = 0; k < 4; ++k)
            scale_idx[k] = spread(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 4 * k, 4);
        __m512 acc[N];
        float acc_offset[N];
        for (int r = 0; r < N; ++r) {
            acc[r] = _mm512_setzero_ps();
            acc_offset[r] = 0;
        }
        for (int64_t i = 0; i < nb; ++i) {
            const __m512i sc32 = _mm512_cvtepi8_epi32(loadu128(x[i].scales));
            __m512i q[4], sc[4]; // register 2 half + k covers activations 128 half + 64 k
            for (int half = 0; half < 2; ++half) {
                const __m512i ql = loadu512(x[i].ql + 64 * half);
                const __m512i qh = _mm512_broadcast_i64x4(loadu256(x[i].qh + 32 * half));
                const __m512i h0 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift0), low2), 4);
                const __m512i h1 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift1), low2), 4);
                q[2 * half] = _mm512_or_si512(_mm512_and_si512(ql, low4), h0);
                q[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), h1);
                sc[2 * half] = _mm512_permutexvar_epi32(scale_idx[2 * half], sc32);
                sc[2 * half + 1] = _mm512_permutexvar_epi32(scale_idx[2 * half + 1], sc32);
            }
            const float xd = half_to_f32(x[i].d);
            for (int r = 0; r < N; ++r) {
                const BlockQ8_K& yb = y[r][i];
                __m512i sumi = _mm512_setzero_si512();
                for (int k = 0; k < 4; ++k)
                    sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(dot_u8_i8(q[k], loadu512(yb.qs + 64 * k)), sc[k]));
                const __m512i bsums = _mm512_cvtepi16_epi32(loadu256(yb.bsums));
                const int32_t offset_sum = _mm512_reduce_add_epi32(_mm512_mullo_epi32(bsums, sc32));
                const float d = yb.d * xd;
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc[r]);
                acc_offset[r] += d * float(32 * offset_sum);
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = _mm512_reduce_add_ps(acc[r]) - acc_offset[r];
    }
};

} // namespace

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<Q4K>(n, w, a);
}
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a) {
    return dot_one<Q6K>(n, w, a);
}
void dot_multi_q4_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4K>(n, w, a, stride, n_act, out);
}
void dot_multi_q6_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q6K>(n, w, a, stride, n_act, out);
}

} // namespace hearth::cpu::avx512
