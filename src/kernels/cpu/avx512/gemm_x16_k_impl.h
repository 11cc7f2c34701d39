// kernels/cpu/avx512/gemm_x16_k_impl.h: AVX-512 VNNI kernels over x16-packed K-quant and IQ4_XS weights
// (packed_k.h), included by gemm_x16_k.cpp (every type) and gemm_x16_k_gfni.cpp (Q5_K again, compiled with -mgfni:
// its fifth bits moved into place with one GF2P8AFFINEQB each; HEARTH_X16_K_GFNI set there).
//
// Per super-block column and 32-element group: the group's quants of the 16 rows unpacked once to 8 registers
// (register k: elements 4k .. 4k + 3, lane r = row r), then per token 8 dpbusd against the token's 4-byte groups
// broadcast to every lane give the 16 rows' exact sub-block sums, multiplied by the rows' sub-block scales in int32
// (vpmulld) and summed over the super-block; Q4_K's mins go through the 32-element activation sums with vpdpwssd,
// Q2_K's mins and Q3_K's offset 4 through the 16-element sums; Q6_K's offset 32 starts each sub-block's dpbusd chain
// at -32 x its 16-element sum (PackedActK::q6_off). All integer, exact; then
// packed_k.h's float fold, bit for bit equal to packed_k.cpp's scalar kernels for any batch.
#pragma once

#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/packed_k.h"
#include "kernels/cpu/x16_tiles.h"

#include <cstddef>
#include <utility>

namespace hearth::cpu::avx512 {
namespace {

// Sum of NK dpbusd of w[0 .. NK) against q[4k ..] (k < NK) in NC independent chains, added at the end (integer:
// the same sum for any NC). Prefill runs one chain per token (16 tokens' chains keep the core busy); decode's one
// token splits its chains so that the dpbusd latency does not set the pace (Q4_K_M 1.5B tg +3%).
// `init` starts the first chain (Q6_K: its offset's share of the sub-block sum).
template <int NK, int NC = 1>
inline __m512i dot_chain(const __m512i* w, const int8_t* q, __m512i init = _mm512_setzero_si512()) {
    __m512i s[NC];
    for (int c = 0; c < NC; ++c)
        s[c] = _mm512_dpbusd_epi32(c == 0 ? init : _mm512_setzero_si512(), w[c], bcast32(q + 4 * c));
    for (int k = NC; k < NK; ++k)
        s[k % NC] = _mm512_dpbusd_epi32(s[k % NC], w[k], bcast32(q + 4 * k));
    for (int c = 1; c < NC; ++c)
        s[0] = _mm512_add_epi32(s[0], s[c]);
    return s[0];
}

// isum += v. Decode's one token keeps the super-block's sum a chain (opaque): GCC reassociated the integer adds into
// a tree whose 8-16 parts all lived at once and spilled 30-50 registers a column. Prefill's 16 sums keep their freedom.
template <int N> inline void add_isum(__m512i& isum, __m512i v) {
    isum = _mm512_add_epi32(isum, v);
    if constexpr (N == 1) isum = opaque(isum);
}

// Sub-block J's 8 registers of Q4_K's unsigned quants (odd J: 16 x the quant, in the high nibble).
template <int J> inline void unpack_q4_k(const uint8_t* col, __m512i w[8]) {
    const uint8_t* chunk = col + packed_k::kQ4KQs + 512 * (J / 2);
    for (int k = 0; k < 8; ++k)
        w[k] = _mm512_and_si512(loadu512(chunk + 64 * k), _mm512_set1_epi8(char(J % 2 ? 0xF0 : 0x0F)));
}

// Q5_K: bit J of every byte of h moved to bit 4, the other bits 0. GFNI: one affine transform, whose matrix's byte
// 7 - i selects the input bits that make output bit i (here byte 3: bit J).
template <int J> inline __m512i fifth_bit(__m512i h) {
#ifdef HEARTH_X16_K_GFNI
    return _mm512_gf2p8affine_epi64_epi8(h, _mm512_set1_epi64(int64_t(1) << (24 + J)), 0);
#else
    return bit_to<J, 4>(h);
#endif
}

// Q5_K sub-block J's 8 registers of unsigned 5-bit quants: chunk J / 2's low (even J) or high (odd J) nibbles, with
// bit J of the column's qh registers as their fifth bits. (Unpacking sub-blocks in pairs from one read of the chunk
// ran slower: 16 live registers.)
template <int J> inline void unpack_q5_k(const uint8_t* col, __m512i w[8]) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const uint8_t* chunk = col + packed_k::kQ5KQs + 512 * (J / 2);
    for (int k = 0; k < 8; ++k) {
        const __m512i v = loadu512(chunk + 64 * k);
        const __m512i h = fifth_bit<J>(loadu512(col + packed_k::kQ5KQh + 64 * k));
#ifdef HEARTH_X16_K_GFNI
        // Bits 0-3 from the nibble, 4-7 from h (ternary 0xE4: c ? a : b).
        w[k] = _mm512_ternarylogic_epi32(J % 2 ? _mm512_srli_epi16(v, 4) : v, h, low4, 0xE4);
#else
        // And / or: the same select written as a ternary here read 17 GB/s against 22.6 (Zen 4, GCC 12).
        w[k] = _mm512_or_si512(_mm512_and_si512(J % 2 ? _mm512_srli_epi16(v, 4) : v, low4), h);
#endif
    }
}

// isum[t] += sc x (sub-block J's 8 registers w against token t's quants of that sub-block), every token; kShift:
// w is 16 x the quant (Q4_K's high nibbles), every product a multiple of 16, the sum shifted back exactly.
template <int N, int J, bool kShift = false>
inline void k_sub(const __m512i w[8], __m512i sc, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    constexpr int kChains = N == 1 ? 4 : 1;
    for (int t = 0; t < N; ++t) {
        __m512i s = dot_chain<8, kChains>(w, act[t * act_nb + b].q + 32 * J);
        if constexpr (kShift) s = _mm512_srai_epi32(s, 4);
        add_isum<N>(isum[t], _mm512_mullo_epi32(s, sc));
    }
}

// Sub-block J's 16 rows' unsigned byte scales (Q4_K's and Q5_K's layouts) as int32.
template <int J> inline __m512i k4_scale(const uint8_t* col) {
    return _mm512_cvtepu8_epi32(loadu128(col + 64 + 16 * J));
}

template <int N, int J>
inline void q4_k_sub(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i w[8];
    unpack_q4_k<J>(col, w);
    k_sub<N, J, J % 2 == 1>(w, k4_scale<J>(col), act, act_nb, b, isum);
}

template <int N, int J>
inline void q5_k_sub(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i w[8];
    unpack_q5_k<J>(col, w);
    k_sub<N, J>(w, k4_scale<J>(col), act, act_nb, b, isum);
}

// Q6_K sub-block S's 4 registers of unsigned quants from its 3 chunks (packed_k.h): chunk c's bits 0-5 are register
// c, bits 6-7 bits 2c, 2c + 1 of register 3.
template <int S> inline void unpack_q6_k(const uint8_t* col, __m512i* w) {
    const uint8_t* p = col + 288 + 192 * S;
    const __m512i x0 = loadu512(p), x1 = loadu512(p + 64), x2 = loadu512(p + 128);
    const __m512i low6 = _mm512_set1_epi8(0x3F);
    w[0] = _mm512_and_si512(x0, low6);
    w[1] = _mm512_and_si512(x1, low6);
    w[2] = _mm512_and_si512(x2, low6);
    // Bits 6-7 of x0, x1, x2 to bits 0-1, 2-3, 4-5 (16-bit shifts: the bits they bring from the next byte are masked).
    const __m512i a = _mm512_srli_epi16(x0, 6), b = _mm512_srli_epi16(x1, 4), c = _mm512_srli_epi16(x2, 2);
    const __m512i ab = _mm512_ternarylogic_epi32(a, b, _mm512_set1_epi8(0x03), 0xE4); // bits 0-1 of a, the rest of b
    w[3] = _mm512_ternarylogic_epi32(ab, c, _mm512_set1_epi8(0x0F), 0xE4);            // bits 0-3 of ab, the rest of c
    w[3] = _mm512_and_si512(w[3], low6);
}

// Sub-blocks 2G and 2G + 1 of a type with 16 sub-blocks of 16 (Q2_K, Q3_K, Q6_K): w[0..4) and w[4..8) their
// unsigned quants, sc_a and sc_b the 16 rows' scales: isum[t] += sc_a S_2G + sc_b S_2G+1 for every token (kQ6Off:
// S_j - 32 bs16[j], the chain started from the activation's q6_off[j]).
template <int N, bool kQ6Off = false>
inline void sub16_pair(const __m512i w[8], __m512i sc_a, __m512i sc_b, const PackedActK* act, int64_t act_nb, int64_t b,
                       int g, __m512i* isum) {
    for (int t = 0; t < N; ++t) {
        const PackedActK& a = act[t * act_nb + b];
        const int8_t* q = a.q + 32 * g;
        const __m512i init_a = kQ6Off ? _mm512_set1_epi32(a.q6_off[2 * g]) : _mm512_setzero_si512();
        const __m512i init_b = kQ6Off ? _mm512_set1_epi32(a.q6_off[2 * g + 1]) : _mm512_setzero_si512();
        add_isum<N>(isum[t], _mm512_mullo_epi32(dot_chain<4>(w, q, init_a), sc_a));
        add_isum<N>(isum[t], _mm512_mullo_epi32(dot_chain<4>(w + 4, q + 16, init_b), sc_b));
    }
}

// The signed byte scales of sub-blocks 2G, 2G + 1 at 32 + 16 j (Q6_K's and Q3_K's layouts), then sub16_pair.
template <int N, bool kQ6Off = false>
inline void sub16_pair_i8(const __m512i w[8], const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b,
                          int g, __m512i* isum) {
    sub16_pair<N, kQ6Off>(w, _mm512_cvtepi8_epi32(loadu128(col + 32 + 32 * g)),
                          _mm512_cvtepi8_epi32(loadu128(col + 48 + 32 * g)), act, act_nb, b, g, isum);
}

template <int N, int G>
inline void q6_k_group(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i w[8];
    unpack_q6_k<2 * G>(col, w);
    unpack_q6_k<2 * G + 1>(col, w + 4);
    sub16_pair_i8<N, true>(w, col, act, act_nb, b, G, isum);
}

// Group G's low 2 bits from a 2-bit plane (Q2_K, Q3_K: packed_k.h): bits 2 (G % 4) of the chunk of half G / 4.
template <int G> inline __m512i low2(const uint8_t* plane, int k) {
    const __m512i v = loadu512(plane + 512 * (G / 4) + 64 * k);
    return _mm512_and_si512(_mm512_srli_epi16(v, 2 * (G % 4)), _mm512_set1_epi8(3));
}

template <int N, int G>
inline void q3_k_group(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i w[8];
    for (int k = 0; k < 8; ++k)
        w[k] = _mm512_or_si512(low2<G>(col + 288, k), bit_to<G, 2>(loadu512(col + 1312 + 64 * k)) /* the high bit */);
    sub16_pair_i8<N>(w, col, act, act_nb, b, G, isum);
}

template <int N, int G>
inline void q2_k_group(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i w[8];
    for (int k = 0; k < 8; ++k)
        w[k] = low2<G>(col + 320, k);
    const __m512i low4 = _mm512_set1_epi32(15);
    sub16_pair<N>(w, _mm512_and_si512(_mm512_cvtepu8_epi32(loadu128(col + 64 + 32 * G)), low4),
                  _mm512_and_si512(_mm512_cvtepu8_epi32(loadu128(col + 80 + 32 * G)), low4), act, act_nb, b, G, isum);
}

// packed_k.h's fold of one super-block's isum into y for every token: y = fma(float(isum), d * d_a, y).
template <int N>
inline void fold_isum(const __m512i* isum, __m512 dw, const PackedActK* act, int64_t act_nb, int64_t b, float* y,
                      size_t y_stride) {
    for (int t = 0; t < N; ++t) {
        float* yt = y + size_t(t) * y_stride;
        const __m512 da = _mm512_set1_ps(act[t * act_nb + b].d);
        _mm512_storeu_ps(yt, _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, da), _mm512_loadu_ps(yt)));
    }
}

// sum_p dpwssd(pairs[p], the activation's sums 2p, 2p + 1) for NP int16 pair registers per lane (NP = 8: the
// 16-element sums, 4: the 32-element ones).
template <int NP> inline __m512i pair_sums(const __m512i* pairs, const PackedActK& a) {
    const int16_t* sums = NP == 8 ? a.bs16 : a.bs32;
    __m512i o = _mm512_dpwssd_epi32(_mm512_setzero_si512(), pairs[0], bcast32(sums));
    for (int p = 1; p < NP; ++p)
        o = _mm512_dpwssd_epi32(o, pairs[p], bcast32(sums + 2 * p));
    return o;
}

// The fold of the types with mins (Q2_K, Q4_K, Q5_K): msum = pair_sums(mp), y = fma(float(isum), d * d_a, y) -
// float(msum) * dmin * d_a.
template <int N, int NP>
inline void fold_isum_mins(const __m512i* isum, const __m512i* mp, const uint8_t* col, const PackedActK* act,
                           int64_t act_nb, int64_t b, float* y, size_t y_stride) {
    const __m512 dw = _mm512_cvtph_ps(loadu256(col)), dm = _mm512_cvtph_ps(loadu256(col + 32));
    for (int t = 0; t < N; ++t) {
        const PackedActK& a = act[t * act_nb + b];
        const __m512i msum = pair_sums<NP>(mp, a);
        const __m512 da = _mm512_set1_ps(a.d);
        float* yt = y + size_t(t) * y_stride;
        const __m512 acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, da), _mm512_loadu_ps(yt));
        _mm512_storeu_ps(yt, _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(dm, da), acc));
    }
}

// The 16 rows' signed byte scales of sub-blocks 2m, 2m + 1 (at 32 + 16 j: Q6_K's, Q3_K's and IQ4_XS's layouts) as int16
// pairs (sc[2m] | sc[2m + 1] << 16 per lane) for vpdpwssd.
inline __m512i q6_scale_pair(const uint8_t* col, int m) {
    const __m512i lo = _mm512_cvtepi8_epi32(loadu128(col + 32 + 32 * m));
    const __m512i hi = _mm512_cvtepi8_epi32(loadu128(col + 48 + 32 * m));
    return _mm512_or_si512(_mm512_and_si512(lo, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(hi, 16));
}

// A K-quant's offset through the activation sums: isum -= (sum_m dpwssd(scale pair m, sums 2m, 2m + 1)) << kShift,
// NP scale pairs (q6_scale_pair) per super-block. Q3_K: 8 pairs against the 16-element sums, offset 4 (shift 2);
// (Q6_K's offset 32 starts each sub-block's chain instead: sub16_pair);
// IQ4_XS: 4 pairs against the 32-element sums, offset 128 (shift 7).
template <int N, int NP, int kShift>
inline void scale_offset(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m512i* isum) {
    __m512i sp[NP];
    for (int m = 0; m < NP; ++m)
        sp[m] = q6_scale_pair(col, m);
    for (int t = 0; t < N; ++t) {
        add_isum<N>(isum[t], _mm512_sub_epi32(_mm512_setzero_si512(),
                                              _mm512_slli_epi32(pair_sums<NP>(sp, act[t * act_nb + b]), kShift)));
    }
}

// The super-block loop: y = 0, then per block column b body(col, b, isum) sums the 16 rows' isum of every token,
// folded with the rows' d (Q3_K, Q6_K, IQ4_XS); with NP > 0, mins(col, mp) gives the rows' mins as NP int16 pair
// registers for fold_isum_mins (Q2_K, Q4_K, Q5_K).
template <int N, size_t kColumn, int NP = 0, typename Body, typename Mins = std::nullptr_t>
void run_isum(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch, Body body, Mins mins = nullptr) {
    for (int t = 0; t < N; ++t)
        _mm512_storeu_ps(y + size_t(t) * y_stride, _mm512_setzero_ps());
    StreamPrefetch<kColumn, N, false> pf(group, prefetch);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* col = group + size_t(b) * kColumn;
        pf.before(col);
        __m512i isum[N];
        for (int t = 0; t < N; ++t)
            isum[t] = _mm512_setzero_si512();
        body(col, b, isum);
        if constexpr (NP == 0) {
            fold_isum<N>(isum, _mm512_cvtph_ps(loadu256(col)), act, act_nb, b, y, y_stride);
        } else {
            __m512i mp[NP];
            mins(col, mp);
            fold_isum_mins<N, NP>(isum, mp, col, act, act_nb, b, y, y_stride);
        }
    }
}

template <bool kQ5, int N>
void run_q4_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    // Mins as int16 pairs per lane: even pairs from bytes 0, 1 of each dword, odd pairs from bytes 2, 3.
    const __m512i even =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, -128, 1, -128, 4, -128, 5, -128, 8, -128, 9, -128, 12, -128, 13, -128));
    const __m512i odd = _mm512_broadcast_i32x4(
        _mm_setr_epi8(2, -128, 3, -128, 6, -128, 7, -128, 10, -128, 11, -128, 14, -128, 15, -128));
    run_isum<N, kQ5 ? packed_k::kQ5KColumn : packed_k::kQ4KColumn, 4>(
        nb, group, act, act_nb, y, y_stride, prefetch,
        [&](const uint8_t* col, int64_t b, __m512i* isum) {
            for_groups([&]<int J>() {
                if constexpr (kQ5)
                    q5_k_sub<N, J>(col, act, act_nb, b, isum);
                else
                    q4_k_sub<N, J>(col, act, act_nb, b, isum);
            });
        },
        [&](const uint8_t* col, __m512i* mp) {
            const __m512i m0 = loadu512(col + 192), m1 = loadu512(col + 256);
            mp[0] = _mm512_shuffle_epi8(m0, even);
            mp[1] = _mm512_shuffle_epi8(m0, odd);
            mp[2] = _mm512_shuffle_epi8(m1, even);
            mp[3] = _mm512_shuffle_epi8(m1, odd);
        });
}

template <int N>
void run_q6_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    run_isum<N, 3360>(nb, group, act, act_nb, y, y_stride, prefetch, [&](const uint8_t* col, int64_t b, __m512i* isum) {
        for_groups([&]<int G>() { q6_k_group<N, G>(col, act, act_nb, b, isum); });
    });
}

template <int N>
void run_q3_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    run_isum<N, 1824>(nb, group, act, act_nb, y, y_stride, prefetch, [&](const uint8_t* col, int64_t b, __m512i* isum) {
        scale_offset<N, 8, 2>(col, act, act_nb, b, isum); // offset 4
        for_groups([&]<int G>() { q3_k_group<N, G>(col, act, act_nb, b, isum); });
    });
}

template <int N>
void run_q2_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    run_isum<N, 1344, 8>(
        nb, group, act, act_nb, y, y_stride, prefetch,
        [&](const uint8_t* col, int64_t b, __m512i* isum) {
            for_groups([&]<int G>() { q2_k_group<N, G>(col, act, act_nb, b, isum); });
        },
        [&](const uint8_t* col, __m512i* mp) {
            // The mins (high nibbles of the scale bytes) as int16 pairs m[2p] | m[2p + 1] << 16 against the
            // 16-element sums.
            for (int p = 0; p < 8; ++p) {
                const __m512i lo = _mm512_srli_epi32(_mm512_cvtepu8_epi32(loadu128(col + 64 + 32 * p)), 4);
                const __m512i hi = _mm512_srli_epi32(_mm512_cvtepu8_epi32(loadu128(col + 80 + 32 * p)), 4);
                mp[p] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
            }
        });
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
        add_isum<N>(isum[t], _mm512_mullo_epi32(dot_chain<8>(w, act[t * act_nb + b].q + 32 * J), sc));
}

template <int N>
void run_iq4_xs(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
                bool prefetch) {
    const __m512i table = iq4nl_table();
    run_isum<N, 2208>(nb, group, act, act_nb, y, y_stride, prefetch, [&](const uint8_t* col, int64_t b, __m512i* isum) {
        for_groups([&]<int J>() { iq4_xs_sub<N, J>(col, table, act, act_nb, b, isum); });
        scale_offset<N, 4, 7>(col, act, act_nb, b, isum); // offset 128
    });
}

// The kernel for N tokens: Q2_K (kType 2), Q3_K (3), Q4_K (4) / Q5_K (5), Q6_K (6), or IQ4_XS (0).
template <int kType> struct KQuant {
    template <int N>
    static void run(int64_t nb, const uint8_t* g, const PackedActK* a, int64_t act_nb, float* y, size_t ys,
                    bool prefetch) {
        if constexpr (kType == 6)
            run_q6_k<N>(nb, g, a, act_nb, y, ys, prefetch);
        else if constexpr (kType == 3)
            run_q3_k<N>(nb, g, a, act_nb, y, ys, prefetch);
        else if constexpr (kType == 2)
            run_q2_k<N>(nb, g, a, act_nb, y, ys, prefetch);
        else if constexpr (kType == 0) // IQ4_XS
            run_iq4_xs<N>(nb, g, a, act_nb, y, ys, prefetch);
        else
            run_q4_k<kType == 5, N>(nb, g, a, act_nb, y, ys, prefetch);
    }
};

template <int kType>
void gemm_k(int64_t nb, const uint8_t* group, const void* act, int64_t act_nb, int n_tok, float* y, size_t y_stride,
            bool prefetch) {
    // Decode's one token as its own call, built for that (the call token_tiles makes for one token; Q5_K's stream
    // read 12-13 GB/s through token_tiles and 19-24 this way on Zen 4: STATUS.md).
    if (n_tok == 1) {
        alignas(64) float sums[16];
        KQuant<kType>::template run<1>(nb, group, static_cast<const PackedActK*>(act), 1, sums, 16, prefetch);
        store_result(y, _mm512_load_ps(sums));
        return;
    }
    token_tiles<16>(static_cast<const PackedActK*>(act), act_nb, n_tok, y, y_stride,
                    [&]<int N>(const PackedActK* a, float* yt) {
                        if constexpr (N <= kPrefetchFarTokens) {
                            // Decode sums in a buffer on the stack (its lines stay in L1), then writes y once.
                            alignas(64) float sums[N][16];
                            KQuant<kType>::template run<N>(nb, group, a, act_nb, sums[0], 16, prefetch);
                            for (int t = 0; t < N; ++t)
                                store_result(yt + size_t(t) * y_stride, _mm512_load_ps(sums[t]));
                        } else {
                            KQuant<kType>::template run<N>(nb, group, a, act_nb, yt, y_stride, prefetch);
                        }
                    });
}

} // namespace

#ifdef HEARTH_X16_K_GFNI
HEARTH_X16_GFNI_TYPES(HEARTH_X16_DEFINE_K)
#else
HEARTH_X16_K_TYPES(HEARTH_X16_DEFINE_K)
#endif

} // namespace hearth::cpu::avx512
