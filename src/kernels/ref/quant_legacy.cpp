// kernels/ref/quant_legacy.cpp: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 (32-element blocks, one scale each).
//
// Quantizers mirror ggml's quantize_row_*_ref: the symmetric types scale by the signed value of largest
// magnitude (so it maps exactly to -8 / -16), the asymmetric ones by (max - min), and round by adding 0.5
// (plus the offset) and truncating. The scales are stored as half but the quants are computed from the
// float scale, as ggml does.
#include "base/fp16.h"
#include "kernels/ref/quant_families.h"
#include "tensor/quant_blocks.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

namespace hearth::ref::detail {
namespace {

// The signed element of largest magnitude (the first one on ties); 0 for an all-zero block.
float signed_absmax(const float* x, int n) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void min_max(const float* x, int n, float* min, float* max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < n; ++j) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

uint32_t load_qh(const uint8_t* qh_bytes) {
    uint32_t qh;
    std::memcpy(&qh, qh_bytes, sizeof(qh));
    return qh;
}

// Shared by Q8_0 and Q8_1: d = absmax / 127, quants rounded half away from zero. Returns the float d.
float quant_8bit(const float* x, int8_t* qs, HalfBits* d_half) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
        amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d_half = f32_to_fp16(d);
    for (int j = 0; j < 32; ++j)
        qs[j] = int8_t(std::round(x[j] * id));
    return d;
}

} // namespace

// Bit 4 of each of the 32 quants, packed as Q5_0 / Q5_1 store it (quant j -> bit j).
void store_qh(const uint8_t* q, uint8_t* qh_bytes) {
    uint32_t qh = 0;
    for (int j = 0; j < 32; ++j)
        qh |= uint32_t((q[j] & 0x10u) >> 4) << j;
    std::memcpy(qh_bytes, &qh, sizeof(qh)); // little-endian host
}

void dequant_q4_0(const void* src, float* dst, int64_t nb) {
    const auto* b = static_cast<const BlockQ4_0*>(src);
    for (int64_t i = 0; i < nb; ++i, dst += HEARTH_QK4_0) {
        const float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < HEARTH_QK4_0 / 2; ++j) {
            dst[j] = float((b[i].qs[j] & 0x0F) - 8) * d;
            dst[j + 16] = float((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void quant_q4_0(const float* src, void* dst, int64_t nb) {
    auto* b = static_cast<BlockQ4_0*>(dst);
    for (int64_t i = 0; i < nb; ++i, src += HEARTH_QK4_0) {
        const float d = signed_absmax(src, HEARTH_QK4_0) / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = f32_to_fp16(d);
        for (int j = 0; j < HEARTH_QK4_0 / 2; ++j) {
            // x * id is in [-8, 8]; truncation after + 8.5 rounds half up; 16 (x == -max) clamps to 15.
            const uint8_t lo = uint8_t(std::min(15, int(int8_t(src[j] * id + 8.5f))));
            const uint8_t hi = uint8_t(std::min(15, int(int8_t(src[j + 16] * id + 8.5f))));
            b[i].qs[j] = uint8_t(lo | (hi << 4));
        }
    }
}

void dequant_q4_1(const void* src, float* dst, int64_t nb) {
    const auto* b = static_cast<const BlockQ4_1*>(src);
    for (int64_t i = 0; i < nb; ++i, dst += HEARTH_QK4_1) {
        const float d = fp16_to_f32(b[i].d);
        const float m = fp16_to_f32(b[i].m);
        for (int j = 0; j < HEARTH_QK4_1 / 2; ++j) {
            dst[j] = float(b[i].qs[j] & 0x0F) * d + m;
            dst[j + 16] = float(b[i].qs[j] >> 4) * d + m;
        }
    }
}

void quant_q4_1(const float* src, void* dst, int64_t nb) {
    auto* b = static_cast<BlockQ4_1*>(dst);
    for (int64_t i = 0; i < nb; ++i, src += HEARTH_QK4_1) {
        float min, max;
        min_max(src, HEARTH_QK4_1, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = f32_to_fp16(d);
        b[i].m = f32_to_fp16(min);
        for (int j = 0; j < HEARTH_QK4_1 / 2; ++j) {
            const uint8_t lo = uint8_t(std::min(15, int(int8_t((src[j] - min) * id + 0.5f))));
            const uint8_t hi = uint8_t(std::min(15, int(int8_t((src[j + 16] - min) * id + 0.5f))));
            b[i].qs[j] = uint8_t(lo | (hi << 4));
        }
    }
}

void dequant_q5_0(const void* src, float* dst, int64_t nb) {
    const auto* b = static_cast<const BlockQ5_0*>(src);
    for (int64_t i = 0; i < nb; ++i, dst += HEARTH_QK5_0) {
        const float d = fp16_to_f32(b[i].d);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < HEARTH_QK5_0 / 2; ++j) {
            const int lo = (b[i].qs[j] & 0x0F) | int(((qh >> j) << 4) & 0x10);
            const int hi = (b[i].qs[j] >> 4) | int((qh >> (j + 12)) & 0x10);
            dst[j] = float(lo - 16) * d;
            dst[j + 16] = float(hi - 16) * d;
        }
    }
}

void quant_q5_0(const float* src, void* dst, int64_t nb) {
    auto* b = static_cast<BlockQ5_0*>(dst);
    for (int64_t i = 0; i < nb; ++i, src += HEARTH_QK5_0) {
        const float d = signed_absmax(src, HEARTH_QK5_0) / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = f32_to_fp16(d);
        uint8_t q[HEARTH_QK5_0];
        for (int j = 0; j < HEARTH_QK5_0; ++j)
            q[j] = uint8_t(std::min(31, int(int8_t(src[j] * id + 16.5f))));
        for (int j = 0; j < HEARTH_QK5_0 / 2; ++j)
            b[i].qs[j] = uint8_t((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
        store_qh(q, b[i].qh);
    }
}

void dequant_q5_1(const void* src, float* dst, int64_t nb) {
    const auto* b = static_cast<const BlockQ5_1*>(src);
    for (int64_t i = 0; i < nb; ++i, dst += HEARTH_QK5_1) {
        const float d = fp16_to_f32(b[i].d);
        const float m = fp16_to_f32(b[i].m);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < HEARTH_QK5_1 / 2; ++j) {
            const int lo = (b[i].qs[j] & 0x0F) | int(((qh >> j) << 4) & 0x10);
            const int hi = (b[i].qs[j] >> 4) | int((qh >> (j + 12)) & 0x10);
            dst[j] = float(lo) * d + m;
            dst[j + 16] = float(hi) * d + m;
        }
    }
}

void quant_q5_1(const float* src, void* dst, int64_t nb) {
    auto* b = static_cast<BlockQ5_1*>(dst);
    for (int64_t i = 0; i < nb; ++i, src += HEARTH_QK5_1) {
        float min, max;
        min_max(src, HEARTH_QK5_1, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = f32_to_fp16(d);
        b[i].m = f32_to_fp16(min);
        uint8_t q[HEARTH_QK5_1];
        // (x - min) * id is in [0, 31] up to rounding, so no clamp (ggml has none either).
        for (int j = 0; j < HEARTH_QK5_1; ++j)
            q[j] = uint8_t((src[j] - min) * id + 0.5f);
        for (int j = 0; j < HEARTH_QK5_1 / 2; ++j)
            b[i].qs[j] = uint8_t((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
        store_qh(q, b[i].qh);
    }
}

void dequant_q8_0(const void* src, float* dst, int64_t nb) {
    const auto* b = static_cast<const BlockQ8_0*>(src);
    for (int64_t i = 0; i < nb; ++i, dst += HEARTH_QK8_0) {
        const float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < HEARTH_QK8_0; ++j)
            dst[j] = float(b[i].qs[j]) * d;
    }
}

void quant_q8_0(const float* src, void* dst, int64_t nb) {
    auto* b = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < nb; ++i, src += HEARTH_QK8_0)
        quant_8bit(src, b[i].qs, &b[i].d);
}

void dequant_q8_1(const void* src, float* dst, int64_t nb) {
    const auto* b = static_cast<const BlockQ8_1*>(src);
    for (int64_t i = 0; i < nb; ++i, dst += HEARTH_QK8_1) {
        const float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < HEARTH_QK8_1; ++j)
            dst[j] = float(b[i].qs[j]) * d;
    }
}

void quant_q8_1(const float* src, void* dst, int64_t nb) {
    auto* b = static_cast<BlockQ8_1*>(dst);
    for (int64_t i = 0; i < nb; ++i, src += HEARTH_QK8_1) {
        const float d = quant_8bit(src, b[i].qs, &b[i].d);
        int sum = 0;
        for (int j = 0; j < HEARTH_QK8_1; ++j)
            sum += b[i].qs[j];
        b[i].s = f32_to_fp16(float(sum) * d);
    }
}

} // namespace hearth::ref::detail
