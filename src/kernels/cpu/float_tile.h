// kernels/cpu/float_tile.h: the F16-weight x F32-activation tile (ops.h's VecDotTileFn), shared by avx2/ and
// avx512/ over an ISA's vector operations V:
//   V::Vec, V::kWidth, V::zero(), V::load_w(const uint16_t*) (kWidth f16 -> float), V::load_a(const float*),
//   V::fma(w, a, acc), V::finish(acc, w_row, a_row, i, n) -> float (the last n - i < kWidth elements, and the sum).
// tile<V, R, N> dots R weight rows with N activation rows: each converted weight vector serves N tokens, each
// loaded activation vector R rows. Every (row, token) pair's arithmetic is the same whatever R and N (one
// accumulator over the kWidth-element groups in order, then V::finish), so decode, any prefill tiling and
// vec_dot (tile<V, 1, 1>) agree bit for bit. Internal linkage, like the ISA headers (see k_scales.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {
namespace {

template <typename V, int R, int N>
void f16_tile(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride, float* out,
              size_t out_stride) {
    using Vec = typename V::Vec;
    const uint16_t* wr[R];
    const float* ar[N];
    for (int r = 0; r < R; ++r)
        wr[r] = reinterpret_cast<const uint16_t*>(w + size_t(r) * w_stride);
    for (int j = 0; j < N; ++j)
        ar[j] = reinterpret_cast<const float*>(a + size_t(j) * a_stride);
    Vec acc[R][N];
    for (int r = 0; r < R; ++r)
        for (int j = 0; j < N; ++j)
            acc[r][j] = V::zero();
    int64_t i = 0;
    for (; i + V::kWidth <= n; i += V::kWidth) {
        Vec av[N];
        for (int j = 0; j < N; ++j)
            av[j] = V::load_a(ar[j] + i);
        for (int r = 0; r < R; ++r) {
            const Vec wv = V::load_w(wr[r] + i);
            for (int j = 0; j < N; ++j)
                acc[r][j] = V::fma(wv, av[j], acc[r][j]);
        }
    }
    for (int j = 0; j < N; ++j)
        for (int r = 0; r < R; ++r)
            out[size_t(j) * out_stride + size_t(r)] = V::finish(acc[r][j], wr[r], ar[j], i, n);
}

} // namespace
} // namespace hearth::cpu
