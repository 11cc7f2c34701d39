// kernels/cpu/scalar_dot.h: scalar dot products and activation quantizers (internal to kernels/cpu).
//
// These are the oracle for the SIMD kernels: each computes exactly like ggml's ggml_vec_dot_<w>_<act>_generic
// (ggml-cpu/quants.c and vec.cpp): integer sums per block, times the block scales, same float operation
// order (the library is built with -ffp-contract=off). Signatures are those of ops.h (VecDotFn,
// QuantizeRowFn); n is a count of elements.
#pragma once

#include "kernels/cpu/ops.h"

#include <cstdint>

namespace hearth::cpu::scalar {

// Legacy 32-element blocks and IQ4_NL (scalar_dot_legacy.cpp).
float dot_q4_0_q8_0(int64_t n, const void* w, const void* a);
float dot_q4_1_q8_1(int64_t n, const void* w, const void* a);
float dot_q5_0_q8_0(int64_t n, const void* w, const void* a);
float dot_q5_1_q8_1(int64_t n, const void* w, const void* a);
float dot_q8_0_q8_0(int64_t n, const void* w, const void* a);
float dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a);

// K-quants and IQ4_XS against Q8_K (scalar_dot_k.cpp).
float dot_q2_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q3_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q4_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q5_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a);
float dot_iq4_xs_q8_k(int64_t n, const void* w, const void* a);

// Float rows, accumulated in double like ggml's ggml_vec_dot_f32/bf16 (scalar_dot_float.cpp). F16 weights take
// F32 activations (not rounded to f16 as ggml's: the products are exact in double either way).
float dot_f32(int64_t n, const void* w, const void* a);
float dot_f16_f32(int64_t n, const void* w, const void* a);
float dot_bf16(int64_t n, const void* w, const void* a);

// ops.h's AttendF16Fn, the reference (attend.cpp): per query, the f16-rounded query dotted with each key in double,
// std::exp, the softmax sum in double, weights rounded to f16, the V rows summed in row order.
void attend_f16(const AttnGroup& g, float* scratch);
// ops.h's SiluMulFn, the reference (elementwise.cpp): std::exp in float.
void silu_mul(float* gate, const float* up, int64_t n);
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
// RMSNorm's and RoPE's steps that every ISA shares (ops.h), defined here out of line (compiled without ISA flags, so
// no SIMD copy of them can reach the scalar table): the 8 partial sums of squares added in the fixed order; the
// scale from the total; RoPE's pairs i0 .. half - 1 of one head v in the reference arithmetic (the SIMD tails).
double rms_norm_combine(const double p[8]);
float rms_norm_scale(double sum_squares, int64_t n, float eps);
void rope_pairs(float* v, int32_t i0, int32_t half, const float* cos, const float* sin, bool neox);
void rope(float* x, int32_t n_heads, int32_t head_dim, int32_t half, const float* cos, const float* sin, bool neox);

// Activation quantizers: kernels/ref's quantize_row for Q8_0, Q8_1, Q8_K, BF16; F16 for the table's to_f16.
void quantize_q8_0(const float* x, void* y, int64_t n);
void quantize_q8_1(const float* x, void* y, int64_t n);
void quantize_q8_k(const float* x, void* y, int64_t n);
void quantize_f16(const float* x, void* y, int64_t n);
void quantize_bf16(const float* x, void* y, int64_t n);

} // namespace hearth::cpu::scalar
