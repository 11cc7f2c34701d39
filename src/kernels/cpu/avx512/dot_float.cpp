// kernels/cpu/avx512/dot_float.cpp: F16 weights x F32 activations with AVX-512, register-blocked for prefill:
// up to kTileRows (4) weight rows x kTileActs (6) activation rows per call (ops.h's VecDotTileFn), 24 float
// accumulators, each converted weight vector (VCVTPH2PS) used for 6 tokens and each loaded activation vector for
// 4 rows: the FMA ports, not the loads, set the pace.
//
// Arithmetic of every (row, token) pair, the same in every block shape (so decode, 4 x 1 blocks, and any prefill
// tiling agree bit for bit): one float accumulator over the 16-element groups in order, the last n % 16 elements
// masked into it (masked loads read nothing past the row), then reduced. The scalar oracle accumulates in double:
// results differ by float rounding of the partial sums.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"

#include <array>
#include <utility>

namespace hearth::cpu::avx512 {
namespace {

template <int R, int N>
void tile(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
          size_t out_stride) {
    const uint16_t* wr[R];
    const float* ar[N];
    for (int r = 0; r < R; ++r)
        wr[r] = reinterpret_cast<const uint16_t*>(w + size_t(r) * w_stride);
    for (int j = 0; j < N; ++j)
        ar[j] = reinterpret_cast<const float*>(a + size_t(j) * a_stride);
    __m512 acc[R][N];
    for (int r = 0; r < R; ++r)
        for (int j = 0; j < N; ++j)
            acc[r][j] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 av[N];
        for (int j = 0; j < N; ++j)
            av[j] = _mm512_loadu_ps(ar[j] + i);
        for (int r = 0; r < R; ++r) {
            const __m512 wv = _mm512_cvtph_ps(loadu256(wr[r] + i));
            for (int j = 0; j < N; ++j)
                acc[r][j] = _mm512_fmadd_ps(wv, av[j], acc[r][j]);
        }
    }
    if (i < n) {
        const __mmask16 m = _cvtu32_mask16((1u << (n - i)) - 1);
        __m512 av[N];
        for (int j = 0; j < N; ++j)
            av[j] = _mm512_maskz_loadu_ps(m, ar[j] + i);
        for (int r = 0; r < R; ++r) {
            const __m512 wv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, wr[r] + i));
            for (int j = 0; j < N; ++j)
                acc[r][j] = _mm512_fmadd_ps(wv, av[j], acc[r][j]);
        }
    }
    for (int j = 0; j < N; ++j)
        for (int r = 0; r < R; ++r)
            out[size_t(j) * out_stride + size_t(r)] = _mm512_reduce_add_ps(acc[r][j]);
}

using TileFn = void (*)(int64_t, const uint8_t*, size_t, const uint8_t*, size_t, float*, size_t);

template <int R, int... N> constexpr auto row_of(std::integer_sequence<int, N...>) {
    return std::array<TileFn, sizeof...(N)>{&tile<R, N + 1>...};
}
template <int... R> constexpr auto tiles(std::integer_sequence<int, R...>) {
    return std::array<std::array<TileFn, kTileActs>, sizeof...(R)>{
        row_of<R + 1>(std::make_integer_sequence<int, kTileActs>())...};
}
// kTiles[rows - 1][acts - 1]
constexpr auto kTiles = tiles(std::make_integer_sequence<int, kTileRows>());

} // namespace

float dot_f16_f32(int64_t n, const void* w, const void* a) {
    float r;
    tile<1, 1>(n, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(a), 0, &r, 1);
    return r;
}

void dot_tile_f16_f32(int64_t n, const void* w, size_t w_stride, int n_rows, const void* a, size_t a_stride, int n_act,
                      float* out, size_t out_stride) {
    if (n_rows < 1 || n_rows > kTileRows || n_act < 1 || n_act > kTileActs) return;
    kTiles[size_t(n_rows - 1)][size_t(n_act - 1)](n, static_cast<const uint8_t*>(w), w_stride,
                                                  static_cast<const uint8_t*>(a), a_stride, out, out_stride);
}

} // namespace hearth::cpu::avx512
