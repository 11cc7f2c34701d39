// kernels/cpu/avx512/elementwise.cpp: the table's elementwise ops with AVX-512 F (ops.h).
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"

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

} // namespace hearth::cpu::avx512
