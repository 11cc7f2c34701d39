// kernels/cpu/avx2/kernels.h: the AVX2 + FMA + F16C kernels (signatures of ops.h's VecDotFn / VecDotMultiFn /
// QuantizeRowFn). Each computes the same integer block sums as its scalar twin in scalar_dot.h; only the float
// accumulation order differs. Callable only on CPUs with those features.
#pragma once

#include "kernels/cpu/ops.h"
#include "kernels/cpu/x16_list.h"

#include <cstddef>
#include <cstdint>

namespace hearth::cpu::avx2 {

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a);
float dot_q4_1_q8_1(int64_t n, const void* w, const void* a);
float dot_q5_0_q8_0(int64_t n, const void* w, const void* a);
float dot_q5_1_q8_1(int64_t n, const void* w, const void* a);
float dot_q8_0_q8_0(int64_t n, const void* w, const void* a);
float dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a);

float dot_q2_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q3_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q4_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q5_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a);
float dot_iq4_xs_q8_k(int64_t n, const void* w, const void* a);

// ops.h's VecDotMultiFn: for each activation row the same arithmetic as the dot above (bit for bit), with the
// weights unpacked once for all rows.
void dot_multi_q4_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q4_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q5_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q5_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q8_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_iq4_nl_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);

void dot_multi_q2_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q3_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q4_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q5_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q6_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_iq4_xs_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);

// ops.h's PackedGemmFn over x16-packed weights (gemm_x16.cpp; the AVX-512 kernels' layouts, two 8-row halves):
// gemm_x16_q8_0, ...
HEARTH_X16_DECLARE_ALL()
// Sets every x16 type's packed_gemm in table to the kernels above.
void register_x16(KernelTable& table);

float dot_f32(int64_t n, const void* w, const void* a);
// F16 weights x F32 activations; the tile form (ops.h's VecDotTileFn) agrees with the one-row form bit for bit.
float dot_f16_f32(int64_t n, const void* w, const void* a);
void dot_tile_f16_f32(int64_t n, const void* w, size_t w_stride, int n_rows, const void* a, size_t a_stride, int n_act,
                      float* out, size_t out_stride);
float dot_bf16(int64_t n, const void* w, const void* a);

// ops.h's AttendF16Fn (attend.cpp).
void attend_f16(const AttnGroup& g, float* scratch);
// ops.h's SiluMulFn (elementwise.cpp).
void silu_mul(float* gate, const float* up, int64_t n);
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
void rope(float* x, int32_t n_heads, int32_t head_dim, int32_t half, const float* cos, const float* sin, bool neox);

// Byte-identical to the scalar (kernels/ref) quantizers.
void quantize_q8_0(const float* x, void* y, int64_t n);
void quantize_q8_1(const float* x, void* y, int64_t n);
void quantize_q8_k(const float* x, void* y, int64_t n);
void quantize_f16(const float* x, void* y, int64_t n); // the table's to_f16 (F16C)

} // namespace hearth::cpu::avx2
