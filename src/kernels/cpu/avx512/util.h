// kernels/cpu/avx512/util.h: AVX-512 (F, BW, VL, VNNI) building blocks for the avx512/ translation units.
//
// Internal linkage only (see k_scales.h). Only included from files compiled with the AVX-512 flags.
#pragma once

#include "kernels/cpu/multi_row.h"
#include "tensor/quant_blocks.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <immintrin.h>

namespace hearth::cpu::avx512 {
namespace {

inline float half_to_f32(uint16_t h) {
    return _cvtsh_ss(h);
}

inline __m512i loadu512(const void* p) {
    return _mm512_loadu_si512(p);
}
inline __m256i loadu256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i loadu128(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// Shift counts for _mm512_srlv_epi16 (one count per 16-bit lane): c0..c3 for the four 128-bit lanes.
inline __m512i shift16_by_lane(int64_t c0, int64_t c1, int64_t c2, int64_t c3) {
    constexpr int64_t kRep = 0x0001000100010001; // the count in each of the four 16-bit lanes of a 64-bit lane
    return _mm512_set_epi64(c3 * kRep, c3 * kRep, c2 * kRep, c2 * kRep, c1 * kRep, c1 * kRep, c0 * kRep, c0 * kRep);
}

// A decode kernel's 16 results, written without reading y's line first: a non-temporal store where y is 64-byte
// aligned (one whole line), else a plain one. A cold line of y taken for a plain store cost decode's weight stream
// 3-5% (one per 16-row group; kernels/cpu/STATUS.md). The writer's thread ends its share with an sfence
// (packed.cpp gemm_slice, the only caller of the x16 kernels) before the pool hands y on.
inline void store_result(float* y, __m512 v) {
    if ((reinterpret_cast<uintptr_t>(y) & 63) == 0)
        _mm512_stream_ps(y, v);
    else
        _mm512_storeu_ps(y, v);
}

// 4 bytes at p broadcast to every 32-bit lane (the x16 kernels' activation groups).
inline __m512i bcast32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// Bit J of each byte of v moved to bit K, the rest 0 (16-bit shifts of at most 7 keep each byte's bit K within the
// byte): the fifth bits of the x16 Q5_0 / Q5_1 / Q5_K layouts (K = 4), Q3_K's high bits (K = 2).
// v itself, as a value the compiler may not reassociate across: an integer sum built from many parts (a super-block's
// sub-block sums) stays a chain instead of a tree whose parts all live at once (GCC 12 spilled 30+ registers so).
inline __m512i opaque(__m512i v) {
    __asm__("" : "+v"(v));
    return v;
}

template <int J, int K> inline __m512i bit_to(__m512i v) {
    const __m512i bit = _mm512_set1_epi8(char(1 << K));
    if constexpr (J <= K)
        return _mm512_and_si512(_mm512_slli_epi16(v, K - J), bit);
    else
        return _mm512_and_si512(_mm512_srli_epi16(v, J - K), bit);
}

// exp(x), x below 88.7 (above, the result overflows to inf): x = n ln2 + r, |r| <= ln2 / 2, e^r by Cephes'
// expf polynomial, times 2^n by scalef (which underflows to 0 below 2^-149 without a clamp).
inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

// The IQ4_NL / IQ4_XS codebook plus 128 (unsigned) in each 128-bit lane, for vpshufb of nibbles.
inline __m512i iq4nl_table() {
    alignas(16) uint8_t v[16];
    for (int i = 0; i < 16; ++i)
        v[i] = uint8_t(kIq4NlValues[i] + 128);
    return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(v)));
}

// Two 32-byte halves (e.g. the quants of two consecutive legacy blocks) in one register.
inline __m512i join256(const void* lo, const void* hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(loadu256(lo)), loadu256(hi), 1);
}

// The nibbles of two 16-byte quant arrays as bytes in block order: [lo(a) | hi(a) | lo(b) | hi(b)].
inline __m512i unpack_nibbles_2x32(const uint8_t* a, const uint8_t* b) {
    __m512i v = _mm512_castsi128_si512(loadu128(a));
    v = _mm512_inserti32x4(v, loadu128(a), 1);
    v = _mm512_inserti32x4(v, loadu128(b), 2);
    v = _mm512_inserti32x4(v, loadu128(b), 3);
    return _mm512_and_si512(_mm512_srlv_epi16(v, shift16_by_lane(0, 4, 0, 4)), _mm512_set1_epi8(0x0F));
}

// Bits of two little-endian 32-bit words -> 64 bytes, 0xFF where set.
inline __m512i expand_bits_2x32(const uint8_t* a, const uint8_t* b) {
    uint32_t lo, hi;
    std::memcpy(&lo, a, 4);
    std::memcpy(&hi, b, 4);
    return _mm512_movm_epi8(__mmask64(lo) | (__mmask64(hi) << 32));
}

// 16 int32 lanes, each the sum of 4 products u8 x i8 (VNNI, exact).
inline __m512i dot_u8_i8(__m512i u, __m512i s) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s);
}

// Signed x signed: |x| times y negated where x < 0. y must not hold -128 (activations never do).
inline __m512i dot_i8_i8(__m512i x, __m512i y) {
    const __mmask64 neg = _mm512_movepi8_mask(x);
    return dot_u8_i8(_mm512_abs_epi8(x), _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y));
}

} // namespace
} // namespace hearth::cpu::avx512
