// kernels/cpu/avx2/quantize.cpp: AVX2 activation quantizers, byte-identical to kernels/ref's.
//
// Q8_0 / Q8_1 round x * (1 / d) half away from zero (C's roundf, as ggml's quantize_row_q8_0_ref). Note that
// llama.cpp's own AVX2 quantize_row_q8_0 differs from its reference: it multiplies by 127 / amax and rounds
// half to even, so a few quants per row can differ by one from ours. We keep the reference rounding so every
// ISA feeds the dot products the same activation bytes. Q8_K rounds half to even like ggml's nearest_int.
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "tensor/quant_blocks.h"

namespace hearth::cpu::avx2 {
namespace {

inline __m256 abs_ps(__m256 v) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

inline float hmax(__m256 v) {
    __m128 r = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_max_ps(r, _mm_movehl_ps(r, r));
    r = _mm_max_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// roundf: truncate, then step away from zero when the dropped fraction is >= 0.5 (v - trunc(v) is exact).
inline __m256i round_half_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_ps(_mm256_sub_ps(v, t));
    const __m256 step = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
    const __m256 up = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), step);
    return _mm256_cvttps_epi32(_mm256_add_ps(t, up));
}

// One 32-element block: q = roundf(x / d) with d = amax / 127; returns d, writes the half d.
inline float quantize_block_8bit(const float* x, int8_t* qs, uint16_t* d_half, int32_t* sum) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        amax = _mm256_max_ps(amax, abs_ps(v[k]));
    }
    const float d = hmax(amax) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d_half = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    const __m256 mul = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k)
        q[k] = round_half_away(_mm256_mul_ps(v[k], mul));
    if (sum != nullptr) *sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
    return d;
}

} // namespace

void quantize_q8_0(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(vy);
    for (int64_t ib = 0; ib < n / HEARTH_QK8_0; ++ib)
        quantize_block_8bit(x + HEARTH_QK8_0 * ib, y[ib].qs, &y[ib].d, nullptr);
}

void quantize_q8_1(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_1*>(vy);
    for (int64_t ib = 0; ib < n / HEARTH_QK8_1; ++ib) {
        int32_t sum = 0;
        const float d = quantize_block_8bit(x + HEARTH_QK8_1 * ib, y[ib].qs, &y[ib].d, &sum);
        y[ib].s = _cvtss_sh(float(sum) * d, _MM_FROUND_TO_NEAREST_INT);
    }
}

void quantize_q8_k(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(vy);
    constexpr int QK = HEARTH_QK_K;
    for (int64_t ib = 0; ib < n / QK; ++ib, x += QK) {
        __m256 amax_v = _mm256_setzero_ps();
        for (int k = 0; k < QK; k += 8)
            amax_v = _mm256_max_ps(amax_v, abs_ps(_mm256_loadu_ps(x + k)));
        const float amax = hmax(amax_v);
        if (amax == 0.0f) {
            std::memset(&y[ib], 0, sizeof(y[ib]));
            continue;
        }
        // The reference keeps the sign of the first element of largest magnitude.
        float max = 0;
        for (int k = 0; k < QK; k += 8) {
            const int hits =
                _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + k)), _mm256_set1_ps(amax), _CMP_EQ_OQ));
            if (hits != 0) {
                max = x[k + __builtin_ctz(unsigned(hits))];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m256 mul = _mm256_set1_ps(iscale);
        const __m256i limit = _mm256_set1_epi32(127);
        for (int k = 0; k < QK; k += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; ++j) {
                const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), mul),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(r), limit);
            }
            y[ib].bsums[k / 16] = int16_t(hsum_i32(_mm256_add_epi32(q[0], q[1])));
            y[ib].bsums[k / 16 + 1] = int16_t(hsum_i32(_mm256_add_epi32(q[2], q[3])));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[ib].qs + k), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
        }
        y[ib].d = 1 / iscale;
    }
}

void quantize_f16(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<uint16_t*>(vy);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i)
        y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

} // namespace hearth::cpu::avx2
