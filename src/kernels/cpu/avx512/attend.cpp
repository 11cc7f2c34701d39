// kernels/cpu/avx512/attend.cpp: ops.h's attend_f16 with AVX-512 (F, BW, VL).
//
// A K/V row is read from the cache once for all the queries of a group (up to kAttnMaxQ heads of one token that
// share the cache head): each key row is widened to floats 16 lanes at a time and multiplied into every query's
// accumulator; each V row likewise into every query's output columns. Per query the arithmetic is fixed by
// dim_k, dim_v and n_keys alone (the group size only changes which registers hold it), so results do not depend on
// the group or on how a caller splits it:
//   - score: one fma chain over the key in 16-lane chunks (the last chunk masked), then _mm512_reduce_add_ps;
//   - softmax: max, exp (exp16, util.h: Cephes' polynomial, within 2 ulp of expf), a float sum in 16 lanes over
//     the keys in order then reduced, weights times 1/sum rounded to f16;
//   - output: per element one fma per key in row order from 0 (as the scalar reference, without its rounding of
//     each product).
#include "kernels/cpu/attend_util.h"
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"

#include <algorithm>
#include <cmath>

namespace hearth::cpu::avx512 {
namespace {

inline __mmask16 tail_mask(int64_t n) {
    return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
}

inline __m512 load_h16(const uint16_t* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

// Scores of NQ queries (qh: rows of qs floats, f16-rounded) against KB keys at a time.
template <int NQ, int KB> void scores(const AttnGroup& g, const float* qh, int64_t qs, float* s, int64_t ss) {
    const int64_t nc = (g.dim_k + 15) / 16;
    const __mmask16 last = tail_mask(g.dim_k - 16 * (nc - 1));
    int64_t j = 0;
    for (; j + KB <= g.n_keys; j += KB) {
        __m512 acc[KB][NQ];
        for (int b = 0; b < KB; ++b)
            for (int i = 0; i < NQ; ++i)
                acc[b][i] = _mm512_setzero_ps();
        for (int64_t c = 0; c < nc; ++c) {
            const __mmask16 m = c + 1 < nc ? __mmask16(0xFFFF) : last;
            for (int b = 0; b < KB; ++b) {
                const __m512 kc = load_h16(g.k + (j + b) * g.k_stride + 16 * c, m);
                for (int i = 0; i < NQ; ++i)
                    acc[b][i] = _mm512_fmadd_ps(kc, _mm512_loadu_ps(qh + i * qs + 16 * c), acc[b][i]);
            }
        }
        for (int b = 0; b < KB; ++b)
            for (int i = 0; i < NQ; ++i)
                s[i * ss + j + b] = _mm512_reduce_add_ps(acc[b][i]) * g.scale;
    }
    if constexpr (KB > 1)
        if (j < g.n_keys) {
            AttnGroup rest = g;
            rest.k = g.k + j * g.k_stride;
            rest.n_keys = g.n_keys - j;
            scores<NQ, 1>(rest, qh, qs, s + j, ss);
        }
}

// Softmax of one row of n scores in place: weights rounded to f16, kept as floats.
void softmax_f16(float* s, int64_t n) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n; j += 16)
        mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail_mask(n - j), s + j));
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 k = tail_mask(n - j);
        const __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), m)));
        _mm512_mask_storeu_ps(s + j, k, e);
        sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 k = tail_mask(n - j);
        const __m256i h = _mm512_cvtps_ph(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, s + j), inv),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm512_mask_storeu_ps(s + j, k, _mm512_cvtph_ps(h));
    }
}

// out_i = sum_j p_ij v_j for NQ queries, CB 16-column vectors of the output at a time.
template <int NQ, int CB> void weighted_sum(const AttnGroup& g, const float* p, int64_t ps) {
    for (int64_t e0 = 0; e0 < g.dim_v; e0 += 16 * CB) {
        __mmask16 m[CB];
        for (int c = 0; c < CB; ++c)
            m[c] = e0 + 16 * c < g.dim_v ? tail_mask(g.dim_v - e0 - 16 * c) : __mmask16(0);
        __m512 acc[NQ][CB];
        for (int i = 0; i < NQ; ++i)
            for (int c = 0; c < CB; ++c)
                acc[i][c] = _mm512_setzero_ps();
        for (int64_t j = 0; j < g.n_keys; ++j) {
            const uint16_t* v = g.v + j * g.v_stride + e0;
            __m512 vc[CB];
            for (int c = 0; c < CB; ++c)
                vc[c] = load_h16(v + 16 * c, m[c]);
            for (int i = 0; i < NQ; ++i) {
                const __m512 pij = _mm512_set1_ps(p[i * ps + j]);
                for (int c = 0; c < CB; ++c)
                    acc[i][c] = _mm512_fmadd_ps(pij, vc[c], acc[i][c]);
            }
        }
        for (int i = 0; i < NQ; ++i)
            for (int c = 0; c < CB; ++c)
                _mm512_mask_storeu_ps(g.out + i * g.out_stride + e0 + 16 * c, m[c], acc[i][c]);
    }
}

template <int NQ> void round_queries(const AttnGroup& g, float* qh, int64_t qs) {
    for (int i = 0; i < NQ; ++i)
        for (int64_t d = 0; d < g.dim_k; d += 16) {
            const __mmask16 k = tail_mask(g.dim_k - d);
            const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, g.q + i * g.q_stride + d),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm512_storeu_ps(qh + i * qs + d, _mm512_cvtph_ps(h)); // zeros past dim_k
        }
}

// attend_with's pieces (attend_util.h).
struct Isa {
    template <int NQ> static void round_queries(const AttnGroup& g, float* qh, int64_t qs) {
        hearth::cpu::avx512::round_queries<NQ>(g, qh, qs);
    }
    template <int NQ, int KB>
    static void scores(const AttnGroup& g, const float* qh, int64_t qs, float* s, int64_t ss) {
        hearth::cpu::avx512::scores<NQ, KB>(g, qh, qs, s, ss);
    }
    static void softmax_f16(float* s, int64_t n) { hearth::cpu::avx512::softmax_f16(s, n); }
    template <int NQ, int CB> static void weighted_sum(const AttnGroup& g, const float* p, int64_t ps) {
        hearth::cpu::avx512::weighted_sum<NQ, CB>(g, p, ps);
    }
    static constexpr int columns(int NQ) { return NQ >= 4 ? 2 : 4; }
};

} // namespace

void attend_f16(const AttnGroup& g, float* scratch) {
    attend_with<Isa>(g, scratch);
}

} // namespace hearth::cpu::avx512
