// kernels/ref/quant_families.h: per-family row kernels behind kernels/ref/quant.h (internal).
//
// Every function takes a count of whole blocks (nb) of its type; quant.cpp checks the caller's element count
// and dispatches. One translation unit per family: quant_float.cpp, quant_legacy.cpp, quant_k.cpp,
// quant_k_make.cpp (the scale searches), quant_iq.cpp.
#pragma once

#include <cstdint>
#include <cstring>

namespace hearth::ref::detail {

// Round to nearest, ties to even, exactly as ggml's nearest_int: adding 1.5 * 2^23 leaves the rounded
// integer in the low mantissa bits. Valid for |x| <= 2^22 - 1, which every caller guarantees by clamping.
inline int nearest_int(float x) {
    const float biased = x + 12582912.f;
    int32_t bits;
    std::memcpy(&bits, &biased, sizeof(bits));
    return (bits & 0x007fffff) - 0x00400000;
}

using DequantFn = void (*)(const void* src, float* dst, int64_t nb);
using QuantFn = void (*)(const float* src, void* dst, int64_t nb);

void dequant_f32(const void* src, float* dst, int64_t nb);
void dequant_f16(const void* src, float* dst, int64_t nb);
void dequant_bf16(const void* src, float* dst, int64_t nb);
void quant_f32(const float* src, void* dst, int64_t nb);
void quant_f16(const float* src, void* dst, int64_t nb);
void quant_bf16(const float* src, void* dst, int64_t nb);

void dequant_q4_0(const void* src, float* dst, int64_t nb);
void dequant_q4_1(const void* src, float* dst, int64_t nb);
void dequant_q5_0(const void* src, float* dst, int64_t nb);
void dequant_q5_1(const void* src, float* dst, int64_t nb);
void dequant_q8_0(const void* src, float* dst, int64_t nb);
void dequant_q8_1(const void* src, float* dst, int64_t nb);
void quant_q4_0(const float* src, void* dst, int64_t nb);
void quant_q4_1(const float* src, void* dst, int64_t nb);
void quant_q5_0(const float* src, void* dst, int64_t nb);
void quant_q5_1(const float* src, void* dst, int64_t nb);
void quant_q8_0(const float* src, void* dst, int64_t nb);
void quant_q8_1(const float* src, void* dst, int64_t nb);

void dequant_q2_k(const void* src, float* dst, int64_t nb);
void dequant_q3_k(const void* src, float* dst, int64_t nb);
void dequant_q4_k(const void* src, float* dst, int64_t nb);
void dequant_q5_k(const void* src, float* dst, int64_t nb);
void dequant_q6_k(const void* src, float* dst, int64_t nb);
void dequant_q8_k(const void* src, float* dst, int64_t nb);
void quant_q2_k(const float* src, void* dst, int64_t nb);
void quant_q3_k(const float* src, void* dst, int64_t nb);
void quant_q4_k(const float* src, void* dst, int64_t nb);
void quant_q5_k(const float* src, void* dst, int64_t nb);
void quant_q6_k(const float* src, void* dst, int64_t nb);
void quant_q8_k(const float* src, void* dst, int64_t nb);

void dequant_iq4_nl(const void* src, float* dst, int64_t nb);
void dequant_iq4_xs(const void* src, float* dst, int64_t nb);

// Scale searches shared by the K-quant quantizers (quant_k_make.cpp); names and semantics follow
// ggml-quants.c so the two can be read side by side.

// Symmetric: picks scale s and L[i] in [0, 2 * nmax) (stored offset by nmax) minimizing
// sum w_i (x_i - s * (L_i - nmax))^2 with w_i = x_i^2, trying 19 candidate scales around -nmax / max.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L);
// Symmetric 3-bit variant: refines L one element at a time (up to 5 passes); L in [0, 2 * nmax).
float make_q3_quants(int n, int nmax, const float* x, int8_t* L);
// Asymmetric: x ~ scale * L - the_min with L in [0, nmax], weighted squared (or absolute, use_mad) error;
// tries nstep + 1 candidate scales (rmin + rdelta * is + nmax) / (max - min) and a least-squares refit each.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* Laux,
                       float rmin, float rdelta, int nstep, bool use_mad);

} // namespace hearth::ref::detail
