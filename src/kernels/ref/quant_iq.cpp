// kernels/ref/quant_iq.cpp: IQ4_NL and IQ4_XS rows (non-linear 4-bit codebook kIq4NlValues), as ggml's
// dequantize_row_iq4_nl / _xs. The grid-based IQ1/IQ2/IQ3 types are not implemented here yet.
#include "base/fp16.h"
#include "kernels/ref/quant_families.h"
#include "tensor/quant_blocks.h"

namespace hearth::ref::detail {

void dequant_iq4_nl(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockIQ4_NL*>(src);
    for (int64_t i = 0; i < nb; ++i, y += HEARTH_QK4_NL) {
        const float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < HEARTH_QK4_NL / 2; ++j) {
            y[j] = d * float(kIq4NlValues[b[i].qs[j] & 0xF]);
            y[j + HEARTH_QK4_NL / 2] = d * float(kIq4NlValues[b[i].qs[j] >> 4]);
        }
    }
}

void dequant_iq4_xs(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockIQ4_XS*>(src);
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        const uint8_t* qs = b[i].qs;
        for (int ib = 0; ib < HEARTH_QK_K / 32; ++ib, y += 32, qs += 16) {
            const int ls = ((b[i].scales_l[ib / 2] >> 4 * (ib % 2)) & 0xF) | (((b[i].scales_h >> 2 * ib) & 3) << 4);
            const float dl = d * float(ls - 32);
            for (int j = 0; j < 16; ++j) {
                y[j + 0] = dl * float(kIq4NlValues[qs[j] & 0xF]);
                y[j + 16] = dl * float(kIq4NlValues[qs[j] >> 4]);
            }
        }
    }
}

} // namespace hearth::ref::detail
