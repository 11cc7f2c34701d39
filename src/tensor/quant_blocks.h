/* tensor/quant_blocks.h: byte layout of every quantized GGUF tensor type, defined once.
 *
 * Shared by the reference kernels, the CPU and CUDA kernels and the tests, so it is plain C-compatible
 * structs (no constructors, no padding) with their sizes asserted against the dtype table
 * (tensor/dtype.cpp; tests/kernels check the two agree at run time).
 *
 * The layouts are ggml's (ggml-common.h), which GGUF files store verbatim:
 *   - a row of n elements is n / QK consecutive blocks; every field is little-endian;
 *   - `half` fields are IEEE binary16 bits (convert with base/fp16.h), Q8_K's `d` is a binary32;
 *   - "legacy" types (Q4_0 .. Q8_1) have 32-element blocks, one scale (and min) per block;
 *   - K-quants have 256-element super-blocks of 16 or 32-element sub-blocks whose scales (and mins)
 *     are themselves quantized against the super-block's half scale(s);
 *   - IQ4_NL / IQ4_XS index the non-linear 16-entry codebook kIq4NlValues.
 * What the quant values mean (offsets, nibble order, scale packing) is spelled out next to each struct;
 * src/kernels/ref implements it and is the oracle.
 */
#ifndef HEARTH_TENSOR_QUANT_BLOCKS_H
#define HEARTH_TENSOR_QUANT_BLOCKS_H

#include <stdint.h>

#ifdef __cplusplus
#define HEARTH_BLOCK_SIZE_ASSERT(type, bytes) static_assert(sizeof(type) == (bytes), "wrong size of " #type)
namespace hearth {
#else
#define HEARTH_BLOCK_SIZE_ASSERT(type, bytes) _Static_assert(sizeof(type) == (bytes), "wrong size of " #type)
#endif

/* Elements per block. */
#define HEARTH_QK4_0 32
#define HEARTH_QK4_1 32
#define HEARTH_QK5_0 32
#define HEARTH_QK5_1 32
#define HEARTH_QK8_0 32
#define HEARTH_QK8_1 32
#define HEARTH_QK4_NL 32
#define HEARTH_QK_MXFP4 32
#define HEARTH_QK_K 256
#define HEARTH_K_SCALE_SIZE 12 /* packed 6-bit scales and mins of Q4_K / Q5_K */

typedef uint16_t HalfBits; /* IEEE binary16 bit pattern */

/* ---- legacy: 32-element blocks ------------------------------------------------------------------------- */

/* x[j] = d * (q[j] - 8); q[j] is the low nibble of qs[j] for j < 16, the high nibble of qs[j - 16] after. */
typedef struct {
    HalfBits d;
    uint8_t qs[HEARTH_QK4_0 / 2];
} BlockQ4_0;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ4_0, 18);

/* x[j] = d * q[j] + m; nibbles as Q4_0. */
typedef struct {
    HalfBits d;
    HalfBits m;
    uint8_t qs[HEARTH_QK4_1 / 2];
} BlockQ4_1;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ4_1, 20);

/* x[j] = d * (q[j] - 16); low 4 bits as Q4_0, bit 4 of q[j] is bit j of the little-endian uint32 qh. */
typedef struct {
    HalfBits d;
    uint8_t qh[4];
    uint8_t qs[HEARTH_QK5_0 / 2];
} BlockQ5_0;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ5_0, 22);

/* x[j] = d * q[j] + m; bits as Q5_0. */
typedef struct {
    HalfBits d;
    HalfBits m;
    uint8_t qh[4];
    uint8_t qs[HEARTH_QK5_1 / 2];
} BlockQ5_1;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ5_1, 24);

/* x[j] = d * qs[j]. */
typedef struct {
    HalfBits d;
    int8_t qs[HEARTH_QK8_0];
} BlockQ8_0;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ8_0, 34);

/* x[j] = d * qs[j]; s = d * sum(qs) (used by dot products with Q4_1 / Q5_1). */
typedef struct {
    HalfBits d;
    HalfBits s;
    int8_t qs[HEARTH_QK8_1];
} BlockQ8_1;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ8_1, 36);

/* ---- K-quants: 256-element super-blocks ---------------------------------------------------------------- */

/* 16 sub-blocks of 16: x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q in 0..3.
 * Quant i of the half h = i / 128 sits in qs[32 * h + i % 32] at bit shift 2 * ((i % 128) / 32). */
typedef struct {
    uint8_t scales[HEARTH_QK_K / 16];
    uint8_t qs[HEARTH_QK_K / 4];
    HalfBits d;
    HalfBits dmin;
} BlockQ2_K;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ2_K, 84);

/* 16 sub-blocks of 16: x = d * (sc[s] - 32) * (q - 4 * !hbit), low 2 bits as Q2_K, hbit of quant i is bit
 * i / 32 of hmask[i % 32]. The 6-bit sc[s]: low nibble from scales[s % 8] (low nibble for s < 8, high
 * after), top 2 bits from scales[8 + s % 4] at shift 2 * (s / 4). */
typedef struct {
    uint8_t hmask[HEARTH_QK_K / 8];
    uint8_t qs[HEARTH_QK_K / 4];
    uint8_t scales[12];
    HalfBits d;
} BlockQ3_K;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ3_K, 110);

/* 8 sub-blocks of 32: x = d * sc[s] * q - dmin * m[s], q in 0..15. 6-bit sc/m packed in scales[12]:
 * s < 4: sc = scales[s] & 63, m = scales[s + 4] & 63; s >= 4: sc = (scales[s + 4] & 15) | (scales[s - 4] >> 6) << 4,
 * m = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4. Sub-blocks 2k and 2k+1 share qs[32k..32k+31] (low, high
 * nibble). */
typedef struct {
    HalfBits d;
    HalfBits dmin;
    uint8_t scales[HEARTH_K_SCALE_SIZE];
    uint8_t qs[HEARTH_QK_K / 2];
} BlockQ4_K;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ4_K, 144);

/* As Q4_K with q in 0..31; bit 4 of quant 32 * s + l is bit s of qh[l]. */
typedef struct {
    HalfBits d;
    HalfBits dmin;
    uint8_t scales[HEARTH_K_SCALE_SIZE];
    uint8_t qh[HEARTH_QK_K / 8];
    uint8_t qs[HEARTH_QK_K / 2];
} BlockQ5_K;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ5_K, 176);

/* 16 sub-blocks of 16: x = d * scales[s] * (q - 32), q in 0..63. For each half h (128 quants) and l < 32:
 * quants l, l+32, l+64, l+96 take low nibbles of ql[64h + l], ql[64h + l + 32], then their high nibbles,
 * and 2 high bits each from qh[32h + l] at shifts 0, 2, 4, 6. */
typedef struct {
    uint8_t ql[HEARTH_QK_K / 2];
    uint8_t qh[HEARTH_QK_K / 4];
    int8_t scales[HEARTH_QK_K / 16];
    HalfBits d;
} BlockQ6_K;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ6_K, 210);

/* Intermediate type for dot products: x = d * qs; bsums[g] = sum of qs[16g .. 16g+15]. d is binary32. */
typedef struct {
    float d;
    int8_t qs[HEARTH_QK_K];
    int16_t bsums[HEARTH_QK_K / 16];
} BlockQ8_K;
HEARTH_BLOCK_SIZE_ASSERT(BlockQ8_K, 292);

/* ---- IQ (importance-matrix era) types ------------------------------------------------------------------ */

/* x[j] = d * kIq4NlValues[q[j]]; nibbles as Q4_0. */
typedef struct {
    HalfBits d;
    uint8_t qs[HEARTH_QK4_NL / 2];
} BlockIQ4_NL;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ4_NL, 18);

/* 8 sub-blocks of 32: x = d * (ls - 32) * kIq4NlValues[q]; ls = 4 bits of scales_l[s / 2] (low for even
 * s) | 2 bits of scales_h at 2s << 4; each sub-block's 16 qs bytes hold quants l (low) and l + 16 (high). */
typedef struct {
    HalfBits d;
    uint16_t scales_h;
    uint8_t scales_l[HEARTH_QK_K / 64];
    uint8_t qs[HEARTH_QK_K / 2];
} BlockIQ4_XS;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ4_XS, 136);

/* The grid-based IQ1/IQ2/IQ3 types need ggml's lookup grids to decode; only their layouts are here. */
typedef struct {
    HalfBits d;
    uint16_t qs[HEARTH_QK_K / 8];
} BlockIQ2_XXS;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ2_XXS, 66);

typedef struct {
    HalfBits d;
    uint16_t qs[HEARTH_QK_K / 8];
    uint8_t scales[HEARTH_QK_K / 32];
} BlockIQ2_XS;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ2_XS, 74);

typedef struct {
    HalfBits d;
    uint8_t qs[HEARTH_QK_K / 4];
    uint8_t qh[HEARTH_QK_K / 32];
    uint8_t scales[HEARTH_QK_K / 32];
} BlockIQ2_S;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ2_S, 82);

typedef struct {
    HalfBits d;
    uint8_t qs[3 * HEARTH_QK_K / 8];
} BlockIQ3_XXS;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ3_XXS, 98);

typedef struct {
    HalfBits d;
    uint8_t qs[HEARTH_QK_K / 4];
    uint8_t qh[HEARTH_QK_K / 32];
    uint8_t signs[HEARTH_QK_K / 8];
    uint8_t scales[HEARTH_QK_K / 64];
} BlockIQ3_S;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ3_S, 110);

typedef struct {
    HalfBits d;
    uint8_t qs[HEARTH_QK_K / 8];
    uint16_t qh[HEARTH_QK_K / 32];
} BlockIQ1_S;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ1_S, 50);

/* No d field: the half scale is spread over the top 4 bits of the four uint16 in scales. */
typedef struct {
    uint8_t qs[HEARTH_QK_K / 8];
    uint8_t qh[HEARTH_QK_K / 16];
    uint8_t scales[HEARTH_QK_K / 32];
} BlockIQ1_M;
HEARTH_BLOCK_SIZE_ASSERT(BlockIQ1_M, 56);

/* ---- ternary and microscaling -------------------------------------------------------------------------- */

/* Ternary q in {-1, 0, 1}: five base-3 digits per qs byte, four per qh byte; x = d * q. */
typedef struct {
    uint8_t qs[(HEARTH_QK_K - 4 * HEARTH_QK_K / 64) / 5];
    uint8_t qh[HEARTH_QK_K / 64];
    HalfBits d;
} BlockTQ1_0;
HEARTH_BLOCK_SIZE_ASSERT(BlockTQ1_0, 54);

/* Ternary, 2 bits per quant (q + 1); x = d * q. */
typedef struct {
    uint8_t qs[HEARTH_QK_K / 4];
    HalfBits d;
} BlockTQ2_0;
HEARTH_BLOCK_SIZE_ASSERT(BlockTQ2_0, 66);

/* OCP MX FP4: e is an E8M0 shared exponent, each nibble an E2M1 value. */
typedef struct {
    uint8_t e;
    uint8_t qs[HEARTH_QK_MXFP4 / 2];
} BlockMXFP4;
HEARTH_BLOCK_SIZE_ASSERT(BlockMXFP4, 17);

/* The IQ4_NL / IQ4_XS codebook (ggml's kvalues_iq4nl), ascending. */
#define HEARTH_IQ4NL_VALUES_INIT                                                                                       \
    { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 }
#ifdef __cplusplus
inline constexpr int8_t kIq4NlValues[16] = HEARTH_IQ4NL_VALUES_INIT;
} /* namespace hearth */
#endif

#endif /* HEARTH_TENSOR_QUANT_BLOCKS_H */
