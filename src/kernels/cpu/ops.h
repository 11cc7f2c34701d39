// kernels/cpu/ops.h: CPU matrix products with quantized weights, dispatched through a per-type kernel table.
//
// As in llama.cpp, a weight type W is multiplied by activations quantized on the fly to W's `vec_dot_type`
// (Q4_0/Q5_0/Q8_0/IQ4_NL -> Q8_0, Q4_1/Q5_1 -> Q8_1, K-quants/IQ4_XS -> Q8_K, F16 -> F16, BF16 -> BF16,
// F32 -> F32), and each dot product sums integer products block by block, times the block scales. The
// scalar table (scalar_dot.h) computes exactly like ggml's ggml_vec_dot_*_generic and is the oracle; SIMD
// tables (avx2/, avx512/) give the same integer block sums and differ only in float accumulation order.
//
// Invariants:
//   - a table is a value filled once at start-up (make_kernel_table); kernels hold no state;
//   - vec_dot(n, w, a): n is a multiple of W's block size (and of vec_dot_type's); rows are byte-addressed
//     (no alignment needed) and hold n elements;
//   - matmul allocates nothing: activations are quantized into the caller's act_scratch;
//   - results do not depend on the thread count or on the batch: every output element is one vec_dot call, or
//     a vec_dot_multi lane, which is the same arithmetic bit for bit.
#pragma once

#include "base/cpu_features.h"
#include "base/thread_pool.h"
#include "tensor/dtype.h"

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {

// x: (n) floats -> y: n elements of the activation type, n a multiple of its block size.
using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
// Dot product of a weight row (n elements of W) with an activation row (n elements of W's vec_dot_type).
using VecDotFn = float (*)(int64_t n, const void* w_row, const void* act_row);

// One weight row against n_act activation rows (act_stride bytes apart): out[j] = vec_dot(n, w_row, act + j *
// act_stride), bit for bit (the weights are unpacked once for all rows: the prefill tile kernel).
using VecDotMultiFn = void (*)(int64_t n, const void* w_row, const void* act, size_t act_stride, int n_act, float* out);

// A block of weight rows against a block of activation rows (the float-weight prefill kernel, register-blocked so
// each loaded activation serves several rows and each converted weight several tokens): for i < n_rows (<=
// kTileRows) and j < n_act (<= kTileActs), out[j * out_stride + i] = vec_dot(n, w + i * w_stride, act + j *
// act_stride), bit for bit.
inline constexpr int kTileRows = 4;
inline constexpr int kTileActs = 6;
using VecDotTileFn = void (*)(int64_t n, const void* w, size_t w_stride, int n_rows, const void* act, size_t act_stride,
                              int n_act, float* out, size_t out_stride);

// Attention of up to kAttnMaxQ queries that share one f16 K/V head (grouped-query attention: the heads of one token
// that read the same cache head) over n_keys cached positions, exact two-pass softmax:
//   qh_i   = q_i rounded to f16 (as ggml's f16 mat-mul with the K cache);
//   s_ij   = dot(qh_i, k_j) * scale                      for j < n_keys;
//   p_ij   = f16(exp(s_ij - max_j s_ij) / sum_j exp(...)) (rounded to f16, as ggml's mat-mul with the V cache);
//   out_i  = sum_j p_ij * v_j, each element accumulated in row order from 0.
// Every query is computed alone: its result does not depend on n_q, on the other queries or on how a caller
// splits a group, so a token's attention is the same bit for bit alone or batched. The scalar table is the
// reference (double dot and sum, std::exp, as ggml's scalar path); SIMD tables differ in float rounding only.
inline constexpr int kAttnMaxQ = 8;

struct AttnGroup {
    int n_q = 0;              // 1..kAttnMaxQ queries
    const float* q = nullptr; // query i: dim_k floats at q + i * q_stride
    int64_t q_stride = 0;
    const uint16_t* k = nullptr; // key j: dim_k halves at k + j * k_stride
    const uint16_t* v = nullptr; // value j: dim_v halves at v + j * v_stride
    int64_t k_stride = 0, v_stride = 0;
    int64_t n_keys = 0; // >= 1
    int64_t dim_k = 0, dim_v = 0;
    float scale = 1.0f;
    float* out = nullptr; // query i: dim_v floats at out + i * out_stride
    int64_t out_stride = 0;
};

// Floats of scratch one attend_f16 call needs for up to n_keys keys and head size dim_k (no alignment needed).
size_t attend_scratch_floats(int64_t n_keys, int64_t dim_k);

using AttendF16Fn = void (*)(const AttnGroup& g, float* scratch);

// The SiLU gate of a GLU feed-forward, elementwise: gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i]. Every element
// is computed the same way wherever it sits in the range (SIMD tails are padded, not done in scalar), so any split
// of a row gives the same bits. Scalar: std::exp (the reference); SIMD: a vector exp within 2 ulp of expf.
using SiluMulFn = void (*)(float* gate, const float* up, int64_t n);

// RMSNorm of one row: y[i] = (x[i] * (1 / sqrt(mean + eps))) * w[i], mean = float(ss / n) where ss, the sum of the
// float squares x[i] * x[i] in double, is summed in a fixed order: 8 partial sums (element i into sum i % 8, in
// increasing i), then added as (0 + 4, 1 + 5, 2 + 6, 3 + 7), then (0 + 2, 1 + 3), then (0 + 1). Every ISA computes
// exactly that (8 double lanes), so every table gives the same bits; ggml sums in one sequential double (the
// difference is in the double's last bits, below float's rounding of the mean in all but rare ties). y may alias x.
using RmsNormFn = void (*)(const float* x, const float* w, float* y, int64_t n, float eps);

// RoPE's rotation of one token's heads, in place: for each of n_heads heads (head_dim floats apart) and i < half,
// the pair (a, b) = (i, i + half) (neox) or (2i, 2i + 1) (normal) becomes
//   x[a] = x[a] * cos[i] - x[b] * sin[i],   x[b] = x[a] * sin[i] + x[b] * cos[i]
// (products and sums each rounded once: every table gives the same bits). Dims past 2 * half are left as they are.
using RopeFn = void (*)(float* x, int32_t n_heads, int32_t head_dim, int32_t half, const float* cos, const float* sin,
                        bool neox);

// One 32-element block of a token's activations for the row-interleaved (x16) kernels of packed.h: the quants
// of the table's Q8_0 / Q8_1 quantizer (the same quants), its half scale as float, the quants' sum, and (Q8_1,
// for Q4_1 / Q5_1 weights) its stored half s = d * sum as float, which ggml's offset term uses.
struct PackedAct {
    float d;
    int32_t s;
    float ds;
    int8_t q[32];
};
static_assert(sizeof(PackedAct) == 44);

// One 256-element super-block of a token's activations for the x16 K-quant kernels: the table's Q8_K quants and
// scale, its 16-element sums, the 32-element sums, and -32 x the 16-element sums as int32 (Q6_K's offset, which the
// AVX-512 kernel starts each sub-block's dot product from).
struct PackedActK {
    float d;
    int16_t bs16[16];
    int16_t bs32[8];
    int32_t q6_off[16];
    int8_t q[256];
};
static_assert(sizeof(PackedActK) == 372);

// An x16 kernel (packed.h) over one 16-row group: y[t * y_stride + r] for t < n_tok, r < 16. act: PackedAct (legacy
// types) or PackedActK (K-quants); token t's blocks start at act + t * act_nb, the first nb of them used (nb =
// n_in / the type's block size). prefetch: ask for the weight stream ahead in software (KernelTable::prefetch_stream;
// never changes a result).
using PackedGemmFn = void (*)(int64_t nb, const uint8_t* group, const void* act, int64_t act_nb, int n_tok, float* y,
                              size_t y_stride, bool prefetch);

struct TypeTraits {
    DType vec_dot_type = DType::F32;
    QuantizeRowFn quantize_act = nullptr;  // nullptr when vec_dot_type is F32: matmul reads x directly
    VecDotFn vec_dot = nullptr;            // nullptr: weight type not supported
    VecDotMultiFn vec_dot_multi = nullptr; // optional; matmul uses it for several tokens when set
    VecDotTileFn vec_dot_tile = nullptr;   // optional; preferred over vec_dot_multi when set
    PackedGemmFn packed_gemm = nullptr;    // optional: weights of this type may be repacked x16 (packed.h)
};

inline constexpr int kMaxDTypeId = 64;

struct KernelTable {
    const char* isa = "scalar";       // "scalar", "avx2", "avxvnni" (AVX2 + AVX-VNNI x16 kernels), "avx512"
    TypeTraits traits[kMaxDTypeId]{}; // indexed by the DType id
    AttendF16Fn attend_f16 = nullptr; // always set by the table makers
    SiluMulFn silu_mul = nullptr;     // always set by the table makers
    RmsNormFn rms_norm = nullptr;     // always set by the table makers
    RopeFn rope = nullptr;            // always set by the table makers
    QuantizeRowFn to_f16 = nullptr;   // f32 -> f16, round to nearest even (the KV cache's writes); always set
    // The x16 kernels' software prefetch of the weight stream (x16_tiles.h StreamPrefetch): CpuFeatures::sw_prefetch.
    bool prefetch_stream = true;

    bool supports(DType t) const;
    const TypeTraits& at(DType t) const; // t must be supported
};

// The best table this CPU runs (scalar is always available; HEARTH_CPU=scalar|avx2 caps detection).
// Types without a SIMD kernel keep the scalar one.
KernelTable make_kernel_table(const CpuFeatures& f);
KernelTable make_scalar_table();

// Bytes of act_scratch matmul needs: n_tokens rows of n_in elements of w_type's vec_dot_type (0 for F32).
size_t act_scratch_bytes(const KernelTable& table, DType w_type, int64_t n_tokens, int64_t n_in);

// y = x . W^T with quantized weights.
//   w:  (n_out, n_in) of w_type, rows contiguous (row stride = dtype_row_bytes(w_type, n_in))
//   x:  (n_tokens, n_in) floats
//   y:  (n_tokens, n_out) floats
//   act_scratch: act_scratch_bytes(...) bytes, no alignment needed; clobbered
// n_in must be a multiple of w_type's block size. Two pool runs at most: quantize x, then the dot products
// (each thread a contiguous slice of output rows, tiled over tokens so weight rows are reused from cache).
void matmul(const KernelTable& table, ThreadPool& pool, DType w_type, const void* w, int64_t n_out, int64_t n_in,
            const float* x, int64_t n_tokens, float* y, void* act_scratch);

} // namespace hearth::cpu
