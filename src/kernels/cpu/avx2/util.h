// kernels/cpu/avx2/util.h: small AVX2 building blocks shared by the avx2/ translation units.
//
// Internal linkage only (see k_scales.h): the AVX-512 folder has its own copies compiled with its flags.
// Only included from files compiled with -mavx2 -mfma -mf16c.
#pragma once

#include "kernels/cpu/multi_row.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <immintrin.h>

namespace hearth::cpu::avx2 {
namespace {

inline float half_to_f32(uint16_t h) {
    return _cvtsh_ss(h);
}

inline float hsum(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

inline int32_t hsum_i32(__m256i v) {
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0x4E));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0xB1));
    return _mm_cvtsi128_si32(r);
}

inline __m256i loadu256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i loadu128(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// 16 bytes of nibble pairs -> 32 bytes: byte j < 16 is the low nibble of qs[j], byte 16 + j its high nibble
// (the element order of Q4_0 / Q4_1 / Q5_x / IQ4_NL blocks).
inline __m256i unpack_nibbles_32(const uint8_t* qs) {
    const __m128i t = loadu128(qs);
    const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

// Bit j of the little-endian 32-bit word at p -> byte j is 0xFF if set, else 0.
inline __m256i expand_bits_32(const uint8_t* p) {
    uint32_t bits;
    std::memcpy(&bits, p, sizeof(bits));
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(bits)), spread);
    const __m256i sel = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);
}

// sum(u[i] * s[i]) per group of 4 bytes -> 8 int32 lanes; u unsigned, s signed, and u[i]*s[i] + u[i+1]*s[i+1]
// must fit in int16 (true for every quant range here: <= 2 * 128 * 127).
inline __m256i dot_u8_i8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Signed x signed via |x| and y with x's sign. y must not hold -128 (activations never do).
inline __m256i dot_i8_i8(__m256i x, __m256i y) {
    return dot_u8_i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// Four vectors of 8 int32 (elements 0..31, each in int8 range) -> 32 int8 in order.
inline __m256i pack_i32_to_i8(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
    const __m256i p01 = _mm256_packs_epi32(i0, i1);
    const __m256i p23 = _mm256_packs_epi32(i2, i3);
    const __m256i p = _mm256_packs_epi16(p01, p23);
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// exp(x): x = n ln2 + r, |r| <= ln2 / 2, e^r by Cephes' expf polynomial (within 2 ulp of expf), times 2^n as two
// normal powers of two 2^(n >> 1) 2^(n - (n >> 1)), built in the exponent bits, so overflow to inf past 88.72 and
// gradual underflow to 0 come out as expf's (x is clamped to [-104, 88.8] first, which changes neither).
inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(88.8f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 e2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, e1), e2);
}

// The N activation rows a multi-row kernel reads: row j starts j * stride bytes after act.
template <typename Block, int N> inline void act_rows(const void* act, size_t stride, const Block* (&rows)[N]) {
    for (int j = 0; j < N; ++j)
        rows[j] = reinterpret_cast<const Block*>(static_cast<const uint8_t*>(act) + size_t(j) * stride);
}

} // namespace
} // namespace hearth::cpu::avx2
