// kernels/cpu/scalar_dot_legacy.cpp: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL dot products against Q8_0 / Q8_1,
// written as ggml's *_generic (ggml-cpu/quants.c) so the results match them bit for bit.
#include "base/fp16.h"
#include "kernels/cpu/scalar_dot.h"
#include "tensor/quant_blocks.h"

#include <cstring>

namespace hearth::cpu::scalar {

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const int64_t nb = n / HEARTH_QK8_0;
    float sumf = 0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < HEARTH_QK8_0 / 2; ++j) {
            const int v0 = (x[ib].qs[j] & 0x0F) - 8;
            const int v1 = (x[ib].qs[j] >> 4) - 8;
            sumi0 += v0 * y[ib].qs[j];
            sumi1 += v1 * y[ib].qs[j + HEARTH_QK8_0 / 2];
        }
        const int sumi = sumi0 + sumi1;
        sumf += float(sumi) * fp16_to_f32(x[ib].d) * fp16_to_f32(y[ib].d);
    }
    return sumf;
}

float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_1*>(w);
    const auto* y = static_cast<const BlockQ8_1*>(a);
    const int64_t nb = n / HEARTH_QK8_1;
    float sumf = 0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < HEARTH_QK8_1 / 2; ++j) {
            sumi0 += (x[ib].qs[j] & 0x0F) * y[ib].qs[j];
            sumi1 += (x[ib].qs[j] >> 4) * y[ib].qs[j + HEARTH_QK8_1 / 2];
        }
        const int sumi = sumi0 + sumi1;
        sumf +=
            (fp16_to_f32(x[ib].d) * fp16_to_f32(y[ib].d)) * float(sumi) + fp16_to_f32(x[ib].m) * fp16_to_f32(y[ib].s);
    }
    return sumf;
}

namespace {
uint32_t load_qh(const uint8_t* qh) {
    uint32_t v;
    std::memcpy(&v, qh, sizeof(v));
    return v;
}
} // namespace

float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const int64_t nb = n / HEARTH_QK8_0;
    float sumf = 0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const uint32_t qh = load_qh(x[ib].qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < HEARTH_QK8_0 / 2; ++j) {
            const int xh0 = int((qh >> j) << 4) & 0x10;
            const int xh1 = int(qh >> (j + 12)) & 0x10;
            const int x0 = ((x[ib].qs[j] & 0x0F) | xh0) - 16;
            const int x1 = ((x[ib].qs[j] >> 4) | xh1) - 16;
            sumi0 += x0 * y[ib].qs[j];
            sumi1 += x1 * y[ib].qs[j + HEARTH_QK8_0 / 2];
        }
        const int sumi = sumi0 + sumi1;
        sumf += (fp16_to_f32(x[ib].d) * fp16_to_f32(y[ib].d)) * float(sumi);
    }
    return sumf;
}

float dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_1*>(w);
    const auto* y = static_cast<const BlockQ8_1*>(a);
    const int64_t nb = n / HEARTH_QK8_1;
    float sumf = 0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const uint32_t qh = load_qh(x[ib].qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < HEARTH_QK8_1 / 2; ++j) {
            const int xh0 = int((qh >> j) << 4) & 0x10;
            const int xh1 = int(qh >> (j + 12)) & 0x10;
            sumi0 += ((x[ib].qs[j] & 0x0F) | xh0) * y[ib].qs[j];
            sumi1 += ((x[ib].qs[j] >> 4) | xh1) * y[ib].qs[j + HEARTH_QK8_1 / 2];
        }
        const int sumi = sumi0 + sumi1;
        sumf +=
            (fp16_to_f32(x[ib].d) * fp16_to_f32(y[ib].d)) * float(sumi) + fp16_to_f32(x[ib].m) * fp16_to_f32(y[ib].s);
    }
    return sumf;
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const int64_t nb = n / HEARTH_QK8_0;
    float sumf = 0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        int sumi = 0;
        for (int j = 0; j < HEARTH_QK8_0; ++j)
            sumi += x[ib].qs[j] * y[ib].qs[j];
        sumf += float(sumi) * (fp16_to_f32(x[ib].d) * fp16_to_f32(y[ib].d));
    }
    return sumf;
}

float dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockIQ4_NL*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const int64_t nb = n / HEARTH_QK4_NL;
    float sumf = 0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float d = fp16_to_f32(y[ib].d) * fp16_to_f32(x[ib].d);
        int sumi1 = 0, sumi2 = 0;
        for (int j = 0; j < HEARTH_QK4_NL / 2; ++j) {
            sumi1 += y[ib].qs[j] * kIq4NlValues[x[ib].qs[j] & 0xf];
            sumi2 += y[ib].qs[j + HEARTH_QK4_NL / 2] * kIq4NlValues[x[ib].qs[j] >> 4];
        }
        sumf += d * float(sumi1 + sumi2);
    }
    return sumf;
}

} // namespace hearth::cpu::scalar
