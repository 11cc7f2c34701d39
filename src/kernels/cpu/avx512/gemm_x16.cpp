// kernels/cpu/avx512/gemm_x16.cpp: AVX-512 VNNI kernels over x16-packed Q8_0 / Q4_0 / Q5_0 weights (packed.h).
//
// Per block column: the 16 rows' half scales -> 16 floats, the quants unpacked to 8 registers of unsigned bytes
// (register j: elements 4j .. 4j + 3 of every row, lane r = row r); then per token 8 dpbusd against the token's
// 4-byte groups broadcast to all lanes give the 16 exact block sums, less offset * sum(a), and one fma per token
// applies d_w * d_a. Integer sums are exact whatever the order, so the chains may be split freely; the float
// fold is packed.h's, the same for any batch, bit for bit equal to packed.cpp's scalar kernel.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/x16_tiles.h"

namespace hearth::cpu::avx512 {
namespace {

struct LQ8 {
    static constexpr int kOffset = 128;
    static constexpr bool kHasMin = false;
    static constexpr size_t kColumn = 544;
    static void unpack(const uint8_t* col, __m512i w[8]) {
        for (int k = 0; k < 8; ++k)
            w[k] = loadu512(col + 32 + 64 * k);
    }
};

// The nibble types: 16 half scales, [16 half mins], [hb: 64 bytes of fifth bits], 4 chunks of nibbles; IQ4_NL
// (kCodebook) looks each nibble up in its codebook.
template <int kOffsetV, bool kHasMinV, bool kHasHb, bool kCodebook = false> struct LNibbles {
    static constexpr int kOffset = kOffsetV;
    static constexpr bool kHasMin = kHasMinV;
    static constexpr size_t kHb = kHasMin ? 64 : 32;
    static constexpr size_t kQ = kHb + (kHasHb ? 64 : 0);
    static constexpr size_t kColumn = kQ + 256;
    template <int K> static void unpack_chunk(const uint8_t* col, [[maybe_unused]] __m512i hb, __m512i w[8]) {
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        const __m512i c = loadu512(col + kQ + 64 * K);
        w[K] = _mm512_and_si512(c, low4);
        w[4 + K] = _mm512_and_si512(_mm512_srli_epi16(c, 4), low4);
        if constexpr (kHasHb) {
            w[K] = _mm512_or_si512(w[K], bit_to<K, 4>(hb));
            w[4 + K] = _mm512_or_si512(w[4 + K], bit_to<4 + K, 4>(hb));
        }
    }
    static void unpack(const uint8_t* col, __m512i w[8]) {
        const __m512i hb = kHasHb ? loadu512(col + kHb) : _mm512_setzero_si512();
        unpack_chunk<0>(col, hb, w);
        unpack_chunk<1>(col, hb, w);
        unpack_chunk<2>(col, hb, w);
        unpack_chunk<3>(col, hb, w);
        if constexpr (kCodebook) {
            const __m512i table = iq4nl_table();
            for (int k = 0; k < 8; ++k)
                w[k] = _mm512_shuffle_epi8(table, w[k]);
        }
    }
};
using LQ4 = LNibbles<8, false, false>;
using LQ5 = LNibbles<16, false, true>;
using LQ41 = LNibbles<0, true, false>;
using LQ51 = LNibbles<0, true, true>;
using LIQ4NL = LNibbles<128, false, false, true>;

template <typename L, int N>
void run(int64_t nb, const uint8_t* group, const PackedAct* act, int64_t act_nb, float* y, size_t y_stride,
         bool prefetch) {
    __m512 acc[N];
    for (int t = 0; t < N; ++t)
        acc[t] = _mm512_setzero_ps();
    StreamPrefetch<L::kColumn, N, true> pf(group, prefetch);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* col = group + size_t(b) * L::kColumn;
        pf.before(col);
        const __m512 dw = _mm512_cvtph_ps(loadu256(col));
        [[maybe_unused]] __m512 mw;
        if constexpr (L::kHasMin) mw = _mm512_cvtph_ps(loadu256(col + 32));
        __m512i w[8];
        L::unpack(col, w);
        for (int t = 0; t < N; ++t) {
            const PackedAct& a = act[t * act_nb + b];
            __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[0], bcast32(a.q));
            __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[1], bcast32(a.q + 4));
            if constexpr (N <= 2) { // decode: four short chains instead of two long ones
                __m512i s2 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[2], bcast32(a.q + 8));
                __m512i s3 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[3], bcast32(a.q + 12));
                s0 = _mm512_dpbusd_epi32(s0, w[4], bcast32(a.q + 16));
                s1 = _mm512_dpbusd_epi32(s1, w[5], bcast32(a.q + 20));
                s2 = _mm512_dpbusd_epi32(s2, w[6], bcast32(a.q + 24));
                s3 = _mm512_dpbusd_epi32(s3, w[7], bcast32(a.q + 28));
                s0 = _mm512_add_epi32(s0, s2);
                s1 = _mm512_add_epi32(s1, s3);
            } else {
                for (int j = 2; j < 8; j += 2) {
                    s0 = _mm512_dpbusd_epi32(s0, w[j], bcast32(a.q + 4 * j));
                    s1 = _mm512_dpbusd_epi32(s1, w[j + 1], bcast32(a.q + 4 * j + 4));
                }
            }
            __m512i s = _mm512_add_epi32(s0, s1);
            if constexpr (L::kOffset != 0) s = _mm512_sub_epi32(s, _mm512_set1_epi32(L::kOffset * a.s));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(a.d)), acc[t]);
            if constexpr (L::kHasMin) acc[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(a.ds), acc[t]);
        }
        pf.after(col);
    }
    for (int t = 0; t < N; ++t) {
        if constexpr (N <= kPrefetchFarTokens)
            store_result(y + size_t(t) * y_stride, acc[t]);
        else
            _mm512_storeu_ps(y + size_t(t) * y_stride, acc[t]);
    }
}

template <typename L>
void gemm_legacy(int64_t nb, const uint8_t* group, const void* act, int64_t act_nb, int n_tok, float* y,
                 size_t y_stride, bool prefetch) {
    token_tiles<8>(
        static_cast<const PackedAct*>(act), act_nb, n_tok, y, y_stride,
        [&]<int N>(const PackedAct* a, float* yt) { run<L, N>(nb, group, a, act_nb, yt, y_stride, prefetch); });
}

} // namespace

HEARTH_X16_LEGACY_TYPES(HEARTH_X16_DEFINE_LEGACY)

} // namespace hearth::cpu::avx512
