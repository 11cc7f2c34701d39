// kernels/cpu/avx512/gemm_x16_k.cpp: AVX-512 VNNI kernels over x16-packed Q4_K / Q5_K / Q6_K weights (packed_k.h).
//
// Per super-block column and 32-element group: the group's quants of the 16 rows unpacked once to 8 registers
// (register k: elements 4k .. 4k + 3, lane r = row r), then per token 8 dpbusd against the token's 4-byte groups
// broadcast to every lane give the 16 rows' exact sub-block sums, multiplied by the rows' sub-block scales in int32
// (vpmulld) and summed over the super-block; Q4_K's mins go through the 32-element activation sums with vpdpwssd,
// Q6_K's offset 32 through the 16-element sums. All integer, exact; then packed_k.h's float fold, bit for bit
// equal to packed_k.cpp's scalar kernels for any batch.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "kernels/cpu/ops.h"

namespace hearth::cpu::avx512 {
namespace {

// Sum of NK dpbusd of w[0 .. NK) against q[4k ..] (k < NK) in NC independent chains, added at the end (integer:
// the same sum for any NC). Prefill runs one chain per token (16 tokens' chains keep the core busy); decode's one
// token splits its chains so that the dpbusd latency does not set the pace (Q4_K_M 1.5B tg +3%).
template <int NK, int NC = 1> inline __m512i dot_chain(const __m512i* w, const int8_t* q) {
    __m512i s[NC];
    for (int c = 0; c < NC; ++c)
        s[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[c], bcast32(q + 4 * c));
    for (int k = NC; k < NK; ++k)
        s[k % NC] = _mm512_dpbusd_epi32(s[k % NC], w[k], bcast32(q + 4 * k));
    for (int c = 1; c < NC; ++c)
        s[0] = _mm512_add_epi32(s[0], s[c]);
    return s[0];
}

// Sub-block J's 8 registers of unsigned quants (Q5_K: with the fifth bits from the qh chunks at 2368).
template <bool kQ5, int J> inline void unpack_k4(const uint8_t* col, __m512i w[8]) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const uint8_t* chunk = col + 320 + 512 * (J / 2);
    for (int k = 0; k < 8; ++k) {
        const __m512i v = loadu512(chunk + 64 * k);
        w[k] = _mm512_and_si512(J % 2 ? _mm512_srli_epi16(v, 4) : v, low4);
        if constexpr (kQ5) w[k] = _mm512_or_si512(w[k], fifth_bit<J>(loadu512(col + 2368 + 64 * k)));
    }
}

template <bool kQ5, int N, int J>
inline void q4_k_sub(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i w[8];
    unpack_k4<kQ5, J>(col, w);
    const __m512i sc = _mm512_cvtepu8_epi32(loadu128(col + 64 + 16 * J));
    constexpr int kChains = N == 1 ? 4 : 1;
    for (int t = 0; t < N; ++t) {
        const __m512i s = dot_chain<8, kChains>(w, act[t * act_nb + b].q + 32 * J);
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s, sc));
    }
}

template <bool kQ5, int N>
void run_q4_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride) {
    constexpr size_t kColumn = kQ5 ? 2880 : 2368;
    // Mins as int16 pairs per lane: even pairs from bytes 0, 1 of each dword, odd pairs from bytes 2, 3.
    const __m512i even =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, -128, 1, -128, 4, -128, 5, -128, 8, -128, 9, -128, 12, -128, 13, -128));
    const __m512i odd = _mm512_broadcast_i32x4(
        _mm_setr_epi8(2, -128, 3, -128, 6, -128, 7, -128, 10, -128, 11, -128, 14, -128, 15, -128));
    for (int t = 0; t < N; ++t)
        _mm512_storeu_ps(y + size_t(t) * y_stride, _mm512_setzero_ps());
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* col = group + size_t(b) * kColumn;
        __m512i isum[N];
        for (int t = 0; t < N; ++t)
            isum[t] = _mm512_setzero_si512();
        q4_k_sub<kQ5, N, 0>(col, act, act_nb, b, isum);
        q4_k_sub<kQ5, N, 1>(col, act, act_nb, b, isum);
        q4_k_sub<kQ5, N, 2>(col, act, act_nb, b, isum);
        q4_k_sub<kQ5, N, 3>(col, act, act_nb, b, isum);
        q4_k_sub<kQ5, N, 4>(col, act, act_nb, b, isum);
        q4_k_sub<kQ5, N, 5>(col, act, act_nb, b, isum);
        q4_k_sub<kQ5, N, 6>(col, act, act_nb, b, isum);
        q4_k_sub<kQ5, N, 7>(col, act, act_nb, b, isum);
        const __m512i m0 = loadu512(col + 192), m1 = loadu512(col + 256);
        const __m512i mp0 = _mm512_shuffle_epi8(m0, even), mp1 = _mm512_shuffle_epi8(m0, odd);
        const __m512i mp2 = _mm512_shuffle_epi8(m1, even), mp3 = _mm512_shuffle_epi8(m1, odd);
        const __m512 dw = _mm512_cvtph_ps(loadu256(col)), dm = _mm512_cvtph_ps(loadu256(col + 32));
        for (int t = 0; t < N; ++t) {
            const PackedActK& a = act[t * act_nb + b];
            __m512i msum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mp0, bcast32(a.bs32));
            msum = _mm512_dpwssd_epi32(msum, mp1, bcast32(a.bs32 + 2));
            msum = _mm512_dpwssd_epi32(msum, mp2, bcast32(a.bs32 + 4));
            msum = _mm512_dpwssd_epi32(msum, mp3, bcast32(a.bs32 + 6));
            const __m512 da = _mm512_set1_ps(a.d);
            float* yt = y + size_t(t) * y_stride;
            const __m512 acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, da), _mm512_loadu_ps(yt));
            _mm512_storeu_ps(yt, _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(dm, da), acc));
        }
    }
}

// High bits 2m, 2m + 1 of each byte of qh moved to bits 4, 5 (16-bit shifts of at most 4 stay within each byte's
// bits 4-5).
template <int M> inline __m512i q6_high(__m512i qh) {
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    if constexpr (M <= 2)
        return _mm512_and_si512(_mm512_slli_epi16(qh, 4 - 2 * M), bits45);
    else
        return _mm512_and_si512(_mm512_srli_epi16(qh, 2), bits45);
}

template <int N, int H, int M>
inline void q6_k_group(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    constexpr int G = 4 * H + M; // 32-element group: sub-blocks 2G (k < 4) and 2G + 1
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const uint8_t* ql = col + 288 + 1024 * H + 512 * (M & 1);
    const uint8_t* qh = col + 2336 + 512 * H;
    __m512i w[8];
    for (int k = 0; k < 8; ++k) {
        const __m512i l = loadu512(ql + 64 * k);
        const __m512i lo = _mm512_and_si512(M >= 2 ? _mm512_srli_epi16(l, 4) : l, low4);
        w[k] = _mm512_or_si512(lo, q6_high<M>(loadu512(qh + 64 * k)));
    }
    const __m512i sc_a = _mm512_cvtepi8_epi32(loadu128(col + 32 + 16 * (2 * G)));
    const __m512i sc_b = _mm512_cvtepi8_epi32(loadu128(col + 32 + 16 * (2 * G + 1)));
    for (int t = 0; t < N; ++t) {
        const int8_t* q = act[t * act_nb + b].q + 32 * G;
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dot_chain<4>(w, q), sc_a));
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dot_chain<4>(w + 4, q + 16), sc_b));
    }
}

// The 16 rows' signed byte scales of sub-blocks 2m, 2m + 1 (at 32 + 16 j: Q6_K's and IQ4_XS's layouts) as int16
// pairs (sc[2m] | sc[2m + 1] << 16 per lane) for vpdpwssd.
inline __m512i q6_scale_pair(const uint8_t* col, int m) {
    const __m512i lo = _mm512_cvtepi8_epi32(loadu128(col + 32 + 32 * m));
    const __m512i hi = _mm512_cvtepi8_epi32(loadu128(col + 48 + 32 * m));
    return _mm512_or_si512(_mm512_and_si512(lo, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(hi, 16));
}

// A K-quant's offset through the activation sums: isum -= (sum_m dpwssd(scale pair m, sums 2m, 2m + 1)) << kShift,
// NP scale pairs (q6_scale_pair) per super-block. Q6_K: 8 pairs against the 16-element sums, offset 32 (shift 5);
// IQ4_XS: 4 pairs against the 32-element sums, offset 128 (shift 7).
template <int N, int NP, int kShift>
inline void scale_offset(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i sp[NP];
    for (int m = 0; m < NP; ++m)
        sp[m] = q6_scale_pair(col, m);
    for (int t = 0; t < N; ++t) {
        const PackedActK& a = act[t * act_nb + b];
        const int16_t* sums = NP == 8 ? a.bs16 : a.bs32;
        __m512i o = _mm512_dpwssd_epi32(_mm512_setzero_si512(), sp[0], bcast32(sums));
        for (int m = 1; m < NP; ++m)
            o = _mm512_dpwssd_epi32(o, sp[m], bcast32(sums + 2 * m));
        isum[t] = _mm512_sub_epi32(isum[t], _mm512_slli_epi32(o, kShift));
    }
}

template <int N>
void run_q6_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride) {
    for (int t = 0; t < N; ++t)
        _mm512_storeu_ps(y + size_t(t) * y_stride, _mm512_setzero_ps());
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* col = group + size_t(b) * 3360;
        __m512i isum[N];
        for (int t = 0; t < N; ++t)
            isum[t] = _mm512_setzero_si512();
        scale_offset<N, 8, 5>(col, act, act_nb, b, isum);
        q6_k_group<N, 0, 0>(col, act, act_nb, b, isum);
        q6_k_group<N, 0, 1>(col, act, act_nb, b, isum);
        q6_k_group<N, 0, 2>(col, act, act_nb, b, isum);
        q6_k_group<N, 0, 3>(col, act, act_nb, b, isum);
        q6_k_group<N, 1, 0>(col, act, act_nb, b, isum);
        q6_k_group<N, 1, 1>(col, act, act_nb, b, isum);
        q6_k_group<N, 1, 2>(col, act, act_nb, b, isum);
        q6_k_group<N, 1, 3>(col, act, act_nb, b, isum);
        const __m512 dw = _mm512_cvtph_ps(loadu256(col));
        for (int t = 0; t < N; ++t) {
            float* yt = y + size_t(t) * y_stride;
            const __m512 da = _mm512_set1_ps(act[t * act_nb + b].d);
            _mm512_storeu_ps(yt,
                             _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, da), _mm512_loadu_ps(yt)));
        }
    }
}

// IQ4_XS sub-block J's 8 registers: the nibbles looked up in the codebook (+ 128, unsigned).
template <int J> inline void unpack_iq4_xs(const uint8_t* col, __m512i table, __m512i w[8]) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const uint8_t* chunk = col + 160 + 256 * J;
    for (int k = 0; k < 4; ++k) {
        const __m512i v = loadu512(chunk + 64 * k);
        w[k] = _mm512_shuffle_epi8(table, _mm512_and_si512(v, low4));
        w[4 + k] = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), low4));
    }
}

template <int N, int J>
inline void iq4_xs_sub(const uint8_t* col, __m512i table, const PackedActK* act, int64_t act_nb, int64_t b,
                       __m512i* isum) {
    __m512i w[8];
    unpack_iq4_xs<J>(col, table, w);
    const __m512i sc = _mm512_cvtepi8_epi32(loadu128(col + 32 + 16 * J));
    for (int t = 0; t < N; ++t)
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dot_chain<8>(w, act[t * act_nb + b].q + 32 * J), sc));
}

template <int N>
void run_iq4_xs(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride) {
    const __m512i table = iq4nl_table();
    for (int t = 0; t < N; ++t)
        _mm512_storeu_ps(y + size_t(t) * y_stride, _mm512_setzero_ps());
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* col = group + size_t(b) * 2208;
        __m512i isum[N];
        for (int t = 0; t < N; ++t)
            isum[t] = _mm512_setzero_si512();
        iq4_xs_sub<N, 0>(col, table, act, act_nb, b, isum);
        iq4_xs_sub<N, 1>(col, table, act, act_nb, b, isum);
        iq4_xs_sub<N, 2>(col, table, act, act_nb, b, isum);
        iq4_xs_sub<N, 3>(col, table, act, act_nb, b, isum);
        iq4_xs_sub<N, 4>(col, table, act, act_nb, b, isum);
        iq4_xs_sub<N, 5>(col, table, act, act_nb, b, isum);
        iq4_xs_sub<N, 6>(col, table, act, act_nb, b, isum);
        iq4_xs_sub<N, 7>(col, table, act, act_nb, b, isum);
        scale_offset<N, 4, 7>(col, act, act_nb, b, isum); // offset 128
        const __m512 dw = _mm512_cvtph_ps(loadu256(col));
        for (int t = 0; t < N; ++t) {
            const PackedActK& a = act[t * act_nb + b];
            const __m512i s = isum[t];
            float* yt = y + size_t(t) * y_stride;
            const __m512 da = _mm512_set1_ps(a.d);
            _mm512_storeu_ps(yt, _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, da), _mm512_loadu_ps(yt)));
        }
    }
}

// The kernel for N tokens: Q4_K (kType 4) / Q5_K (5), Q6_K (6), or IQ4_XS (0).
template <int kType> struct KQuant {
    template <int N>
    static void run(int64_t nb, const uint8_t* g, const PackedActK* a, int64_t act_nb, float* y, size_t ys) {
        if constexpr (kType == 6)
            run_q6_k<N>(nb, g, a, act_nb, y, ys);
        else if constexpr (kType == 0) // IQ4_XS
            run_iq4_xs<N>(nb, g, a, act_nb, y, ys);
        else
            run_q4_k<kType == 5, N>(nb, g, a, act_nb, y, ys);
    }
};

template <int kType>
void gemm(int64_t nb, const uint8_t* group, const void* act, int64_t act_nb, int n_tok, float* y, size_t y_stride) {
    for (; n_tok >= 16; n_tok -= 16, act = static_cast<const PackedActK*>(act) + 16 * act_nb, y += 16 * y_stride)
        KQuant<kType>::template run<16>(nb, group, static_cast<const PackedActK*>(act), act_nb, y, y_stride);
    for_token_tiles(static_cast<const PackedActK*>(act), act_nb, n_tok, y, y_stride,
                    [&]<int N>(const PackedActK* a, float* yt) {
                        KQuant<kType>::template run<N>(nb, group, a, act_nb, yt, y_stride);
                    });
}

} // namespace

void gemm_x16_q4_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys) {
    gemm<4>(nb, g, a, act_nb, n, y, ys);
}
void gemm_x16_q5_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys) {
    gemm<5>(nb, g, a, act_nb, n, y, ys);
}
void gemm_x16_q6_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys) {
    gemm<6>(nb, g, a, act_nb, n, y, ys);
}
void gemm_x16_iq4_xs(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys) {
    gemm<0>(nb, g, a, act_nb, n, y, ys);
}

} // namespace hearth::cpu::avx512
