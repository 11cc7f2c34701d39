// kernels/cpu/packed.h: weights repacked at load into 16-row groups ("x16"), and the matmul over them.
//
// A row-major quantized matrix makes every prefill dot product reduce 32-element block sums horizontally and
// convert two half scales per block and row. The x16 layout interleaves 16 consecutive rows block by block so
// that one 512-bit register holds 4 quants of each of the 16 rows (lane r = row r): VNNI's dpbusd against 4
// activation bytes broadcast to every lane gives each row's partial block sum in its own lane, 8 of them make
// the exact block sums of 16 rows, and one fused multiply-add per block and token applies the 16 rows' scales.
// Nothing is reduced horizontally; the weights of a group are unpacked once per block for up to 8 tokens.
//
// Layout of one block column b of a group (16 rows, 32 elements each), the same bytes as the 16 original blocks:
//   Q8_0 (544 B): d[16] (half), then 8 chunks of 64 B: chunk k, lane r = q[r][4k .. 4k+3] + 128 (as u8)
//   Q4_0 (288 B): d[16], then 4 chunks of 64 B: chunk k, lane r = qs[r][4k .. 4k+3] (the file's bytes: low
//                 nibbles are elements 4k.., high nibbles elements 16 + 4k..)
//   Q5_0 (352 B): d[16], then hb (64 B): lane r's byte i has bit j = the high bit of element 4j + i, then the
//                 4 nibble chunks as Q4_0
//   Q4_1 (320 B), Q5_1 (384 B): as Q4_0 / Q5_0 with m[16] (half) after d; x = d q + m adds m * s_a, s_a the
//                 Q8_1 activation's stored half d * sum(a), as ggml does
//   IQ4_NL (288 B): as Q4_0; a nibble n stands for kIq4NlValues[n] (stored as that + 128, offset 128)
// Quants are stored unsigned (q + o, o = 128 / 8 / 16; 0 for Q4_1 / Q5_1), so a block's integer sum is sum((q + o) a) -
// o sum(a), both exact in int32. Groups follow one another, block columns in order within a group (n_in / 32 of them).
//
// Activations: one PackedAct (ops.h) per 32-element block and token, tokens one after another.
//
// Arithmetic, for every ISA and for any batch: y[t][r] = fold over blocks b in order of
//   acc = fma(float(S_b), d_w[r][b] * d_a[t][b], acc), acc starting at 0, S_b the exact integer block sum,
//   then for Q4_1 / Q5_1 acc = fma(m_w[r][b], s_a[t][b], acc),
// so the scalar kernel here and the SIMD ones agree bit for bit, and a token's outputs do not depend on the
// other tokens of the batch or on the thread count.
#pragma once

#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "tensor/dtype.h"

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {

inline constexpr int64_t kPackRows = 16;

// PackedAct and PackedGemmFn are in ops.h (the kernel table holds the kernels).

// Whether a (rows, cols) matrix of type t has an x16 layout (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, and Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K, IQ4_XS in packed_k.h's layouts; rows a multiple of 16).
bool packable(DType t, int64_t rows, int64_t cols);
// Bytes of the packed matrix (the file's bytes, except Q3_K, Q4_K and Q5_K: 64 more per 16 super-blocks, IQ4_XS:
// 32 more).
size_t packed_bytes(DType t, int64_t rows, int64_t cols);
// Repacks rows x cols of type t (packable) from the file layout w into out (packed_bytes).
void pack_x16(DType t, const void* w, int64_t rows, int64_t cols, void* out);
// The inverse: the file layout of a packed matrix (for tests).
void unpack_x16(DType t, const void* packed, int64_t rows, int64_t cols, void* out);
// Row `row` of a packed matrix with `cols` columns, in the file layout (embedding rows of a tied output matrix).
void unpack_x16_row(DType t, const void* packed, int64_t cols, int64_t row, void* out);

// The scalar kernel (the reference the SIMD kernels equal bit for bit), for a packable type.
PackedGemmFn packed_gemm_scalar(DType t);

// Bytes of act_scratch matmul_packed needs for weights of type t.
size_t packed_act_bytes(DType t, int64_t n_tokens, int64_t n_in);

// y (n_tokens, n_out) = x (n_tokens, n_in) . W^T for W packed by pack_x16, with table.traits[t].packed_gemm
// (which must be set). Two pool runs, no allocation; act_scratch: packed_act_bytes(t, n_tokens, n_in) bytes, 4-byte
// aligned.
void matmul_packed(const KernelTable& table, ThreadPool& pool, DType w_type, const void* w, int64_t n_out, int64_t n_in,
                   const float* x, int64_t n_tokens, float* y, void* act_scratch);

} // namespace hearth::cpu
