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

// ops.h's attend_f16 from an ISA's pieces (the same steps on every ISA; Isa supplies the vector code):
//   Isa::round_queries<NQ>(g, qh, q_stride): the group's queries rounded to f16, kept as floats in the scratch;
//   Isa::scores<NQ, KB>(g, qh, q_stride, s, s_stride): s = qh . k * scale, KB keys at a time;
//   Isa::softmax_f16(s, n_keys): one row of scores to weights rounded to f16;
//   Isa::weighted_sum<NQ, Isa::columns(NQ)>(g, s, s_stride): out = weights . v.
template <typename Isa> void attend_with(const AttnGroup& g, float* scratch) {
    with_n_q(g.n_q, [&](auto nq) {
        constexpr int NQ = decltype(nq)::value;
        const AttnScratch sc = attn_scratch(g, scratch);
        Isa::template round_queries<NQ>(g, sc.q, sc.q_stride);
        // Independent chains per key block: at least 4 score accumulators in flight.
        constexpr int kKeys = NQ >= 4 ? 1 : (NQ >= 2 ? 2 : 4);
        Isa::template scores<NQ, kKeys>(g, sc.q, sc.q_stride, sc.s, sc.s_stride);
        for (int i = 0; i < NQ; ++i)
            Isa::softmax_f16(sc.s + i * sc.s_stride, g.n_keys);
        Isa::template weighted_sum<NQ, Isa::columns(NQ)>(g, sc.s, sc.s_stride);
    });
}

} // namespace
} // namespace hearth::cpu
