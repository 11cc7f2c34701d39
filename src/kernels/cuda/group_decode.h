// kernels/cuda/group_decode.h: one 32-element group of a weight row, dequantized — the arithmetic every CUDA
// matmul kernel does per lane, written once for host and device (`__host__ __device__` under nvcc, plain inline
// functions for the host compiler), so the CPU tests check it against kernels/ref for every type and element
// (tests/backend/test_group_decode.cpp) and the device kernels only add indexing and reductions.
//
// Every type's row is a sequence of 32-element groups: a legacy or IQ4_NL block is one group, a K-quant or IQ4_XS
// super-block is 8 (Q2_K / Q3_K / Q6_K's 16-element scales: two per group). Float rows (F32, F16, BF16) have any
// length; their last group may be partial. Layouts: tensor/quant_blocks.h (the block structs the CPU code uses).
#pragma once

#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define HEARTH_HD __host__ __device__ __forceinline__
#else
#define HEARTH_HD inline
#endif

namespace hearth::gpu {

inline constexpr int kGroup = 32;

HEARTH_HD float bits_to_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
#endif
}

// IEEE binary16 bits to float, exactly (subnormals, infinities and NaNs included).
HEARTH_HD float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0) {
        const float v = float(mant) * 5.9604644775390625e-8f; // mant * 2^-24, exact
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_float(sign | 0x7f800000u | (mant << 13));
    return bits_to_float(sign | ((exp + 112) << 23) | (mant << 13));
}

HEARTH_HD float bf16_to_float(uint16_t h) {
    return bits_to_float(uint32_t(h) << 16);
}

HEARTH_HD uint16_t load_u16(const uint8_t* p) {
    return uint16_t(p[0] | (p[1] << 8));
}

HEARTH_HD int8_t iq4nl_value(int q) {
    constexpr int8_t kValues[16] = HEARTH_IQ4NL_VALUES_INIT;
    return kValues[q];
}

// Q4_K / Q5_K: the 6-bit scale and min of sub-block s (0..7) from the 12 packed bytes.
HEARTH_HD void k_scale_min(const uint8_t* q, int s, int* sc, int* m) {
    if (s < 4) {
        *sc = q[s] & 63;
        *m = q[s + 4] & 63;
    } else {
        *sc = (q[s + 4] & 0xF) | ((q[s - 4] >> 6) << 4);
        *m = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
    }
}

// Q2_K / Q3_K: the 2-bit quant of element i (0..255) of a super-block: in qs[32 * (i / 128) + i % 32] at bit shift
// 2 * ((i % 128) / 32).
HEARTH_HD int k_quant2(const uint8_t* qs, int i) {
    return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
}

// Bytes of one group's block (legacy) or super-block (K, IQ4_XS), and groups per block.
HEARTH_HD int groups_per_block(DType t) {
    switch (t) {
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
    case DType::IQ4_XS:
        return 8;
    default:
        return 1;
    }
}

// Dequantizes group g of a row of type t (elements 32g .. 32g + n - 1, n = 32 but for a float row's last group:
// n = cols - 32g) into out[0 .. n). Types without a case leave out untouched (callers check supports first).
HEARTH_HD void dequant_group(DType t, const uint8_t* row, int64_t g, int n, float* out) {
    switch (t) {
    case DType::F32:
        for (int i = 0; i < n; ++i) {
#if defined(__CUDA_ARCH__)
            out[i] = reinterpret_cast<const float*>(row)[g * kGroup + i]; // rows are 4-byte aligned
#else
            std::memcpy(&out[i], row + (g * kGroup + i) * 4, 4);
#endif
        }
        return;
    case DType::F16:
        for (int i = 0; i < n; ++i)
            out[i] = half_to_float(load_u16(row + (g * kGroup + i) * 2));
        return;
    case DType::BF16:
        for (int i = 0; i < n; ++i)
            out[i] = bf16_to_float(load_u16(row + (g * kGroup + i) * 2));
        return;
    case DType::Q4_0: {
        const uint8_t* b = row + g * int64_t(sizeof(BlockQ4_0));
        const float d = half_to_float(load_u16(b));
        for (int j = 0; j < 16; ++j) {
            out[j] = d * float((b[2 + j] & 0xF) - 8);
            out[j + 16] = d * float((b[2 + j] >> 4) - 8);
        }
        return;
    }
    case DType::Q4_1: {
        const uint8_t* b = row + g * int64_t(sizeof(BlockQ4_1));
        const float d = half_to_float(load_u16(b)), m = half_to_float(load_u16(b + 2));
        for (int j = 0; j < 16; ++j) {
            out[j] = d * float(b[4 + j] & 0xF) + m;
            out[j + 16] = d * float(b[4 + j] >> 4) + m;
        }
        return;
    }
    case DType::Q5_0: {
        const uint8_t* b = row + g * int64_t(sizeof(BlockQ5_0));
        const float d = half_to_float(load_u16(b));
        const uint32_t qh = uint32_t(b[2]) | uint32_t(b[3]) << 8 | uint32_t(b[4]) << 16 | uint32_t(b[5]) << 24;
        for (int j = 0; j < 16; ++j) {
            const int lo = (b[6 + j] & 0xF) | int((qh >> j) & 1) << 4;
            const int hi = (b[6 + j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
            out[j] = d * float(lo - 16);
            out[j + 16] = d * float(hi - 16);
        }
        return;
    }
    case DType::Q5_1: {
        const uint8_t* b = row + g * int64_t(sizeof(BlockQ5_1));
        const float d = half_to_float(load_u16(b)), m = half_to_float(load_u16(b + 2));
        const uint32_t qh = uint32_t(b[4]) | uint32_t(b[5]) << 8 | uint32_t(b[6]) << 16 | uint32_t(b[7]) << 24;
        for (int j = 0; j < 16; ++j) {
            const int lo = (b[8 + j] & 0xF) | int((qh >> j) & 1) << 4;
            const int hi = (b[8 + j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
            out[j] = d * float(lo) + m;
            out[j + 16] = d * float(hi) + m;
        }
        return;
    }
    case DType::Q8_0: {
        const uint8_t* b = row + g * int64_t(sizeof(BlockQ8_0));
        const float d = half_to_float(load_u16(b));
        for (int j = 0; j < 32; ++j)
            out[j] = d * float(int8_t(b[2 + j]));
        return;
    }
    case DType::IQ4_NL: {
        const uint8_t* b = row + g * int64_t(sizeof(BlockIQ4_NL));
        const float d = half_to_float(load_u16(b));
        for (int j = 0; j < 16; ++j) {
            out[j] = d * float(iq4nl_value(b[2 + j] & 0xF));
            out[j + 16] = d * float(iq4nl_value(b[2 + j] >> 4));
        }
        return;
    }
    case DType::Q2_K: {
        const auto* b = reinterpret_cast<const BlockQ2_K*>(row + g / 8 * int64_t(sizeof(BlockQ2_K)));
        const float d = half_to_float(b->d), dmin = half_to_float(b->dmin);
        const int i0 = int(g % 8) * 32;
        for (int l = 0; l < 32; ++l) {
            const int i = i0 + l, s = i / 16;
            const int q = k_quant2(b->qs, i);
            out[l] = d * float(b->scales[s] & 0xF) * float(q) - dmin * float(b->scales[s] >> 4);
        }
        return;
    }
    case DType::Q3_K: {
        const auto* b = reinterpret_cast<const BlockQ3_K*>(row + g / 8 * int64_t(sizeof(BlockQ3_K)));
        const float d = half_to_float(b->d);
        const int i0 = int(g % 8) * 32;
        for (int l = 0; l < 32; ++l) {
            const int i = i0 + l, s = i / 16;
            const int lo = s < 8 ? b->scales[s] & 0xF : b->scales[s - 8] >> 4;
            const int sc = (lo | ((b->scales[8 + s % 4] >> (2 * (s / 4))) & 3) << 4) - 32;
            const int q = k_quant2(b->qs, i);
            const int hbit = (b->hmask[i % 32] >> (i / 32)) & 1;
            out[l] = d * float(sc) * float(q - (hbit ? 0 : 4));
        }
        return;
    }
    case DType::Q4_K:
    case DType::Q5_K: {
        const bool five = t == DType::Q5_K;
        const uint8_t* b = row + g / 8 * int64_t(five ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K));
        const float d = half_to_float(load_u16(b)), dmin = half_to_float(load_u16(b + 2));
        const int s = int(g % 8);
        int sc, m;
        k_scale_min(b + 4, s, &sc, &m);
        const float d1 = d * float(sc), m1 = dmin * float(m);
        const uint8_t* qs = b + (five ? 4 + 12 + 32 : 4 + 12) + 32 * (s / 2);
        const uint8_t* qh = b + 4 + 12;
        for (int l = 0; l < 32; ++l) {
            int q = s % 2 == 0 ? qs[l] & 0xF : qs[l] >> 4;
            if (five) q |= ((qh[l] >> s) & 1) << 4;
            out[l] = d1 * float(q) - m1;
        }
        return;
    }
    case DType::Q6_K: {
        const auto* b = reinterpret_cast<const BlockQ6_K*>(row + g / 8 * int64_t(sizeof(BlockQ6_K)));
        const float d = half_to_float(b->d);
        const int i0 = int(g % 8) * 32;
        for (int l = 0; l < 32; ++l) {
            const int i = i0 + l, h = i / 128, idx = i % 128, ll = idx % 32, quad = idx / 32;
            const uint8_t lb = b->ql[64 * h + ll + (quad % 2) * 32];
            const int lo = quad < 2 ? lb & 0xF : lb >> 4;
            const int hi = (b->qh[32 * h + ll] >> (2 * quad)) & 3;
            out[l] = d * float(b->scales[i / 16]) * float((lo | hi << 4) - 32);
        }
        return;
    }
    case DType::IQ4_XS: {
        const auto* b = reinterpret_cast<const BlockIQ4_XS*>(row + g / 8 * int64_t(sizeof(BlockIQ4_XS)));
        const float d = half_to_float(b->d);
        const int s = int(g % 8);
        const int ls = ((b->scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | ((b->scales_h >> (2 * s)) & 3) << 4;
        const float dl = d * float(ls - 32);
        for (int j = 0; j < 16; ++j) {
            out[j] = dl * float(iq4nl_value(b->qs[16 * s + j] & 0xF));
            out[j + 16] = dl * float(iq4nl_value(b->qs[16 * s + j] >> 4));
        }
        return;
    }
    default:
        return;
    }
}

// The types dequant_group decodes (what the CUDA matmul supports).
HEARTH_HD bool group_decodable(DType t) {
    switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::Q8_0:
    case DType::IQ4_NL:
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
    case DType::IQ4_XS:
        return true;
    default:
        return false;
    }
}

} // namespace hearth::gpu
