// kernels/cpu/avx2/dot_legacy.cpp: AVX2 dot products of the 32-element block types against Q8_0 / Q8_1.
//
// One block per step: the 32 weight quants are unpacked to bytes, multiplied with the activation bytes by
// maddubs (u8 x i8 -> pairs of i16) and madd (-> 8 int32 lanes, exact), and the lanes are accumulated in
// float with the block's scale product, d_w * d_a.
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "tensor/quant_blocks.h"

#include <cstddef>

namespace hearth::cpu::avx2 {
namespace {

// Runs block(ib, acc, acc_scalar) over nb blocks alternating between two sets of accumulators, so that
// consecutive blocks' FMAs do not wait on each other (one chain would cap it at one block per FMA latency).
template <typename BlockFn> inline float sum_blocks(int64_t nb, BlockFn block) {
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    float acc_scalar[2] = {0, 0};
    int64_t ib = 0;
    for (; ib + 1 < nb; ib += 2) {
        block(ib, acc[0], acc_scalar[0]);
        block(ib + 1, acc[1], acc_scalar[1]);
    }
    if (ib < nb) block(ib, acc[0], acc_scalar[0]);
    return hsum(_mm256_add_ps(acc[0], acc[1])) + (acc_scalar[0] + acc_scalar[1]);
}

// d_a * d_b broadcast, from one half-to-float conversion of both.
inline __m256 scale_product(uint16_t a, uint16_t b) {
    const __m128 h = _mm_cvtph_ps(_mm_cvtsi32_si128(int32_t(uint32_t(a) | (uint32_t(b) << 16))));
    return _mm256_broadcastss_ps(_mm_mul_ss(h, _mm_movehdup_ps(h)));
}

// Q4_1 / Q5_1 block against Q8_1: (d, m) and (d, s) are adjacent halves, so one conversion gives
// [d_x d_y, m_x s_y]; returns d_x d_y broadcast and adds m_x s_y to summs.
template <typename Block> inline __m256 offset_block_scales(const Block& x, const BlockQ8_1& y, float& summs) {
    static_assert(offsetof(Block, m) == offsetof(Block, d) + 2 && offsetof(BlockQ8_1, s) == offsetof(BlockQ8_1, d) + 2);
    uint32_t xdm, yds;
    std::memcpy(&xdm, &x.d, 4);
    std::memcpy(&yds, &y.d, 4);
    const __m128 p =
        _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(int32_t(xdm))), _mm_cvtph_ps(_mm_cvtsi32_si128(int32_t(yds))));
    summs += _mm_cvtss_f32(_mm_movehdup_ps(p));
    return _mm256_broadcastss_ps(p);
}

} // namespace

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const __m256i offset = _mm256_set1_epi8(8);
    return sum_blocks(n / HEARTH_QK8_0, [&](int64_t ib, __m256& acc, float&) {
        const __m256i qx = _mm256_sub_epi8(unpack_nibbles_32(x[ib].qs), offset); // -8..7
        const __m256i sums = dot_i8_i8(qx, loadu256(y[ib].qs));
        acc = _mm256_fmadd_ps(scale_product(x[ib].d, y[ib].d), _mm256_cvtepi32_ps(sums), acc);
    });
}

float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_1*>(w);
    const auto* y = static_cast<const BlockQ8_1*>(a);
    return sum_blocks(n / HEARTH_QK8_1, [&](int64_t ib, __m256& acc, float& summs) {
        const __m256 d = offset_block_scales(x[ib], y[ib], summs); // summs += weight offset * activation sum
        const __m256i sums = dot_u8_i8(unpack_nibbles_32(x[ib].qs), loadu256(y[ib].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
    });
}

float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const __m256i high = _mm256_set1_epi8(int8_t(0xF0));
    return sum_blocks(n / HEARTH_QK8_0, [&](int64_t ib, __m256& acc, float&) {
        // q - 16 as int8: a nibble whose fifth bit is clear gets 0xF0 or-ed in (q - 16 < 0), else stays q.
        const __m256i hi = _mm256_andnot_si256(expand_bits_32(x[ib].qh), high);
        const __m256i qx = _mm256_or_si256(unpack_nibbles_32(x[ib].qs), hi);
        const __m256i sums = dot_i8_i8(qx, loadu256(y[ib].qs));
        acc = _mm256_fmadd_ps(scale_product(x[ib].d, y[ib].d), _mm256_cvtepi32_ps(sums), acc);
    });
}

float dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_1*>(w);
    const auto* y = static_cast<const BlockQ8_1*>(a);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    return sum_blocks(n / HEARTH_QK8_1, [&](int64_t ib, __m256& acc, float& summs) {
        const __m256 d = offset_block_scales(x[ib], y[ib], summs);
        const __m256i hi = _mm256_and_si256(expand_bits_32(x[ib].qh), bit4);
        const __m256i sums = dot_u8_i8(_mm256_or_si256(unpack_nibbles_32(x[ib].qs), hi), loadu256(y[ib].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
    });
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    return sum_blocks(n / HEARTH_QK8_0, [&](int64_t ib, __m256& acc, float&) {
        const __m256i sums = dot_i8_i8(loadu256(x[ib].qs), loadu256(y[ib].qs));
        acc = _mm256_fmadd_ps(scale_product(x[ib].d, y[ib].d), _mm256_cvtepi32_ps(sums), acc);
    });
}

float dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockIQ4_NL*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const __m256i codebook = _mm256_broadcastsi128_si256(loadu128(kIq4NlValues));
    return sum_blocks(n / HEARTH_QK4_NL, [&](int64_t ib, __m256& acc, float&) {
        const __m256i qx = _mm256_shuffle_epi8(codebook, unpack_nibbles_32(x[ib].qs));
        const __m256i sums = dot_i8_i8(qx, loadu256(y[ib].qs));
        acc = _mm256_fmadd_ps(scale_product(y[ib].d, x[ib].d), _mm256_cvtepi32_ps(sums), acc);
    });
}

} // namespace hearth::cpu::avx2
