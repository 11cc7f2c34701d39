// kernels/cpu/avx512/dot_k.cpp: AVX-512 VNNI dot products of Q4_K and Q6_K against Q8_K.
//
// 64 quants per step: dpbusd gives 16 exact int32 lanes of 4-product sums, which are multiplied by their
// sub-block's scale and summed in int32 over the super-block (packed to int16, then vpdpwssd with the scales
// permuted to the lanes); mins and Q6_K's offset 32 go through Q8_K's bsums.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "kernels/cpu/k_scales.h"
#include "tensor/quant_blocks.h"

namespace hearth::cpu::avx512 {
namespace {

constexpr int QK = HEARTH_QK_K;

// Q4_K: per super-block the weights (8 sub-block scales and mins, 256 nibbles) are unpacked once and dotted with
// N activation rows; each row's arithmetic is the same for every N (so N = 1 is the decode kernel, bit for bit).
// Per row: 4 dpbusd give 16 lanes of 4-product sums (|v| <= 4 * 15 * 128, so they fit int16); packs pairs them
// into int16 and vpdpwssd multiplies by the sub-block scales and adds, exact, in two instructions instead of
// four vpmulld. The mins go through Q8_K's bsums with one vpmaddwd. Nothing is reduced horizontally until the
// row's last super-block.
struct Q4K {
    static constexpr bool kEightRows = true; // 8 accumulators + the unpacked block fit the 32 zmm
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ4_K*>(w);
        const BlockQ8_K* y[N];
        for (int r = 0; r < N; ++r)
            y[r] = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(act) + size_t(r) * stride);
        const int64_t nb = n / QK;
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        const __m512i nibble_shift = shift16_by_lane(0, 0, 4, 4); // low 256 bits: 0, high: 4
        // sm16 holds [scales 0..7, mins 0..7] as int16. packs(d[2p], d[2p + 1]) puts, in 128-bit lane k, 4 values
        // of d[2p] (its lanes 4k..4k+3) then 4 of d[2p + 1]; d[j]'s lanes 0-7 are sub-block 2j, 8-15 sub-block
        // 2j + 1. So int16 element e of pair p belongs to sub-block 2 (2p + (e % 8) / 4) + (e / 8 >= 2).
        alignas(64) int16_t pair_idx[2][32];
        alignas(32) int16_t min_idx[16]; // bsums 2s and 2s + 1 (16 activations each) belong to sub-block s
        for (int p = 0; p < 2; ++p)
            for (int e = 0; e < 32; ++e)
                pair_idx[p][e] = int16_t(2 * (2 * p + (e % 8) / 4) + (e / 8 >= 2 ? 1 : 0));
        for (int e = 0; e < 16; ++e)
            min_idx[e] = int16_t(8 + e / 2);
        const __m512i pidx0 = _mm512_load_si512(pair_idx[0]), pidx1 = _mm512_load_si512(pair_idx[1]);
        const __m256i midx = _mm256_load_si256(reinterpret_cast<const __m256i*>(min_idx));
        __m512 acc[N];
        for (int r = 0; r < N; ++r)
            acc[r] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            uint32_t aux[4]; // 8 scales, 8 mins as bytes
            unpack_k4_scales(x[i].scales, aux);
            const __m256i sm16 =
                _mm256_cvtepu8_epi16(_mm_set_epi32(int32_t(aux[3]), int32_t(aux[2]), int32_t(aux[1]), int32_t(aux[0])));
            const __m512i sm16z = _mm512_zextsi256_si512(sm16);
            const __m512i sc0 = _mm512_permutexvar_epi16(pidx0, sm16z), sc1 = _mm512_permutexvar_epi16(pidx1, sm16z);
            const __m256i mins = _mm256_permutexvar_epi16(midx, sm16);
            __m512i q[QK / 64];
            for (int j = 0; j < QK / 64; ++j) {
                // [qs | qs] -> [low nibbles | high nibbles] = sub-blocks 2j and 2j + 1, in activation order.
                const __m512i q4 = _mm512_broadcast_i64x4(loadu256(x[i].qs + 32 * j));
                q[j] = _mm512_and_si512(_mm512_srlv_epi16(q4, nibble_shift), low4);
            }
            const float xd = half_to_f32(x[i].d), xdmin = half_to_f32(x[i].dmin);
            for (int r = 0; r < N; ++r) {
                const BlockQ8_K& yb = y[r][i];
                const __m512i d0 = dot_u8_i8(q[0], loadu512(yb.qs)), d1 = dot_u8_i8(q[1], loadu512(yb.qs + 64));
                const __m512i d2 = dot_u8_i8(q[2], loadu512(yb.qs + 128)), d3 = dot_u8_i8(q[3], loadu512(yb.qs + 192));
                __m512i sumi = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_packs_epi32(d0, d1), sc0);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_packs_epi32(d2, d3), sc1);
                const __m256i min_sum = _mm256_madd_epi16(loadu256(yb.bsums), mins);
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(yb.d * xd), _mm512_cvtepi32_ps(sumi), acc[r]);
                acc[r] = _mm512_fnmadd_ps(_mm512_set1_ps(yb.d * xdmin),
                                          _mm512_cvtepi32_ps(_mm512_zextsi256_si512(min_sum)), acc[r]);
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = _mm512_reduce_add_ps(acc[r]);
    }
};

// Q6_K: as Q4_K, the 6-bit quants and 16 scales of a super-block unpacked once for N activation rows; the dpbusd
// sums (|v| <= 4 * 63 * 128) packed to int16 and multiplied by the signed scales with vpdpwssd.
struct Q6K {
    static constexpr bool kEightRows = true;
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
        // Register k covers sub-blocks 4k .. 4k + 3 (16 activations, 4 lanes each). packs(d[2p], d[2p + 1]) puts,
        // in 128-bit lane c, 4 values of d[2p] (sub-block 8p + c) then 4 of d[2p + 1] (sub-block 8p + 4 + c).
        alignas(64) int16_t pair_idx[2][32];
        for (int p = 0; p < 2; ++p)
            for (int e = 0; e < 32; ++e)
                pair_idx[p][e] = int16_t(8 * p + 4 * ((e % 8) / 4) + e / 8);
        const __m512i pidx0 = _mm512_load_si512(pair_idx[0]), pidx1 = _mm512_load_si512(pair_idx[1]);
        __m512 acc[N];
        for (int r = 0; r < N; ++r)
            acc[r] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(x[i].scales));
            const __m512i sc16z = _mm512_zextsi256_si512(sc16);
            const __m512i sc0 = _mm512_permutexvar_epi16(pidx0, sc16z), sc1 = _mm512_permutexvar_epi16(pidx1, sc16z);
            __m512i q[4]; // register 2 half + k covers activations 128 half + 64 k
            for (int half = 0; half < 2; ++half) {
                const __m512i ql = loadu512(x[i].ql + 64 * half);
                const __m512i qh = _mm512_broadcast_i64x4(loadu256(x[i].qh + 32 * half));
                const __m512i h0 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift0), low2), 4);
                const __m512i h1 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift1), low2), 4);
                q[2 * half] = _mm512_or_si512(_mm512_and_si512(ql, low4), h0);
                q[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), h1);
            }
            const float xd = half_to_f32(x[i].d);
            for (int r = 0; r < N; ++r) {
                const BlockQ8_K& yb = y[r][i];
                const __m512i d0 = dot_u8_i8(q[0], loadu512(yb.qs)), d1 = dot_u8_i8(q[1], loadu512(yb.qs + 64));
                const __m512i d2 = dot_u8_i8(q[2], loadu512(yb.qs + 128)), d3 = dot_u8_i8(q[3], loadu512(yb.qs + 192));
                __m512i sumi = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_packs_epi32(d0, d1), sc0);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_packs_epi32(d2, d3), sc1);
                const __m256i offset_sum = _mm256_madd_epi16(loadu256(yb.bsums), sc16); // times 32 below
                const float d = yb.d * xd;
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc[r]);
                acc[r] = _mm512_fnmadd_ps(_mm512_set1_ps(32 * d),
                                          _mm512_cvtepi32_ps(_mm512_zextsi256_si512(offset_sum)), acc[r]);
            }
        }
        for (int r = 0; r < N; ++r)
            out[r] = _mm512_reduce_add_ps(acc[r]);
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
