// kernels/cpu/avx2/attend.cpp: ops.h's attend_f16 with AVX2 + FMA + F16C.
//
// As the AVX-512 kernel (avx512/attend.cpp), 8 lanes wide: each K / V row is read once for all the queries of a
// group. Per query the arithmetic depends on dim_k, dim_v and n_keys only:
//   - score: one fma chain over the key in 8-lane chunks, hsum, then the dim_k % 8 tail in scalar fma order;
//   - softmax: max, exp8 (Cephes' expf polynomial), a float sum in 8 lanes over the keys in order (the n % 8
//     tail added in scalar), weights times 1/sum rounded to f16;
//   - output: per element one fma per key in row order from 0.
#include "kernels/cpu/attend_util.h"
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"

#include <algorithm>
#include <cmath>

namespace hearth::cpu::avx2 {
namespace {

inline __m256 load_h8(const uint16_t* p) {
    return _mm256_cvtph_ps(loadu128(p));
}

inline float round_f16(float x) {
    return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

template <int NQ, int KB> void scores(const AttnGroup& g, const float* qh, int64_t qs, float* s, int64_t ss) {
    const int64_t nc = g.dim_k / 8;
    int64_t j = 0;
    for (; j + KB <= g.n_keys; j += KB) {
        __m256 acc[KB][NQ];
        for (int b = 0; b < KB; ++b)
            for (int i = 0; i < NQ; ++i)
                acc[b][i] = _mm256_setzero_ps();
        for (int64_t c = 0; c < nc; ++c)
            for (int b = 0; b < KB; ++b) {
                const __m256 kc = load_h8(g.k + (j + b) * g.k_stride + 8 * c);
                for (int i = 0; i < NQ; ++i)
                    acc[b][i] = _mm256_fmadd_ps(kc, _mm256_loadu_ps(qh + i * qs + 8 * c), acc[b][i]);
            }
        for (int b = 0; b < KB; ++b) {
            const uint16_t* k = g.k + (j + b) * g.k_stride;
            for (int i = 0; i < NQ; ++i) {
                float sum = hsum(acc[b][i]);
                for (int64_t d = 8 * nc; d < g.dim_k; ++d)
                    sum = std::fma(half_to_f32(k[d]), qh[i * qs + d], sum);
                s[i * ss + j + b] = sum * g.scale;
            }
        }
    }
    if constexpr (KB > 1)
        if (j < g.n_keys) {
            AttnGroup rest = g;
            rest.k = g.k + j * g.k_stride;
            rest.n_keys = g.n_keys - j;
            scores<NQ, 1>(rest, qh, qs, s + j, ss);
        }
}

void softmax_f16(float* s, int64_t n) {
    const int64_t n8 = n / 8 * 8;
    __m256 mxv = _mm256_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n8; j += 8)
        mxv = _mm256_max_ps(mxv, _mm256_loadu_ps(s + j));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mxv), _mm256_extractf128_ps(mxv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    float mx = _mm_cvtss_f32(m4);
    for (int64_t j = n8; j < n; ++j)
        mx = std::max(mx, s[j]);
    const __m256 m = _mm256_set1_ps(mx);
    __m256 sumv = _mm256_setzero_ps();
    for (int64_t j = 0; j < n8; j += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
        _mm256_storeu_ps(s + j, e);
        sumv = _mm256_add_ps(sumv, e);
    }
    float sum = hsum(sumv);
    if (n8 < n) {
        alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t j = n8; j < n; ++j)
            t[j - n8] = s[j] - mx;
        _mm256_store_ps(t, exp8(_mm256_load_ps(t)));
        for (int64_t j = n8; j < n; ++j) {
            s[j] = t[j - n8];
            sum += s[j];
        }
    }
    const float inv = 1.0f / sum;
    const __m256 iv = _mm256_set1_ps(inv);
    for (int64_t j = 0; j < n8; j += 8) {
        const __m128i h =
            _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(s + j), iv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_ps(s + j, _mm256_cvtph_ps(h));
    }
    for (int64_t j = n8; j < n; ++j)
        s[j] = round_f16(s[j] * inv);
}

template <int NQ, int CB> void weighted_sum(const AttnGroup& g, const float* p, int64_t ps) {
    const int64_t d8 = g.dim_v / 8 * 8;
    int64_t e0 = 0;
    for (; e0 + 8 * CB <= d8; e0 += 8 * CB) {
        __m256 acc[NQ][CB];
        for (int i = 0; i < NQ; ++i)
            for (int c = 0; c < CB; ++c)
                acc[i][c] = _mm256_setzero_ps();
        for (int64_t j = 0; j < g.n_keys; ++j) {
            const uint16_t* v = g.v + j * g.v_stride + e0;
            __m256 vc[CB];
            for (int c = 0; c < CB; ++c)
                vc[c] = load_h8(v + 8 * c);
            for (int i = 0; i < NQ; ++i) {
                const __m256 pij = _mm256_broadcast_ss(p + i * ps + j);
                for (int c = 0; c < CB; ++c)
                    acc[i][c] = _mm256_fmadd_ps(pij, vc[c], acc[i][c]);
            }
        }
        for (int i = 0; i < NQ; ++i)
            for (int c = 0; c < CB; ++c)
                _mm256_storeu_ps(g.out + i * g.out_stride + e0 + 8 * c, acc[i][c]);
    }
    if constexpr (CB > 1)
        if (e0 < d8) { // whole 8-lane vectors left over
            AttnGroup rest = g;
            rest.v = g.v + e0;
            rest.out = g.out + e0;
            rest.dim_v = g.dim_v - e0;
            weighted_sum<NQ, 1>(rest, p, ps);
            return;
        }
    for (int i = 0; i < NQ; ++i) { // the dim_v % 8 tail
        float* out = g.out + i * g.out_stride;
        for (int64_t e = d8; e < g.dim_v; ++e)
            out[e] = 0.0f;
        for (int64_t j = 0; j < g.n_keys; ++j) {
            const float pij = p[i * ps + j];
            const uint16_t* v = g.v + j * g.v_stride;
            for (int64_t e = d8; e < g.dim_v; ++e)
                out[e] = std::fma(pij, half_to_f32(v[e]), out[e]);
        }
    }
}

template <int NQ> void round_queries(const AttnGroup& g, float* qh, int64_t qs) {
    for (int i = 0; i < NQ; ++i)
        for (int64_t d = 0; d < g.dim_k; ++d)
            qh[i * qs + d] = round_f16(g.q[i * g.q_stride + d]);
}

// attend_with's pieces (attend_util.h).
struct Isa {
    template <int NQ> static void round_queries(const AttnGroup& g, float* qh, int64_t qs) {
        hearth::cpu::avx2::round_queries<NQ>(g, qh, qs);
    }
    template <int NQ, int KB>
    static void scores(const AttnGroup& g, const float* qh, int64_t qs, float* s, int64_t ss) {
        hearth::cpu::avx2::scores<NQ, KB>(g, qh, qs, s, ss);
    }
    static void softmax_f16(float* s, int64_t n) { hearth::cpu::avx2::softmax_f16(s, n); }
    template <int NQ, int CB> static void weighted_sum(const AttnGroup& g, const float* p, int64_t ps) {
        hearth::cpu::avx2::weighted_sum<NQ, CB>(g, p, ps);
    }
    static constexpr int columns(int NQ) { return NQ >= 4 ? 1 : 2; }
};

} // namespace

void attend_f16(const AttnGroup& g, float* scratch) {
    attend_with<Isa>(g, scratch);
}

} // namespace hearth::cpu::avx2
