// kernels/cpu/scalar_dot_k.cpp: Q2_K .. Q6_K and IQ4_XS dot products against Q8_K, written as ggml's
// ggml_vec_dot_*_q8_K_generic (ggml-cpu/quants.c): the quants of a super-block are unpacked to int8, summed
// per 8-lane group in int32 (aux32), and the lanes accumulated in float with the super-block scale.
#include "base/fp16.h"
#include "kernels/cpu/k_scales.h"
#include "kernels/cpu/scalar_dot.h"
#include "tensor/quant_blocks.h"

#include <cstring>
#include <type_traits>

namespace hearth::cpu::scalar {
namespace {

constexpr int QK = HEARTH_QK_K;

// aux32[l] += scale * (a[l] * q8[l]) over 8-lane groups of one sub-block of `len` quants.
inline void accumulate_lanes(int32_t* aux32, int32_t scale, const int8_t* a, const int8_t* q8, int len) {
    for (int g = 0; g < len; g += 8) {
        for (int l = 0; l < 8; ++l)
            aux32[l] += scale * int16_t(q8[g + l] * a[g + l]);
    }
}

} // namespace

float dot_q2_k_q8_k(int64_t n, const void* w, const void* act) {
    const auto* x = static_cast<const BlockQ2_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(act);
    const int64_t nb = n / QK;
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* q2 = x[i].qs;
        const int8_t* q8 = y[i].qs;
        const uint8_t* sc = x[i].scales;
        int summs = 0;
        for (int j = 0; j < 16; ++j)
            summs += y[i].bsums[j] * (sc[j] >> 4);
        const float dall = y[i].d * fp16_to_f32(x[i].d);
        const float dmin = y[i].d * fp16_to_f32(x[i].dmin);
        int isum = 0;
        int is = 0;
        for (int k = 0; k < QK / 128; ++k) {
            for (int shift = 0; shift < 8; shift += 2) {
                int d = sc[is++] & 0xF;
                int isuml = 0;
                for (int l = 0; l < 16; ++l)
                    isuml += q8[l] * ((q2[l] >> shift) & 3);
                isum += d * isuml;
                d = sc[is++] & 0xF;
                isuml = 0;
                for (int l = 16; l < 32; ++l)
                    isuml += q8[l] * ((q2[l] >> shift) & 3);
                isum += d * isuml;
                q8 += 32;
            }
            q2 += 32;
        }
        sumf += dall * float(isum) - dmin * float(summs);
    }
    return sumf;
}

float dot_q3_k_q8_k(int64_t n, const void* w, const void* act) {
    const auto* x = static_cast<const BlockQ3_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(act);
    const int64_t nb = n / QK;
    int8_t aux8[QK];
    float sums[8] = {};
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* q3 = x[i].qs;
        const uint8_t* hm = x[i].hmask;
        int8_t* a = aux8;
        uint8_t m = 1;
        for (int j = 0; j < QK; j += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int l = 0; l < 32; ++l)
                    a[l] = int8_t(((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                a += 32;
                m = uint8_t(m << 1);
            }
            q3 += 32;
        }
        uint32_t aux[4];
        unpack_q3_k_scales(x[i].scales, aux);
        int8_t scales[16];
        std::memcpy(scales, aux, sizeof(scales));
        int32_t aux32[8] = {};
        for (int j = 0; j < QK / 16; ++j)
            accumulate_lanes(aux32, scales[j] - 32, aux8 + 16 * j, y[i].qs + 16 * j, 16);
        const float d = fp16_to_f32(x[i].d) * y[i].d;
        for (int l = 0; l < 8; ++l)
            sums[l] += d * float(aux32[l]);
    }
    float sumf = 0;
    for (int l = 0; l < 8; ++l)
        sumf += sums[l];
    return sumf;
}

namespace {

// Q4_K and Q5_K differ only in Q5_K's fifth bit of the quants (qh).
template <typename Block> float dot_q45_k(int64_t n, const Block* x, const BlockQ8_K* y) {
    const int64_t nb = n / QK;
    int8_t aux8[QK];
    float sums[8] = {};
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* q4 = x[i].qs;
        int8_t* a = aux8;
        uint8_t m = 1;
        for (int j = 0; j < QK / 64; ++j) {
            for (int l = 0; l < 32; ++l)
                a[l] = int8_t(q4[l] & 0xF);
            for (int l = 0; l < 32; ++l)
                a[32 + l] = int8_t(q4[l] >> 4);
            if constexpr (std::is_same_v<Block, BlockQ5_K>) {
                const uint8_t* hm = x[i].qh;
                for (int l = 0; l < 32; ++l) {
                    a[l] = int8_t(a[l] + ((hm[l] & m) ? 16 : 0));
                    a[32 + l] = int8_t(a[32 + l] + ((hm[l] & (m << 1)) ? 16 : 0));
                }
            }
            a += 64;
            q4 += 32;
            m = uint8_t(m << 2);
        }
        uint32_t aux[4];
        unpack_k4_scales(x[i].scales, aux);
        uint8_t sm[16];
        std::memcpy(sm, aux, sizeof(sm));
        const uint8_t* scales = sm;
        const uint8_t* mins = sm + 8;
        int sumi = 0;
        for (int j = 0; j < QK / 16; ++j)
            sumi += y[i].bsums[j] * mins[j / 2];
        int32_t aux32[8] = {};
        for (int j = 0; j < QK / 32; ++j)
            accumulate_lanes(aux32, scales[j], aux8 + 32 * j, y[i].qs + 32 * j, 32);
        const float d = fp16_to_f32(x[i].d) * y[i].d;
        for (int l = 0; l < 8; ++l)
            sums[l] += d * float(aux32[l]);
        const float dmin = fp16_to_f32(x[i].dmin) * y[i].d;
        sumf -= dmin * float(sumi);
    }
    for (int l = 0; l < 8; ++l)
        sumf += sums[l];
    return sumf;
}

} // namespace

float dot_q4_k_q8_k(int64_t n, const void* w, const void* act) {
    return dot_q45_k(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(act));
}

float dot_q5_k_q8_k(int64_t n, const void* w, const void* act) {
    return dot_q45_k(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(act));
}

float dot_q6_k_q8_k(int64_t n, const void* w, const void* act) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(act);
    const int64_t nb = n / QK;
    int8_t aux8[QK];
    float sums[8] = {};
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* q4 = x[i].ql;
        const uint8_t* qh = x[i].qh;
        int8_t* a = aux8;
        for (int j = 0; j < QK; j += 128) {
            for (int l = 0; l < 32; ++l) {
                a[l + 0] = int8_t(((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                a[l + 32] = int8_t(((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                a[l + 64] = int8_t(((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                a[l + 96] = int8_t(((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
            a += 128;
            q4 += 64;
            qh += 32;
        }
        int32_t aux32[8] = {};
        for (int j = 0; j < QK / 16; ++j)
            accumulate_lanes(aux32, x[i].scales[j], aux8 + 16 * j, y[i].qs + 16 * j, 16);
        const float d = fp16_to_f32(x[i].d) * y[i].d;
        for (int l = 0; l < 8; ++l)
            sums[l] += d * float(aux32[l]);
    }
    float sumf = 0;
    for (int l = 0; l < 8; ++l)
        sumf += sums[l];
    return sumf;
}

float dot_iq4_xs_q8_k(int64_t n, const void* w, const void* act) {
    const auto* x = static_cast<const BlockIQ4_XS*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(act);
    const int64_t nb = n / QK;
    float sumf = 0;
    for (int64_t ibl = 0; ibl < nb; ++ibl) {
        const float d4d8 = fp16_to_f32(x[ibl].d) * y[ibl].d;
        uint16_t h = x[ibl].scales_h;
        const uint8_t* qs = x[ibl].qs;
        const int8_t* q8 = y[ibl].qs;
        for (int ib = 0; ib < QK / 32; ib += 2) {
            const int ls1 = (x[ibl].scales_l[ib / 2] & 0xf) | ((h << 4) & 0x30);
            const int ls2 = (x[ibl].scales_l[ib / 2] >> 4) | ((h << 2) & 0x30);
            h = uint16_t(h >> 4);
            const int ls[2] = {ls1, ls2};
            for (int k = 0; k < 2; ++k) {
                const float dk = d4d8 * float(ls[k] - 32);
                int sumi1 = 0, sumi2 = 0;
                for (int j = 0; j < 16; ++j) {
                    sumi1 += q8[j] * kIq4NlValues[qs[j] & 0xf];
                    sumi2 += q8[j + 16] * kIq4NlValues[qs[j] >> 4];
                }
                sumf += dk * float(sumi1 + sumi2);
                qs += 16;
                q8 += 32;
            }
        }
    }
    return sumf;
}

} // namespace hearth::cpu::scalar
