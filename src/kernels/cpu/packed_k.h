// kernels/cpu/packed_k.h: the x16 layouts of the K-quants and IQ4_XS (internal to kernels/cpu; packed.h is the
// interface).
//
// One block column = 16 rows' super-blocks of 256 elements. Registers hold 4 quants of each of the 16 rows, as in the
// legacy layouts (packed.h). Offsets in bytes within a column:
//   Q4_K (2368 B, 64 more than the 16 file blocks: the 6-bit scales and mins are stored as bytes):
//     0 d[16], 32 dmin[16] (half); 64 + 16 j: the 16 rows' scale of sub-block j (j < 8, u8);
//     192 + 64 h: lane r = the mins of sub-blocks 4h .. 4h + 3 (u8);
//     320 + 512 c + 64 k (c < 4, k < 8): lane r = qs[r][32 c + 4 k .. + 3]: low nibbles are elements 64 c + 4 k ..
//     (sub-block 2 c), high nibbles elements 64 c + 32 + 4 k .. (sub-block 2 c + 1).
//   Q5_K (2880 B, 64 more than the file blocks): Q4_K's first 320 bytes, then 320 + 64 k: lane r = qh[r][4 k .. + 3]:
//     bit s of byte i is the fifth bit of element 32 s + 4 k + i; then Q4_K's qs at 832 (kQ5KQs) instead of 320. The
//     fifth bits, which every sub-block reads, come before the nibbles: with them at the column's end, each column
//     began by reading 2 KB ahead of the stream.
//   Q6_K (3360 B, the same as the file blocks):
//     0 d[16]; 32 + 16 j: the 16 rows' scale of sub-block j (j < 16, i8);
//     288 + 192 s + 64 c (s < 16, c < 3): lane r, byte i = q[r][16 s + 4 c + i] (the unsigned 6-bit quant, bits 0-5)
//     | bits 2c, 2c + 1 of q[r][16 s + 12 + i] (bits 6-7): sub-block s's first three registers are its chunks masked
//     to 6 bits, the fourth is gathered from the chunks' top bits (no nibble to shift down: fewer shifts on the
//     ports that also multiply; the file's ql / qh planes needed 3-4 vector ops per register, this 2.25).
//   IQ4_XS (2208 B, 32 more than the file blocks: the 6-bit scales stored as bytes):
//     0 d[16]; 32 + 16 j: the 16 rows' signed scale ls - 32 of sub-block j (j < 8, i8);
//     160 + 256 j + 64 k (k < 4): lane r = qs[r][16 j + 4 k .. + 3]: low nibbles are elements 32 j + 4 k .., high
//     nibbles 32 j + 16 + 4 k ..; a nibble n stands for kIq4NlValues[n] (taken as that + 128, unsigned).
//   Q3_K (1824 B, 64 more than the file blocks: the 6-bit scales stored as bytes):
//     0 d[16]; 32 + 16 j: the 16 rows' signed scale sc - 32 of sub-block j (j < 16, i8: where Q6_K has its scales);
//     288 + 512 n + 64 k (n < 2, k < 8): lane r = qs[r][32 n + 4 k .. + 3]: bits 2m, 2m + 1 of byte i are the low
//     bits of element 128 n + 32 m + 4 k + i;
//     1312 + 64 k: lane r = hmask[r][4 k .. + 3]: bit g of byte i is the high bit of element 32 g + 4 k + i.
//     The unsigned quant u = low | high << 2 (0..7) stands for u - 4.
//   Q2_K (1344 B, the same as the file blocks): 0 d[16], 32 dmin[16]; 64 + 16 j: the 16 rows' scale byte of sub-block
//     j (low nibble scale, high nibble min, as the file); 320 + 512 n + 64 k: the 2-bit plane as Q3_K's.
// Activations: PackedActK per super-block and token (the table's Q8_K quants and scale, its 16-element sums, and
// the 32-element sums).
//
// Arithmetic (every ISA, any batch), per row r, token t, super-block b in order, acc from 0:
//   Q4_K, Q5_K: isum = sum_j sc[j] S_j (S_j the exact integer sum of sub-block j), msum = sum_j m[j] bs32[j];
//         acc = fma(float(isum), d * d_a, acc); acc = fma(-float(msum), dmin * d_a, acc)
//   Q6_K: isum = sum_j sc[j] (S_j - 32 bs16[j]) (S_j over the unsigned 6-bit quants); acc = fma(float(isum), d * d_a,
//         acc).
//   Q3_K: isum = sum_j sc[j] (S_j - 4 bs16[j]) (S_j over the unsigned 3-bit quants); acc = fma(float(isum), d * d_a,
//         acc).
//   Q2_K: isum = sum_j sc[j] S_j, msum = sum_j m[j] bs16[j] (16 sub-blocks of 16); then as Q4_K.
//   IQ4_XS: isum = sum_j sc[j] (S_j - 128 bs32[j]) (S_j over the codebook values + 128); acc = fma(float(isum),
//         d * d_a, acc).
#pragma once

#include "kernels/cpu/ops.h"

#include <cstddef>
#include <cstdint>

namespace hearth::cpu::packed_k {

inline constexpr size_t kQ4KColumn = 2368;
inline constexpr size_t kQ5KColumn = 2880;
inline constexpr size_t kQ6KColumn = 3360;
inline constexpr size_t kIQ4XSColumn = 2208;
// Where the nibbles (qs) start: Q4_K, Q5_K; Q5_K's fifth bits (qh).
inline constexpr size_t kQ4KQs = 320, kQ5KQs = 832, kQ5KQh = 320;
inline constexpr size_t kQ3KColumn = 1824;
inline constexpr size_t kQ2KColumn = 1344;

// Bytes of a block column, 0 when t is not Q2_K / Q3_K / Q4_K / Q5_K / Q6_K / IQ4_XS.
size_t column_bytes(DType t);
// Lane r of the block column col <-> one file block blk (to_col: pack, else unpack).
void convert_block(DType t, uint8_t* blk, uint8_t* col, int r, bool to_col);
// The scalar kernel (PackedGemmFn; act is PackedActK).
PackedGemmFn scalar_kernel(DType t);

} // namespace hearth::cpu::packed_k
