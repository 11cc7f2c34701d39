// kernels/cpu/attend_util.h: what the ISA files' attend_f16 kernels share (internal to kernels/cpu).
//
// Internal linkage only (see k_scales.h): included from files compiled with different ISA flags.
#pragma once

#include "kernels/cpu/ops.h"

#include <cstdint>
#include <type_traits>

namespace hearth::cpu {
namespace {

constexpr int64_t round16(int64_t n) {
    return (n + 15) / 16 * 16;
}

// The scratch of one attend_f16 call (attend_scratch_floats): kAttnMaxQ f16-rounded queries of round16(dim_k)
// floats, then kAttnMaxQ rows of round16(n_keys) scores.
struct AttnScratch {
    float* q;
    int64_t q_stride;
    float* s;
    int64_t s_stride;
};
inline AttnScratch attn_scratch(const AttnGroup& g, float* scratch) {
    return {scratch, round16(g.dim_k), scratch + kAttnMaxQ * round16(g.dim_k), round16(g.n_keys)};
}

// f(std::integral_constant<int, g.n_q>{}): the kernel instantiated for the group's size (1..kAttnMaxQ).
template <typename F> inline void with_n_q(int n_q, F&& f) {
    static_assert(kAttnMaxQ == 8);
    switch (n_q) {
    case 1:
        return f(std::integral_constant<int, 1>{});
    case 2:
        return f(std::integral_constant<int, 2>{});
    case 3:
        return f(std::integral_constant<int, 3>{});
    case 4:
        return f(std::integral_constant<int, 4>{});
    case 5:
        return f(std::integral_constant<int, 5>{});
    case 6:
        return f(std::integral_constant<int, 6>{});
    case 7:
        return f(std::integral_constant<int, 7>{});
    default:
        return f(std::integral_constant<int, 8>{});
    }
}

} // namespace
} // namespace hearth::cpu
