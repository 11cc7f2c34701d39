// kernels/cpu/avx2/dot_float.cpp: AVX2 F32, F16 and BF16 dot products (float FMA accumulators; the scalar
// oracle accumulates in double, so results differ by float rounding of the partial sums).
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"

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
inline float scalar_f16(const uint16_t* p) {
    return _cvtsh_ss(*p);
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

} // namespace

float dot_f32(int64_t n, const void* w, const void* a) {
    return dot_rows<float, load_f32, scalar_f32>(n, static_cast<const float*>(w), static_cast<const float*>(a));
}

float dot_f16(int64_t n, const void* w, const void* a) {
    return dot_rows<uint16_t, load_f16, scalar_f16>(n, static_cast<const uint16_t*>(w),
                                                    static_cast<const uint16_t*>(a));
}

float dot_bf16(int64_t n, const void* w, const void* a) {
    return dot_rows<uint16_t, load_bf16, scalar_bf16>(n, static_cast<const uint16_t*>(w),
                                                      static_cast<const uint16_t*>(a));
}

} // namespace hearth::cpu::avx2
