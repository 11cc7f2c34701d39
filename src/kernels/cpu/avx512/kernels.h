// kernels/cpu/avx512/kernels.h: AVX-512 F/BW/VL + VNNI kernels for the most used weight types (ops.h's
// VecDotFn signature). Same integer block sums as the scalar oracle; float accumulation order differs.
// dot_bf16_bf16 (dot_bf16.cpp) also needs AVX512_BF16 and flushes denormal inputs (see there).
#pragma once

#include "kernels/cpu/ops.h"
#include "kernels/cpu/x16_list.h"

#include <cstddef>
#include <cstdint>

namespace hearth::cpu::avx512 {

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a);

// ops.h's AttendF16Fn (attend.cpp).
void attend_f16(const AttnGroup& g, float* scratch);
// ops.h's SiluMulFn (elementwise.cpp).
void silu_mul(float* gate, const float* up, int64_t n);
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
void rope(float* x, int32_t n_heads, int32_t head_dim, int32_t half, const float* cos, const float* sin, bool neox);

float dot_q4_1_q8_1(int64_t n, const void* w, const void* a);
float dot_q5_0_q8_0(int64_t n, const void* w, const void* a);
float dot_q5_1_q8_1(int64_t n, const void* w, const void* a);
float dot_q8_0_q8_0(int64_t n, const void* w, const void* a);
float dot_q4_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a);
// ops.h's VecDotMultiFn: the same arithmetic as the dot above for each activation row, weights unpacked once.
void dot_multi_q4_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q4_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q5_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q5_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q8_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q4_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);
void dot_multi_q6_k_q8_k(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out);

// F16 weights x F32 activations (dot_float.cpp); the tile form agrees with the one-row form bit for bit.
float dot_f16_f32(int64_t n, const void* w, const void* a);
void dot_tile_f16_f32(int64_t n, const void* w, size_t w_stride, int n_rows, const void* a, size_t a_stride, int n_act,
                      float* out, size_t out_stride);

// ops.h's PackedGemmFn over x16-packed weights (packed.h; gemm_x16.cpp, gemm_x16_k.cpp): gemm_x16_q8_0, ...
HEARTH_X16_DECLARE_ALL()
// The K-quant kernels that GFNI's affine byte transform makes faster (gemm_x16_k_gfni.cpp: gemm_x16_q5_k_gfni), only
// on CPUs with it. (Q2_K's and Q3_K's 2-bit fields through it ran 10-15% slower on Zen 4: their shift and mask are
// short already, and the transform's port is the scarcer one.)
#define HEARTH_X16_GFNI_TYPES(X) X(q5_k_gfni, Q5_K, 5)
HEARTH_X16_GFNI_TYPES(HEARTH_X16_DECLARE)

float dot_bf16_bf16(int64_t n, const void* w, const void* a);

} // namespace hearth::cpu::avx512
