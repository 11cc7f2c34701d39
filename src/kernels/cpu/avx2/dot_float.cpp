// kernels/cpu/avx2/dot_float.cpp: AVX2 F32, F16 (x F32 activations) and BF16 dot products (float FMA
// accumulators; the scalar oracle accumulates in double, so results differ by float rounding of the partial sums).
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "kernels/cpu/float_tile.h"

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

// F16 weights x F32 activations, register-blocked (ops.h's VecDotTileFn): R <= 4 weight rows x N <= 2 activation
// rows per inner block (at most 8 accumulators, 2 activation and 1 weight register of AVX2's 16), a kTileActs-wide
// request taken 2 activation rows at a time. Every (row, token) pair's arithmetic is the same in every block shape
// (so decode and any prefill tiling agree bit for bit): one float accumulator over the 8-element groups in order,
// reduced, then the last n % 8 products added in order.
struct Ops {
    using Vec = __m256;
    static constexpr int kWidth = 8;
    static Vec zero() { return _mm256_setzero_ps(); }
    static Vec load_w(const uint16_t* p) { return load_f16(p); }
    static Vec load_a(const float* p) { return _mm256_loadu_ps(p); }
    static Vec fma(Vec w, Vec a, Vec acc) { return _mm256_fmadd_ps(w, a, acc); }
    static float finish(Vec acc, const uint16_t* w, const float* a, int64_t i, int64_t n) {
        float sum = hsum(acc);
        for (; i < n; ++i)
            sum += _cvtsh_ss(w[i]) * a[i];
        return sum;
    }
};

template <int R, int N>
void tile(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
          size_t out_stride) {
    f16_tile<Ops, R, N>(n, w, w_stride, a, a_stride, out, out_stride);
}

using TileFn = void (*)(int64_t, const uint8_t*, size_t, const uint8_t*, size_t, float*, size_t);
// kTiles[rows - 1][acts - 1], acts <= 2
constexpr TileFn kTiles[4][2] = {
    {&tile<1, 1>, &tile<1, 2>}, {&tile<2, 1>, &tile<2, 2>}, {&tile<3, 1>, &tile<3, 2>}, {&tile<4, 1>, &tile<4, 2>}};
static_assert(kTileRows == 4);

} // namespace

float dot_f32(int64_t n, const void* w, const void* a) {
    return dot_rows<float, load_f32, scalar_f32>(n, static_cast<const float*>(w), static_cast<const float*>(a));
}

float dot_f16_f32(int64_t n, const void* w, const void* a) {
    float r;
    tile<1, 1>(n, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(a), 0, &r, 1);
    return r;
}

void dot_tile_f16_f32(int64_t n, const void* w, size_t w_stride, int n_rows, const void* a, size_t a_stride, int n_act,
                      float* out, size_t out_stride) {
    if (n_rows < 1 || n_rows > kTileRows || n_act < 1 || n_act > kTileActs) return;
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(a);
    for (int j = 0; j < n_act; j += 2) {
        const int na = n_act - j < 2 ? 1 : 2;
        kTiles[n_rows - 1][na - 1](n, wb, w_stride, ab + size_t(j) * a_stride, a_stride, out + size_t(j) * out_stride,
                                   out_stride);
    }
}

float dot_bf16(int64_t n, const void* w, const void* a) {
    return dot_rows<uint16_t, load_bf16, scalar_bf16>(n, static_cast<const uint16_t*>(w),
                                                      static_cast<const uint16_t*>(a));
}

} // namespace hearth::cpu::avx2
