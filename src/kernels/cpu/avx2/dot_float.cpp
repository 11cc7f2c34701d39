// kernels/cpu/avx2/dot_float.cpp: AVX2 F32, F16 (x F32 activations) and BF16 dot products (float FMA
// accumulators; the scalar oracle accumulates in double, so results differ by float rounding of the partial sums).
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "kernels/cpu/multi_row.h"

#include <algorithm>
#include <cmath>

namespace hearth::cpu::avx2 {
namespace {

inline __m256 load_f32(const float* p) {
    return _mm256_loadu_ps(p);
}
inline __m256 load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(loadu128(p));
}
inline __m256 load_bf16(const uint16_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(loadu128(p)), 16));
}
inline float scalar_f32(const float* p) {
    return *p;
}
inline float scalar_bf16(const uint16_t* p) {
    const uint32_t u = uint32_t(*p) << 16;
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return f;
}

// Four independent accumulators hide the FMA latency; the tail (n % 8) is summed in scalar.
template <typename T, __m256 (*Load)(const T*), float (*Scalar)(const T*)>
float dot_rows(int64_t n, const T* x, const T* y) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; ++k)
            acc[k] = _mm256_fmadd_ps(Load(x + i + 8 * k), Load(y + i + 8 * k), acc[k]);
    }
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(Load(x + i), Load(y + i), acc[0]);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; ++i)
        sum += Scalar(x + i) * Scalar(y + i);
    return sum;
}

// F16 weights x F32 activations, one weight row against N activation rows (multi_row.h): each 8 weights are
// converted once for all N rows. Two accumulators per row (the even and odd 8-element groups of each 16), then
// one 8-element group into the first, then the scalar tail: the same for every N, so decode (N = 1) and prefill
// agree bit for bit. 2N + 2 registers: N <= 4 fits AVX2's 16.
struct F16F32 {
    template <int N> static void run(int64_t n, const void* w, const void* a, size_t stride, float* out) {
        const auto* x = static_cast<const uint16_t*>(w);
        const float* y[N];
        __m256 acc0[N], acc1[N];
        for (int r = 0; r < N; ++r) {
            y[r] = reinterpret_cast<const float*>(static_cast<const uint8_t*>(a) + size_t(r) * stride);
            acc0[r] = _mm256_setzero_ps();
            acc1[r] = _mm256_setzero_ps();
        }
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            const __m256 w0 = load_f16(x + i), w1 = load_f16(x + i + 8);
            for (int r = 0; r < N; ++r) {
                acc0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(y[r] + i), acc0[r]);
                acc1[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(y[r] + i + 8), acc1[r]);
            }
        }
        if (i + 8 <= n) {
            const __m256 w0 = load_f16(x + i);
            for (int r = 0; r < N; ++r)
                acc0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(y[r] + i), acc0[r]);
            i += 8;
        }
        for (int r = 0; r < N; ++r) {
            float sum = hsum(_mm256_add_ps(acc0[r], acc1[r]));
            for (int64_t k = i; k < n; ++k)
                sum += _cvtsh_ss(x[k]) * y[r][k];
            out[r] = sum;
        }
    }
};

} // namespace

float dot_f32(int64_t n, const void* w, const void* a) {
    return dot_rows<float, load_f32, scalar_f32>(n, static_cast<const float*>(w), static_cast<const float*>(a));
}

float dot_f16_f32(int64_t n, const void* w, const void* a) {
    return dot_one<F16F32>(n, w, a);
}

void dot_multi_f16_f32(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<F16F32>(n, w, a, stride, n_act, out);
}

float dot_bf16(int64_t n, const void* w, const void* a) {
    return dot_rows<uint16_t, load_bf16, scalar_bf16>(n, static_cast<const uint16_t*>(w),
                                                      static_cast<const uint16_t*>(a));
}

} // namespace hearth::cpu::avx2
