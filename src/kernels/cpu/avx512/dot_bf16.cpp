// kernels/cpu/avx512/dot_bf16.cpp: BF16 weights x BF16 activations with AVX512_BF16's VDPBF16PS (32 pairs
// per instruction, fp32 accumulation), and its table filler. Compiled with the AVX-512 flags plus
// -mavx512bf16; called only on CPUs with AVX512_BF16 (kernel_table.cpp checks).
//
// Accuracy vs the scalar oracle (double accumulation): the products of two bf16 are exact in fp32, each lane
// adds its two products to its accumulator with round-to-nearest-even, and the 4 x 16 lane sums are added in a
// tree at the end. Each result thus goes through at most n/64 + 8 fp32 roundings (n/64 + 2 per lane, 6 in the
// tree), so |got - exact| <= (n/64 + 12) * 2^-24 * sum|w_i a_i| with margin (<= 1e-5 * sum|w_i a_i| for
// n <= 9600), plus at most 2^-126 per operation where a denormal partial sum is flushed.
// VDPBF16PS treats denormal inputs as zero and flushes denormal results (it ignores MXCSR): a product with a
// denormal bf16 factor (|x| < 2^-126) counts as 0, unlike the oracle and the AVX2 kernel.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/avx512/util.h"
#include "kernels/cpu/isa_tables.h"

#include <bit>

namespace hearth::cpu::avx512 {
namespace {

inline __m512bh load_bf16x32(const uint16_t* p) {
    return std::bit_cast<__m512bh>(loadu512(p));
}

// The first `count` (< 32) elements; the others read as +0 and are never touched in memory.
inline __m512bh load_bf16_tail(const uint16_t* p, int64_t count) {
    const __mmask32 mask = _cvtu32_mask32((uint32_t(1) << count) - 1);
    return std::bit_cast<__m512bh>(_mm512_maskz_loadu_epi16(mask, p));
}

} // namespace

float dot_bf16_bf16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const uint16_t*>(a);
    // Four independent accumulators hide VDPBF16PS's latency.
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 128 <= n; i += 128) {
        for (int k = 0; k < 4; ++k)
            acc[k] = _mm512_dpbf16_ps(acc[k], load_bf16x32(x + i + 32 * k), load_bf16x32(y + i + 32 * k));
    }
    for (int k = 0; i + 32 <= n; i += 32, ++k)
        acc[k] = _mm512_dpbf16_ps(acc[k], load_bf16x32(x + i), load_bf16x32(y + i));
    if (i < n) acc[3] = _mm512_dpbf16_ps(acc[3], load_bf16_tail(x + i, n - i), load_bf16_tail(y + i, n - i));
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

} // namespace hearth::cpu::avx512

namespace hearth::cpu {

void fill_avx512bf16_table(KernelTable& t) {
    t.traits[static_cast<uint32_t>(DType::BF16)].vec_dot = avx512::dot_bf16_bf16;
}

} // namespace hearth::cpu
