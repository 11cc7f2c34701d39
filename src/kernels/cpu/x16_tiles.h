// kernels/cpu/x16_tiles.h: the loops every ISA's x16 kernels (packed.h) share. Internal linkage, like the ISA headers
// (see k_scales.h): each ISA's translation units are built with their own flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace hearth::cpu {
namespace {

// run.template operator()<N>(act, y) for N tokens at a time: kMax while they last, then kMax / 2, ... down to 1 (every
// N does each token's arithmetic the same way, so the tiling never changes a result).
template <int kMax, typename Act, typename Run>
inline void token_tiles(const Act* act, int64_t act_nb, int n_tok, float* y, size_t y_stride, Run run) {
    for (; n_tok >= kMax; n_tok -= kMax, act += kMax * act_nb, y += kMax * y_stride)
        run.template operator()<kMax>(act, y);
    if constexpr (kMax > 1) token_tiles<kMax / 2>(act, act_nb, n_tok, y, y_stride, run);
}

// f.template operator()<G>() for G = 0 .. 7 in order (the 32-element groups of a super-block; G a constant, so the
// shifts that depend on it stay immediates).
template <typename F> inline void for_groups(F f) {
    [&]<int... G>(std::integer_sequence<int, G...>) {
        (f.template operator()<G>(), ...);
    }
    (std::make_integer_sequence<int, 8>{});
}

} // namespace
} // namespace hearth::cpu
