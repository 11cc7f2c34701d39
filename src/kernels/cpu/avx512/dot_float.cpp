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
#include "kernels/cpu/float_tile.h"

#include <array>
#include <utility>

namespace hearth::cpu::avx512 {
namespace {

// The AVX-512 operations of float_tile.h: 16 lanes; the last n % 16 elements masked into the accumulator (masked
// loads read nothing past the row), then the lanes added.
struct Ops {
    using Vec = __m512;
    static constexpr int kWidth = 16;
    static Vec zero() { return _mm512_setzero_ps(); }
    static Vec load_w(const uint16_t* p) { return _mm512_cvtph_ps(loadu256(p)); }
    static Vec load_a(const float* p) { return _mm512_loadu_ps(p); }
    static Vec fma(Vec w, Vec a, Vec acc) { return _mm512_fmadd_ps(w, a, acc); }
    static float finish(Vec acc, const uint16_t* w, const float* a, int64_t i, int64_t n) {
        if (i < n) {
            const __mmask16 m = _cvtu32_mask16((1u << (n - i)) - 1);
            acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i)), _mm512_maskz_loadu_ps(m, a + i),
                                  acc);
        }
        return _mm512_reduce_add_ps(acc);
    }
};

template <int R, int N>
void tile(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
          size_t out_stride) {
    f16_tile<Ops, R, N>(n, w, w_stride, a, a_stride, out, out_stride);
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
