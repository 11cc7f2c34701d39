// kernels/cpu/scalar_dot_float.cpp: F32, F16 (x F32), BF16 dot products (double accumulation, as ggml's scalar
// ggml_vec_dot_f32 / _bf16) and the scalar activation quantizers (kernels/ref's quantizers: the same
// thing as ggml's quantize_row_q8_0_ref etc.).
#include "base/fp16.h"
#include "kernels/cpu/scalar_dot.h"
#include "kernels/ref/quant.h"

namespace hearth::cpu::scalar {

float dot_f32(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(w);
    const auto* y = static_cast<const float*>(a);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
        sum += double(x[i] * y[i]);
    return float(sum);
}

float dot_f16_f32(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const float*>(a);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
        sum += double(fp16_to_f32(x[i])) * double(y[i]);
    return float(sum);
}

float dot_bf16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const uint16_t*>(a);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
        sum += double(bf16_to_f32(x[i]) * bf16_to_f32(y[i]));
    return float(sum);
}

void quantize_q8_0(const float* x, void* y, int64_t n) {
    ref::ref_quantize_row(DType::Q8_0, x, y, n);
}
void quantize_q8_1(const float* x, void* y, int64_t n) {
    ref::ref_quantize_row(DType::Q8_1, x, y, n);
}
void quantize_q8_k(const float* x, void* y, int64_t n) {
    ref::ref_quantize_row(DType::Q8_K, x, y, n);
}
void quantize_f16(const float* x, void* y, int64_t n) {
    ref::ref_quantize_row(DType::F16, x, y, n);
}
void quantize_bf16(const float* x, void* y, int64_t n) {
    ref::ref_quantize_row(DType::BF16, x, y, n);
}

} // namespace hearth::cpu::scalar
