// kernels/ref/quant_k.cpp: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K rows (256-element super-blocks).
//
// Dequantization mirrors ggml's dequantize_row_*; quantization its quantize_row_*_ref: choose a scale (and
// min) per sub-block with a search (quant_k_make.cpp), quantize those scales against the super-block's half
// scale, then requantize every element against the scale that will actually be decoded. Layouts and what
// each field means: tensor/quant_blocks.h.
#include "base/fp16.h"
#include "kernels/ref/quant_families.h"
#include "tensor/quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace hearth::ref::detail {
namespace {

constexpr int QK = HEARTH_QK_K;

// Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.
void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = uint8_t((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

// Q3_K: signed 6-bit scale of sub-block j (0..15), offset by 32 in the packed bytes.
int q3_k_scale(const uint8_t* scales, int j) {
    const int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    return (lo | (((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

// Q4_K / Q5_K: packs the sub-block scales and mins as 6-bit fractions of their maxima, which become the
// half super-block scales d and dmin.
void pack_scales_mins(const float* scales, const float* mins, uint8_t* y_scales, HalfBits* d, HalfBits* dmin) {
    float max_scale = 0; // scales are >= 0 because the min was taken out
    float max_min = 0;
    for (int j = 0; j < QK / 32; ++j) {
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK / 32; ++j) {
        const uint8_t ls = std::min<uint8_t>(63, uint8_t(nearest_int(inv_scale * scales[j])));
        const uint8_t lm = std::min<uint8_t>(63, uint8_t(nearest_int(inv_min * mins[j])));
        set_scale_min_k4(j, ls, lm, y_scales);
    }
    *d = f32_to_fp16(max_scale / 63.f);
    *dmin = f32_to_fp16(max_min / 63.f);
}

// Q4_K / Q5_K: per 32-element sub-block, the asymmetric search weighted by rms + |x|.
void search_sub_blocks(const float* x, int nmax, float rmin, int nstep, uint8_t* L, float* scales, float* mins) {
    float weights[32];
    uint8_t Laux[32];
    for (int j = 0; j < QK / 32; ++j) {
        const float* xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l)
            sum_x2 += xs[l] * xs[l];
        const float av_x = std::sqrt(sum_x2 / 32);
        for (int l = 0; l < 32; ++l)
            weights[l] = av_x + std::fabs(xs[l]);
        scales[j] = make_qkx2_quants(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    }
}

} // namespace

void set_scale_min_k4(int j, uint8_t ls, uint8_t lm, uint8_t* q) {
    if (j < 4) {
        q[j] = ls;
        q[j + 4] = lm;
    } else {
        q[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
        q[j - 4] |= uint8_t((ls >> 4) << 6);
        q[j - 0] |= uint8_t((lm >> 4) << 6);
    }
}

// Q2_K / Q3_K: quant i of the super-block goes to qs[32 * (i / 128) + i % 32] at shift 2 * ((i % 128) / 32).
void pack_2bit(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < QK; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
    }
}

// Q4_K / Q5_K: quantize every element against its decoded sub-block scale and min.
void requantize_k4(const float* x, const uint8_t* y_scales, HalfBits d_half, HalfBits dmin_half, int nmax, uint8_t* L) {
    for (int j = 0; j < QK / 32; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, y_scales, &sc, &m);
        const float d = fp16_to_f32(d_half) * float(sc);
        if (d == 0.0f) continue; // keep the search's quants
        const float dm = fp16_to_f32(dmin_half) * float(m);
        for (int ii = 0; ii < 32; ++ii) {
            L[32 * j + ii] = uint8_t(std::max(0, std::min(nmax, nearest_int((x[32 * j + ii] + dm) / d))));
        }
    }
}

// Q3_K: the high bit of quant j into bit j / 32 of hmask[j % 32]; the low two bits packed as Q2_K's.
void pack_q3_k(const int8_t* L, uint8_t* hmask, uint8_t* qs) {
    std::memset(hmask, 0, QK / 8);
    uint8_t Lu[QK];
    for (int j = 0; j < QK; ++j) {
        int l = L[j];
        if (l > 3) {
            hmask[j % 32] |= uint8_t(1u << (j / 32));
            l -= 4;
        }
        Lu[j] = uint8_t(l);
    }
    pack_2bit(Lu, qs);
}

void pack_q4_k(const uint8_t* L, uint8_t* q) {
    for (int j = 0; j < QK; j += 64, q += 32) {
        for (int l = 0; l < 32; ++l)
            q[l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
    }
}

void pack_q5_k(const uint8_t* L, uint8_t* ql, uint8_t* qh) {
    std::memset(qh, 0, QK / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < QK; n += 64, ql += 32, m1 = uint8_t(m1 << 2), m2 = uint8_t(m2 << 2)) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j];
            if (l1 > 15) {
                l1 -= 16;
                qh[j] |= m1;
            }
            int l2 = L[n + j + 32];
            if (l2 > 15) {
                l2 -= 16;
                qh[j] |= m2;
            }
            ql[j] = uint8_t(l1 | (l2 << 4));
        }
    }
}

// ---- Q2_K -------------------------------------------------------------------------------------------------

void dequant_q2_k(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockQ2_K*>(src);
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        const float min = fp16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        int is = 0;
        for (int n = 0; n < QK; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    const uint8_t sc = b[i].scales[is++];
                    const float dl = d * float(sc & 0xF);
                    const float ml = min * float(sc >> 4);
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * float((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

void quant_q2_k(const float* x, void* dst, int64_t nb) {
    auto* y = static_cast<BlockQ2_K*>(dst);
    const float q4scale = 15.f;
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        uint8_t L[QK];
        uint8_t Laux[16];
        float weights[16];
        float mins[QK / 16];
        float scales[QK / 16];
        float max_scale = 0;
        float max_min = 0;
        for (int j = 0; j < QK / 16; ++j) {
            for (int l = 0; l < 16; ++l)
                weights[l] = std::fabs(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
            max_scale = std::max(max_scale, scales[j]);
            max_min = std::max(max_min, mins[j]);
        }
        if (max_scale > 0) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < QK / 16; ++j)
                y[i].scales[j] = uint8_t(nearest_int(iscale * scales[j]));
            y[i].d = f32_to_fp16(max_scale / q4scale);
        } else {
            std::memset(y[i].scales, 0, sizeof(y[i].scales));
            y[i].d = f32_to_fp16(0.f);
        }
        if (max_min > 0) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < QK / 16; ++j)
                y[i].scales[j] |= uint8_t(nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = f32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = f32_to_fp16(0.f);
        }
        for (int j = 0; j < QK / 16; ++j) {
            const float d = fp16_to_f32(y[i].d) * float(y[i].scales[j] & 0xF);
            if (d == 0.0f) continue;
            const float dm = fp16_to_f32(y[i].dmin) * float(y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                L[16 * j + ii] = uint8_t(std::max(0, std::min(3, nearest_int((x[16 * j + ii] + dm) / d))));
            }
        }
        pack_2bit(L, y[i].qs);
    }
}

// ---- Q3_K -------------------------------------------------------------------------------------------------

void dequant_q3_k(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockQ3_K*>(src);
    for (int64_t i = 0; i < nb; ++i) {
        const float d_all = fp16_to_f32(b[i].d);
        const uint8_t* q = b[i].qs;
        const uint8_t* hm = b[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < QK; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = uint8_t(m << 1)) {
                for (int half = 0; half < 2; ++half) {
                    const float dl = d_all * float(q3_k_scale(b[i].scales, is++));
                    for (int l = 16 * half; l < 16 * half + 16; ++l) {
                        *y++ = dl * float(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                    }
                }
            }
        }
    }
}

void quant_q3_k(const float* x, void* dst, int64_t nb) {
    auto* y = static_cast<BlockQ3_K*>(dst);
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        int8_t L[QK];
        float scales[QK / 16];
        float max_scale = 0;
        float amax = 0;
        for (int j = 0; j < QK / 16; ++j) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            const float scale = std::fabs(scales[j]);
            if (scale > amax) {
                amax = scale;
                max_scale = scales[j];
            }
        }
        std::memset(y[i].scales, 0, sizeof(y[i].scales));
        if (max_scale != 0.0f) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < QK / 16; ++j) {
                int l = std::max(-32, std::min(31, int(int8_t(nearest_int(iscale * scales[j]))))) + 32;
                if (j < 8) {
                    y[i].scales[j] = uint8_t(l & 0xF);
                } else {
                    y[i].scales[j - 8] |= uint8_t((l & 0xF) << 4);
                }
                l >>= 4;
                y[i].scales[j % 4 + 8] |= uint8_t(l << (2 * (j / 4)));
            }
            y[i].d = f32_to_fp16(1 / iscale);
        } else {
            y[i].d = f32_to_fp16(0.f);
        }
        for (int j = 0; j < QK / 16; ++j) {
            const float d = fp16_to_f32(y[i].d) * float(q3_k_scale(y[i].scales, j));
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ++ii) {
                L[16 * j + ii] = int8_t(std::max(-4, std::min(3, nearest_int(x[16 * j + ii] / d))) + 4);
            }
        }
        pack_q3_k(L, y[i].hmask, y[i].qs);
    }
}

// ---- Q4_K -------------------------------------------------------------------------------------------------

void dequant_q4_k(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockQ4_K*>(src);
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* q = b[i].qs;
        const float d = fp16_to_f32(b[i].d);
        const float min = fp16_to_f32(b[i].dmin);
        for (int is = 0; is < QK / 32; is += 2, q += 32) {
            uint8_t sc, m;
            get_scale_min_k4(is + 0, b[i].scales, &sc, &m);
            const float d1 = d * float(sc), m1 = min * float(m);
            get_scale_min_k4(is + 1, b[i].scales, &sc, &m);
            const float d2 = d * float(sc), m2 = min * float(m);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * float(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * float(q[l] >> 4) - m2;
        }
    }
}

void quant_q4_k(const float* x, void* dst, int64_t nb) {
    auto* y = static_cast<BlockQ4_K*>(dst);
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        uint8_t L[QK];
        float mins[QK / 32];
        float scales[QK / 32];
        search_sub_blocks(x, 15, -1.f, 20, L, scales, mins);
        pack_scales_mins(scales, mins, y[i].scales, &y[i].d, &y[i].dmin);
        requantize_k4(x, y[i].scales, y[i].d, y[i].dmin, 15, L);
        pack_q4_k(L, y[i].qs);
    }
}

// ---- Q5_K -------------------------------------------------------------------------------------------------

void dequant_q5_k(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockQ5_K*>(src);
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* ql = b[i].qs;
        const uint8_t* qh = b[i].qh;
        const float d = fp16_to_f32(b[i].d);
        const float min = fp16_to_f32(b[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < QK / 32; is += 2, ql += 32, u1 = uint8_t(u1 << 2), u2 = uint8_t(u2 << 2)) {
            uint8_t sc, m;
            get_scale_min_k4(is + 0, b[i].scales, &sc, &m);
            const float d1 = d * float(sc), m1 = min * float(m);
            get_scale_min_k4(is + 1, b[i].scales, &sc, &m);
            const float d2 = d * float(sc), m2 = min * float(m);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * float((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * float((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void quant_q5_k(const float* x, void* dst, int64_t nb) {
    auto* y = static_cast<BlockQ5_K*>(dst);
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        uint8_t L[QK];
        float mins[QK / 32];
        float scales[QK / 32];
        search_sub_blocks(x, 31, -0.5f, 15, L, scales, mins);
        pack_scales_mins(scales, mins, y[i].scales, &y[i].d, &y[i].dmin);
        requantize_k4(x, y[i].scales, y[i].d, y[i].dmin, 31, L);
        pack_q5_k(L, y[i].qs, y[i].qh);
    }
}

// ---- Q6_K -------------------------------------------------------------------------------------------------

void dequant_q6_k(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockQ6_K*>(src);
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        const uint8_t* ql = b[i].ql;
        const uint8_t* qh = b[i].qh;
        const int8_t* sc = b[i].scales;
        for (int n = 0; n < QK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * float(sc[is + 0]) * float(q1);
                y[l + 32] = d * float(sc[is + 2]) * float(q2);
                y[l + 64] = d * float(sc[is + 4]) * float(q3);
                y[l + 96] = d * float(sc[is + 6]) * float(q4);
            }
        }
    }
}

void quant_q6_k(const float* x, void* dst, int64_t nb) {
    quant_q6_k_weighted(x, dst, nb, nullptr);
}

void quant_q6_k_weighted(const float* x, void* dst, int64_t nb, const float* qw) {
    auto* y = static_cast<BlockQ6_K*>(dst);
    for (int64_t i = 0; i < nb; ++i, x += QK, qw = qw != nullptr ? qw + QK : nullptr) {
        int8_t L[QK];
        float scales[QK / 16];
        float max_scale = 0;
        float max_abs_scale = 0;
        for (int ib = 0; ib < QK / 16; ++ib) {
            scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw != nullptr ? qw + 16 * ib : nullptr);
            if (std::fabs(scales[ib]) > max_abs_scale) {
                max_abs_scale = std::fabs(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < 1e-15f) { // ggml's GROUP_MAX_EPS: an all-zero super-block
            std::memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = f32_to_fp16(1 / iscale);
        for (int ib = 0; ib < QK / 16; ++ib)
            y[i].scales[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
        for (int j = 0; j < QK / 16; ++j) {
            const float d = fp16_to_f32(y[i].d) * float(y[i].scales[j]);
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ++ii) {
                L[16 * j + ii] = int8_t(std::max(-32, std::min(31, nearest_int(x[16 * j + ii] / d))) + 32);
            }
        }
        uint8_t* ql = y[i].ql;
        uint8_t* qh = y[i].qh;
        for (int j = 0; j < QK; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l + 0] & 0xF;
                const uint8_t q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF;
                const uint8_t q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = uint8_t(q1 | (q3 << 4));
                ql[l + 32] = uint8_t(q2 | (q4 << 4));
                qh[l] = uint8_t((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

// ---- Q8_K -------------------------------------------------------------------------------------------------

void dequant_q8_k(const void* src, float* y, int64_t nb) {
    const auto* b = static_cast<const BlockQ8_K*>(src);
    for (int64_t i = 0; i < nb; ++i) {
        for (int j = 0; j < QK; ++j)
            *y++ = b[i].d * float(b[i].qs[j]);
    }
}

void quant_q8_k(const float* x, void* dst, int64_t nb) {
    auto* y = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < nb; ++i, x += QK) {
        float max = 0;
        float amax = 0;
        for (int j = 0; j < QK; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            std::memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        // -127 rather than -128 so that the largest value maps to -127 and SIMD code can negate freely.
        const float iscale = -127.f / max;
        for (int j = 0; j < QK; ++j)
            y[i].qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
        for (int j = 0; j < QK / 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii)
                sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = int16_t(sum);
        }
        y[i].d = 1 / iscale;
    }
}

} // namespace hearth::ref::detail
