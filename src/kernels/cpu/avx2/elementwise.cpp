// kernels/cpu/avx2/elementwise.cpp: the table's elementwise ops with AVX2 + FMA (ops.h).
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "kernels/cpu/scalar_dot.h"

namespace hearth::cpu::avx2 {
namespace {

inline __m256 silu_mul8(__m256 g, __m256 u) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

} // namespace

void silu_mul(float* gate, const float* up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(gate + i, silu_mul8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) { // the tail through the same vector code
        alignas(32) float g[8] = {}, u[8] = {};
        for (int64_t k = i; k < n; ++k)
            g[k - i] = gate[k], u[k - i] = up[k];
        _mm256_store_ps(g, silu_mul8(_mm256_load_ps(g), _mm256_load_ps(u)));
        for (int64_t k = i; k < n; ++k)
            gate[k] = g[k - i];
    }
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    // Element i into double lane i % 8 (lo: 0-3, hi: 4-7) in increasing i: the reference's 8 partial sums.
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 sq = _mm256_mul_ps(v, v);
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
    }
    alignas(32) double p[8];
    _mm256_store_pd(p, lo);
    _mm256_store_pd(p + 4, hi);
    for (; i < n; ++i)
        p[i % 8] += static_cast<double>(x[i] * x[i]);
    const float scale = scalar::rms_norm_scale(scalar::rms_norm_combine(p), n, eps);
    const __m256 s = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
    for (; i < n; ++i)
        y[i] = (x[i] * scale) * w[i];
}

void rope(float* x, int32_t n_heads, int32_t head_dim, int32_t half, const float* cos, const float* sin, bool neox) {
    // Each lane does the reference's products and sum, each rounded once (no fma): the same bits as scalar::rope.
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    for (int32_t h = 0; h < n_heads; ++h) {
        float* v = x + int64_t{h} * head_dim;
        int32_t i = 0;
        if (neox) {
            for (; i + 8 <= half; i += 8) {
                const __m256 a = _mm256_loadu_ps(v + i), b = _mm256_loadu_ps(v + half + i);
                const __m256 c = _mm256_loadu_ps(cos + i), s = _mm256_loadu_ps(sin + i);
                _mm256_storeu_ps(v + i, _mm256_sub_ps(_mm256_mul_ps(a, c), _mm256_mul_ps(b, s)));
                _mm256_storeu_ps(v + half + i, _mm256_add_ps(_mm256_mul_ps(a, s), _mm256_mul_ps(b, c)));
            }
        } else {
            for (; i + 4 <= half; i += 4) { // 4 pairs: even lanes x0 c - x1 s, odd lanes x1 c + x0 s
                const __m256 xv = _mm256_loadu_ps(v + 2 * i);
                const __m256 c = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(cos + i)), dup);
                const __m256 s = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(sin + i)), dup);
                const __m256 pc = _mm256_mul_ps(xv, c), ps = _mm256_mul_ps(_mm256_permute_ps(xv, 0xB1), s);
                _mm256_storeu_ps(v + 2 * i, _mm256_blend_ps(_mm256_sub_ps(pc, ps), _mm256_add_ps(pc, ps), 0xAA));
            }
        }
        scalar::rope_pairs(v, i, half, cos, sin, neox);
    }
}

} // namespace hearth::cpu::avx2
