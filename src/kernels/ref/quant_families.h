// kernels/ref/quant_families.h: per-family row kernels behind kernels/ref/quant.h (internal).
//
// Every function takes a count of whole blocks (nb) of its type; quant.cpp checks the caller's element count
// and dispatches. One translation unit per family: quant_float.cpp, quant_legacy.cpp, quant_k.cpp,
// quant_k_make.cpp (the scale searches), quant_iq.cpp.
#pragma once

#include "tensor/quant_blocks.h"

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
// qw: importance weights in place of x_i^2 (nullptr: x_i^2).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* qw = nullptr);
// Symmetric 3-bit variant: refines L one element at a time (up to 5 passes); L in [0, 2 * nmax).
float make_q3_quants(int n, int nmax, const float* x, int8_t* L);
// Asymmetric: x ~ scale * L - the_min with L in [0, nmax], weighted squared (or absolute, use_mad) error;
// tries nstep + 1 candidate scales (rmin + rdelta * is + nmax) / (max - min) and a least-squares refit each.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* Laux,
                       float rmin, float rdelta, int nstep, bool use_mad);

// Positive values (sub-block scales or mins) quantized to L in [0, nmax] with weights w: 9 candidate scales around
// nmax / max, then coordinate descent on L; returns the least-squares scale.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* w);

// Shared by the K-quant quantizers with and without an importance matrix (quant_k.cpp).
void set_scale_min_k4(int j, uint8_t ls, uint8_t lm, uint8_t* q);
void requantize_k4(const float* x, const uint8_t* y_scales, HalfBits d_half, HalfBits dmin_half, int nmax, uint8_t* L);
void pack_2bit(const uint8_t* L, uint8_t* qs);
void pack_q3_k(const int8_t* L, uint8_t* hmask, uint8_t* qs); // L in [0, 8): high bits to hmask, low bits packed
void pack_q4_k(const uint8_t* L, uint8_t* qs);
void pack_q5_k(const uint8_t* L, uint8_t* qs, uint8_t* qh);
// Q6_K with optional importance weights qw (QK_K per block, advanced block by block).
void quant_q6_k_weighted(const float* x, void* dst, int64_t nb, const float* qw);
// Q5_0 / Q5_1: bit 4 of each of the 32 quants into the 4 qh bytes (quant_legacy.cpp).
void store_qh(const uint8_t* q, uint8_t* qh_bytes);

// One row of n elements with importance weights imatrix[n] (never nullptr), as ggml's quantize_row_<type>_impl
// (quant_imatrix.cpp; IQ4 in quant_iq.cpp).
using WeightedQuantFn = void (*)(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q4_0_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q4_1_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q5_0_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q5_1_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q2_k_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q3_k_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q4_k_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q5_k_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_q6_k_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_iq4_nl(const float* src, void* dst, int64_t nb);
void quant_iq4_xs(const float* src, void* dst, int64_t nb);
void quant_iq4_nl_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);
void quant_iq4_xs_imatrix(const float* src, void* dst, int64_t n, const float* imatrix);

} // namespace hearth::ref::detail
