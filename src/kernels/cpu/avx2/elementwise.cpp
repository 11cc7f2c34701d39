// kernels/cpu/avx2/elementwise.cpp: the table's elementwise ops with AVX2 + FMA (ops.h).
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"

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

} // namespace hearth::cpu::avx2
