// kernels/cpu/multi_row.h: a multi-row kernel K as the kernel table's two entries, shared by avx2/ and avx512/.
//
// K::run<N>(n, w, act, act_stride, out) dots one weight row with N activation rows (act_stride bytes apart),
// unpacking the weights once per block: 8 rows at a time where K says `kEightRows` (its per-row state fits the
// registers 8 times), else 4, then the rest. Each K does every row's float arithmetic in the same order for every
// N, so dot_one (N = 1: the decode VecDotFn) and dot_multi (any count: the prefill VecDotMultiFn) agree bit for
// bit. Internal linkage, like the ISA headers (see k_scales.h): each ISA's translation units are built with their
// own flags.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {
namespace {

template <typename K> float dot_one(int64_t n, const void* w, const void* a) {
    float r;
    K::template run<1>(n, w, a, 0, &r);
    return r;
}

template <typename K> void dot_multi(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    const auto* p = static_cast<const uint8_t*>(a);
    if constexpr (requires { K::kEightRows; })
        for (; n_act >= 8; n_act -= 8, p += 8 * stride, out += 8)
            K::template run<8>(n, w, p, stride, out);
    for (; n_act >= 4; n_act -= 4, p += 4 * stride, out += 4)
        K::template run<4>(n, w, p, stride, out);
    switch (n_act) {
    case 3:
        K::template run<3>(n, w, p, stride, out);
        break;
    case 2:
        K::template run<2>(n, w, p, stride, out);
        break;
    case 1:
        K::template run<1>(n, w, p, stride, out);
        break;
    default:
        break;
    }
}

} // namespace
} // namespace hearth::cpu
