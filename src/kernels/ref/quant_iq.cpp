// kernels/ref/quant_iq.cpp: IQ4_NL and IQ4_XS rows (non-linear 4-bit codebook kIq4NlValues), as ggml's
// dequantize_row_iq4_nl / _xs and quantize_iq4_nl / _xs (what llama-quantize runs, with or without an importance
// matrix: a search over 15 candidate scales per block of 32). The grid-based IQ1/IQ2/IQ3 types are not implemented.
#include "base/fp16.h"
#include "kernels/ref/quant_families.h"
#include "tensor/quant_blocks.h"

#include <algorithm>
#include <cmath>

namespace hearth::ref::detail {
namespace {

constexpr float kGroupMaxEps = 1e-15f;
constexpr int kTries = 7; // candidate scales (values[0] + t) / max for t in [-7, 7]

// Index of the codebook value nearest x (the lower one on ties), by bisection as ggml's best_index_int8.
int best_index(float x) {
    const int8_t* val = kIq4NlValues;
    if (x <= float(val[0])) return 0;
    if (x >= float(val[15])) return 15;
    int ml = 0, mu = 15;
    while (mu - ml > 1) {
        const int mav = (ml + mu) / 2;
        if (x < float(val[mav]))
            mu = mav;
        else
            ml = mav;
    }
    return x - float(val[mu - 1]) < float(val[mu]) - x ? mu - 1 : mu;
}

// Scale of one block of 32 (its quants in L): the least-squares scale of the best of the candidate scales, weighted
// by qw * sqrt(sigma2 + x^2) with an importance matrix, x^2 without.
float iq4_block_scale(const float* x, const float* qw, float sigma2, uint8_t* L) {
    float weight[32];
    for (int j = 0; j < 32; ++j)
        weight[j] = qw != nullptr ? qw[j] * std::sqrt(sigma2 + x[j] * x[j]) : x[j] * x[j];
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
        const float ax = std::fabs(x[j]);
        if (ax > amax) {
            amax = ax;
            max = x[j];
        }
    }
    if (amax < kGroupMaxEps) return 0;
    const float v0 = float(kIq4NlValues[0]);
    float d = -max / v0;
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
        const int l = best_index(id * x[j]);
        L[j] = uint8_t(l);
        const float q = float(kIq4NlValues[l]);
        sumqx += weight[j] * q * x[j];
        sumq2 += weight[j] * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -kTries; itry <= kTries; ++itry) {
        id = float(itry + kIq4NlValues[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = float(kIq4NlValues[best_index(id * x[j])]);
            sumqx += weight[j] * q * x[j];
            sumq2 += weight[j] * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

float sigma2_of(const float* x, int n) {
    float s = 0;
    for (int j = 0; j < n; ++j)
        s += x[j] * x[j];
    return s * (2.f / float(n));
}

// Quants l and l + 16 of each 32 share a byte (low and high nibble).
void pack_iq4(const uint8_t* L, int n, uint8_t* qs) {
    for (int i = 0; i < n / 32; ++i) {
        for (int j = 0; j < 16; ++j)
            qs[16 * i + j] = uint8_t(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
    }
}

void iq4_nl_block(const float* x, const float* qw, BlockIQ4_NL& y) {
    uint8_t L[32];
    const float scale = iq4_block_scale(x, qw, sigma2_of(x, 32), L);
    y.d = f32_to_fp16(scale);
    const float id = scale != 0.0f ? 1 / scale : 0;
    for (int j = 0; j < 32; ++j)
        L[j] = uint8_t(best_index(id * x[j]));
    pack_iq4(L, 32, y.qs);
}

// IQ4_XS: the 8 block scales as 6-bit signed multiples of d = -max_scale / 32.
void iq4_xs_block(const float* x, const float* qw, BlockIQ4_XS& y) {
    uint8_t L[HEARTH_QK_K];
    float scales[HEARTH_QK_K / 32];
    const float sigma2 = sigma2_of(x, HEARTH_QK_K);
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < HEARTH_QK_K / 32; ++ib) {
        scales[ib] = iq4_block_scale(x + 32 * ib, qw != nullptr ? qw + 32 * ib : nullptr, sigma2, L + 32 * ib);
        if (std::fabs(scales[ib]) > amax_scale) {
            amax_scale = std::fabs(scales[ib]);
            max_scale = scales[ib];
        }
    }
    y.scales_h = 0;
    std::memset(y.scales_l, 0, sizeof(y.scales_l));
    const float d = -max_scale / 32;
    y.d = f32_to_fp16(d);
    const float id = d != 0.0f ? 1 / d : 0.f;
    for (int ib = 0; ib < HEARTH_QK_K / 32; ++ib) {
        const int l = std::max(-32, std::min(31, nearest_int(id * scales[ib])));
        const float dl = d * float(l);
        const float idl = dl != 0.0f ? 1 / dl : 0.f;
        for (int j = 0; j < 32; ++j)
            L[32 * ib + j] = uint8_t(best_index(idl * x[32 * ib + j]));
        const int lu = l + 32;
        y.scales_l[ib / 2] |= uint8_t((lu & 0xF) << (4 * (ib % 2)));
        y.scales_h = uint16_t(y.scales_h | ((lu >> 4) << (2 * ib)));
    }
    pack_iq4(L, HEARTH_QK_K, y.qs);
}

} // namespace

void quant_iq4_nl(const float* src, void* dst, int64_t nb) {
    auto* y = static_cast<BlockIQ4_NL*>(dst);
    for (int64_t i = 0; i < nb; ++i)
        iq4_nl_block(src + 32 * i, nullptr, y[i]);
}

void quant_iq4_xs(const float* src, void* dst, int64_t nb) {
    auto* y = static_cast<BlockIQ4_XS*>(dst);
    for (int64_t i = 0; i < nb; ++i)
        iq4_xs_block(src + HEARTH_QK_K * i, nullptr, y[i]);
}

void quant_iq4_nl_imatrix(const float* src, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<BlockIQ4_NL*>(dst);
    for (int64_t i = 0; i < n / 32; ++i)
        iq4_nl_block(src + 32 * i, imatrix + 32 * i, y[i]);
}

void quant_iq4_xs_imatrix(const float* src, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<BlockIQ4_XS*>(dst);
    for (int64_t i = 0; i < n / HEARTH_QK_K; ++i)
        iq4_xs_block(src + HEARTH_QK_K * i, imatrix + HEARTH_QK_K * i, y[i]);
}

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
