// kernels/ref/quant_imatrix.cpp: Q4_0, Q4_1, Q5_0, Q5_1 and Q2_K .. Q6_K rows quantized with an importance
// matrix, as ggml's quantize_row_<type>_impl (what llama-quantize --imatrix runs).
//
// The importance of column j is imatrix[j], the mean square of the activations that meet that weight (hearth
// imatrix / llama-imatrix compute it). Each element's weight in the scale searches becomes
// imatrix[j] * sqrt(sigma2 + x_j^2), sigma2 the mean square of the row (legacy types) or super-block (K-quants);
// the K-quants also search their sub-block scales and mins with make_qp_quants weighted by the sub-block sums.
// Operation order as in ggml (see quant_k_make.cpp): the bytes must match llama.cpp's.
#include "base/fp16.h"
#include "kernels/ref/quant_families.h"

#include <algorithm>
#include <cmath>

namespace hearth::ref::detail {
namespace {

constexpr int QK = HEARTH_QK_K;

// Mean square of x[0..n) (the sum in order, then one division).
float mean_square(const float* x, int64_t n) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j)
        sum_x2 += x[j] * x[j];
    return sum_x2 / float(n);
}

void element_weights(const float* x, const float* qw, int n, float sigma2, float* weight) {
    for (int j = 0; j < n; ++j)
        weight[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

// Q4_0 / Q5_0 (symmetric: quants in [0, 2 nmax), nmax 8 or 16) and Q4_1 / Q5_1 (asymmetric: a min, quants in
// [0, nmax], nmax 15 or 31); the 5-bit types keep bit 4 of each quant in qh.
template <class Block> void legacy(const float* x, void* dst, int64_t n, const float* imatrix, int nmax) {
    auto* y = static_cast<Block*>(dst);
    const float sigma2 = mean_square(x, n);
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float* xb = x + 32 * ib;
        float weight[32];
        uint8_t q[32];
        element_weights(xb, imatrix + 32 * ib, 32, sigma2, weight);
        if constexpr (requires { y[ib].m; }) {
            uint8_t Laux[32];
            float min;
            y[ib].d = f32_to_fp16(make_qkx2_quants(32, nmax, xb, weight, q, &min, Laux, -0.9f, 0.05f, 36, false));
            y[ib].m = f32_to_fp16(-min);
        } else {
            int8_t L[32];
            y[ib].d = f32_to_fp16(make_qx_quants(32, nmax, xb, L, weight));
            for (int j = 0; j < 32; ++j)
                q[j] = uint8_t(L[j]);
        }
        for (int j = 0; j < 16; ++j)
            y[ib].qs[j] = uint8_t((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
        if constexpr (requires { y[ib].qh; }) store_qh(q, y[ib].qh);
    }
}

// Q4_K / Q5_K, one super-block: per sub-block of 32 the asymmetric search, then the scales and mins as 6-bit
// multiples of d and dmin found by make_qp_quants, then every element against what will be decoded.
template <class Block> void k4_block(const float* x, Block& y, const float* qw, int nmax, uint8_t* L) {
    const float sigma2 = 2 * mean_square(x, QK);
    float scales[QK / 32], mins[QK / 32], sw[QK / 32], weights[32];
    uint8_t Laux[32], Ls[QK / 32], Lm[QK / 32];
    for (int j = 0; j < QK / 32; ++j) {
        element_weights(x + 32 * j, qw + 32 * j, 32, sigma2, weights);
        float sumw = 0;
        for (int l = 0; l < 32; ++l)
            sumw += weights[l];
        sw[j] = sumw;
        scales[j] =
            make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
    }
    const float d_block = make_qp_quants(QK / 32, 63, scales, Ls, sw);
    const float m_block = make_qp_quants(QK / 32, 63, mins, Lm, sw);
    for (int j = 0; j < QK / 32; ++j)
        set_scale_min_k4(j, std::min<uint8_t>(63, Ls[j]), std::min<uint8_t>(63, Lm[j]), y.scales);
    y.d = f32_to_fp16(d_block);
    y.dmin = f32_to_fp16(m_block);
    requantize_k4(x, y.scales, y.d, y.dmin, nmax, L);
}

} // namespace

void quant_q4_0_imatrix(const float* src, void* dst, int64_t n, const float* imatrix) {
    legacy<BlockQ4_0>(src, dst, n, imatrix, 8);
}

void quant_q5_0_imatrix(const float* src, void* dst, int64_t n, const float* imatrix) {
    legacy<BlockQ5_0>(src, dst, n, imatrix, 16);
}

void quant_q4_1_imatrix(const float* src, void* dst, int64_t n, const float* imatrix) {
    legacy<BlockQ4_1>(src, dst, n, imatrix, 15);
}

void quant_q5_1_imatrix(const float* src, void* dst, int64_t n, const float* imatrix) {
    legacy<BlockQ5_1>(src, dst, n, imatrix, 31);
}

void quant_q2_k_imatrix(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<BlockQ2_K*>(dst);
    for (int64_t i = 0; i < n / QK; ++i, x += QK) {
        const float sigma2 = mean_square(x, QK);
        uint8_t L[QK], Laux[16], Ls[QK / 16], Lm[QK / 16];
        float mins[QK / 16], scales[QK / 16], sw[QK / 16], weight[16];
        for (int j = 0; j < QK / 16; ++j) {
            element_weights(x + 16 * j, imatrix + QK * i + 16 * j, 16, sigma2, weight);
            sw[j] = 0;
            for (int l = 0; l < 16; ++l)
                sw[j] += weight[l];
            scales[j] =
                make_qkx2_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
        }
        const float dm = make_qp_quants(QK / 16, 15, scales, Ls, sw);
        const float mm = make_qp_quants(QK / 16, 15, mins, Lm, sw);
        y[i].d = f32_to_fp16(dm);
        y[i].dmin = f32_to_fp16(mm);
        for (int j = 0; j < QK / 16; ++j)
            y[i].scales[j] = uint8_t(Ls[j] | (Lm[j] << 4));
        // Every element against the scale and min that will be decoded.
        const float dd = fp16_to_f32(y[i].d), ddmin = fp16_to_f32(y[i].dmin);
        for (int j = 0; j < QK / 16; ++j) {
            const float d = dd * float(y[i].scales[j] & 0xF);
            if (d == 0.0f) continue;
            const float m = ddmin * float(y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii)
                L[16 * j + ii] = uint8_t(std::max(0, std::min(3, nearest_int((x[16 * j + ii] + m) / d))));
        }
        pack_2bit(L, y[i].qs);
    }
}

void quant_q3_k_imatrix(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<BlockQ3_K*>(dst);
    for (int64_t i = 0; i < n / QK; ++i, x += QK) {
        const float sigma2 = 2 * mean_square(x, QK);
        int8_t L[QK], Ls[QK / 16];
        float scales[QK / 16], weight[16], sw[QK / 16];
        for (int j = 0; j < QK / 16; ++j) {
            element_weights(x + 16 * j, imatrix + QK * i + 16 * j, 16, sigma2, weight);
            float sumw = 0;
            for (int l = 0; l < 16; ++l)
                sumw += weight[l];
            sw[j] = sumw;
            scales[j] = make_qx_quants(16, 4, x + 16 * j, L + 16 * j, weight);
        }
        std::memset(y[i].scales, 0, sizeof(y[i].scales));
        const float d_block = make_qx_quants(QK / 16, 32, scales, Ls, sw);
        for (int j = 0; j < QK / 16; ++j) {
            int l = Ls[j];
            if (j < 8)
                y[i].scales[j] = uint8_t(l & 0xF);
            else
                y[i].scales[j - 8] |= uint8_t((l & 0xF) << 4);
            l >>= 4;
            y[i].scales[j % 4 + 8] |= uint8_t(l << (2 * (j / 4)));
        }
        y[i].d = f32_to_fp16(d_block);
        for (int j = 0; j < QK / 16; ++j) {
            int sc = j < 8 ? y[i].scales[j] & 0xF : y[i].scales[j - 8] >> 4;
            sc = int(int8_t((sc | (((y[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32));
            const float d = fp16_to_f32(y[i].d) * float(sc);
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ++ii)
                L[16 * j + ii] = int8_t(std::max(-4, std::min(3, nearest_int(x[16 * j + ii] / d))) + 4);
        }
        pack_q3_k(L, y[i].hmask, y[i].qs);
    }
}

void quant_q4_k_imatrix(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<BlockQ4_K*>(dst);
    for (int64_t i = 0; i < n / QK; ++i) {
        uint8_t L[QK];
        k4_block(x + QK * i, y[i], imatrix + QK * i, 15, L);
        pack_q4_k(L, y[i].qs);
    }
}

void quant_q5_k_imatrix(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<BlockQ5_K*>(dst);
    for (int64_t i = 0; i < n / QK; ++i) {
        uint8_t L[QK];
        k4_block(x + QK * i, y[i], imatrix + QK * i, 31, L);
        pack_q5_k(L, y[i].qs, y[i].qh);
    }
}

void quant_q6_k_imatrix(const float* x, void* dst, int64_t n, const float* imatrix) {
    quant_q6_k_weighted(x, dst, n / QK, imatrix);
}

} // namespace hearth::ref::detail
