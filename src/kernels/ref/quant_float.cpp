// kernels/ref/quant_float.cpp: F32, F16 and BF16 rows (block size 1). Rounding is round-to-nearest-even
// (base/fp16.h), as ggml_fp32_to_fp16_row and ggml_fp32_to_bf16_row_ref.
#include "base/fp16.h"
#include "kernels/ref/quant_families.h"

#include <cstring>

namespace hearth::ref::detail {

void dequant_f32(const void* src, float* dst, int64_t nb) {
    std::memcpy(dst, src, size_t(nb) * sizeof(float));
}

void quant_f32(const float* src, void* dst, int64_t nb) {
    std::memcpy(dst, src, size_t(nb) * sizeof(float));
}

void dequant_f16(const void* src, float* dst, int64_t nb) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < nb; ++i)
        dst[i] = fp16_to_f32(h[i]);
}

void quant_f16(const float* src, void* dst, int64_t nb) {
    auto* h = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < nb; ++i)
        h[i] = f32_to_fp16(src[i]);
}

void dequant_bf16(const void* src, float* dst, int64_t nb) {
    const auto* b = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < nb; ++i)
        dst[i] = bf16_to_f32(b[i]);
}

void quant_bf16(const float* src, void* dst, int64_t nb) {
    auto* b = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < nb; ++i)
        b[i] = f32_to_bf16(src[i]);
}

} // namespace hearth::ref::detail
