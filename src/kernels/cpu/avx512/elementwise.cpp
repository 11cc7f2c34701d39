// kernels/cpu/avx512/elementwise.cpp: the table's elementwise ops with AVX-512 F (ops.h).
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "kernels/cpu/scalar_dot.h"

namespace hearth::cpu::avx512 {

void silu_mul(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        const __m512 r =
            _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), _mm512_maskz_loadu_ps(m, up + i));
        _mm512_mask_storeu_ps(gate + i, m, r);
    }
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    // Element i into double lane i % 8 in increasing i: the reference's 8 partial sums (scalar_dot.h).
    __m512d acc = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512 sq = _mm512_mul_ps(v, v);
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sq), 1))));
    }
    if (i + 8 <= n) {
        const __m256 v = _mm256_loadu_ps(x + i);
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_mul_ps(v, v)));
        i += 8;
    }
    alignas(64) double p[8];
    _mm512_store_pd(p, acc);
    for (; i < n; ++i)
        p[i % 8] += static_cast<double>(x[i] * x[i]);
    const float scale = scalar::rms_norm_scale(scalar::rms_norm_combine(p), n, eps);
    const __m512 s = _mm512_set1_ps(scale);
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), s), _mm512_loadu_ps(w + i)));
    for (; i < n; ++i)
        y[i] = (x[i] * scale) * w[i];
}

void rope(float* x, int32_t n_heads, int32_t head_dim, int32_t half, const float* cos, const float* sin, bool neox) {
    // Each lane does the reference's products and sum, each rounded once (no fma): the same bits as scalar::rope.
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    for (int32_t h = 0; h < n_heads; ++h) {
        float* v = x + int64_t{h} * head_dim;
        int32_t i = 0;
        if (neox) {
            for (; i + 16 <= half; i += 16) {
                const __m512 a = _mm512_loadu_ps(v + i), b = _mm512_loadu_ps(v + half + i);
                const __m512 c = _mm512_loadu_ps(cos + i), s = _mm512_loadu_ps(sin + i);
                _mm512_storeu_ps(v + i, _mm512_sub_ps(_mm512_mul_ps(a, c), _mm512_mul_ps(b, s)));
                _mm512_storeu_ps(v + half + i, _mm512_add_ps(_mm512_mul_ps(a, s), _mm512_mul_ps(b, c)));
            }
        } else {
            for (; i + 8 <= half; i += 8) { // 8 pairs: even lanes x0 c - x1 s, odd lanes x1 c + x0 s
                const __m512 xv = _mm512_loadu_ps(v + 2 * i);
                const __m512 c = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_loadu_ps(cos + i)));
                const __m512 s = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_loadu_ps(sin + i)));
                const __m512 pc = _mm512_mul_ps(xv, c), ps = _mm512_mul_ps(_mm512_permute_ps(xv, 0xB1), s);
                _mm512_storeu_ps(v + 2 * i, _mm512_mask_add_ps(_mm512_sub_ps(pc, ps), 0xAAAA, pc, ps));
            }
        }
        scalar::rope_pairs(v, i, half, cos, sin, neox);
    }
}

} // namespace hearth::cpu::avx512
