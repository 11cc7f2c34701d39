// model/layers.h: the blocks every architecture shares, written once (CPU).
//
// Numerics follow llama.cpp's CPU path where it matters for agreement: RMSNorm sums squares in
// double; RoPE advances theta by repeated multiplication in float; attention rounds q to f16
// before the dot product with the f16 K cache and rounds softmax weights to f16 before the
// product with the f16 V cache (what ggml's f16 mat-mul does to its f32 operand).
#pragma once

#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "model/config.h"
#include "model/weights.h"

#include <cstdint>

namespace hearth {

// Sees every matmul's input before the product (importance-matrix statistics): fn(user, w, x, n_tokens) with x
// (n_tokens, w.cols). Called on the pass's thread; x is valid during the call.
struct MatmulObserver {
    void (*fn)(void* user, const Matrix& w, const float* x, int64_t n_tokens) = nullptr;
    void* user = nullptr;
};

// What a forward pass computes with: the kernel table, the pool, and activation scratch for matmul.
struct ComputeCtx {
    const cpu::KernelTable& kt;
    ThreadPool& pool;
    void* act_scratch;                        // >= act_scratch_bytes for the largest matmul of the batch
    const MatmulObserver* observer = nullptr; // null: no one watches (the normal case)
};

// y (n_tokens, W.rows) = x (n_tokens, W.cols) · Wᵀ
void matmul(const ComputeCtx& c, const Matrix& w, const float* x, int64_t n_tokens, float* y);

// y = x / rms(x) * w, row by row (the kernel table's rms_norm, ops.h); y may alias x. x, y: (n_rows, n)
void rms_norm(const ComputeCtx& c, const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps);

// y = (x - mean(x)) / sqrt(var(x) + eps) * w + b, row by row (ggml_norm then the affine, as llama.cpp builds
// LayerNorm; sums in double); y may alias x. x, y: (n_rows, n); w, b: (n)
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n, float eps);

// Splits a fused projection's rows qkv (n_tokens, q_dim + k_dim + v_dim) into q (n_tokens, q_dim),
// k (n_tokens, k_dim) and v (n_tokens, v_dim).
void split_qkv(const float* qkv, int64_t n_tokens, int64_t q_dim, int64_t k_dim, int64_t v_dim, float* q, float* k,
               float* v);

// x (n_rows, n) += b (n) for every row.
void add_bias(float* x, const float* b, int64_t n_rows, int64_t n);

// x (n) *= s
void scale_inplace(float* x, int64_t n, float s);

// x (n_rows, n) += y (n_rows, n)
void add_inplace(float* x, const float* y, int64_t n);

inline constexpr int32_t kMaxRopeHalf = 512; // rotated dims per head up to 1024 (config.cpp checks)

struct RopeParams {
    RopeStyle style = RopeStyle::Normal;
    int32_t n_dims = 0; // rotated dims per head
    float base = 10000.0f;
    float freq_scale = 1.0f;             // 1 / linear scaling factor
    const float* freq_factors = nullptr; // (n_dims / 2) divisors of theta, or null
    float attn_factor = 1.0f;            // multiplies cos and sin
};

// Rotates each head of x (n_tokens, n_heads, head_dim) in place; token t has position pos[t]. The angles are computed
// here (theta advanced by repeated multiplication in float, as ggml), the rotation is the kernel table's rope.
void rope(const ComputeCtx& c, float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
          const RopeParams& p);

// a (n) = act(gate) * up, elementwise, split across the pool; gate and up (n_tokens, n_ff) rows, result written
// to gate. GELU is ggml's: the tanh approximation on the f16-rounded input, rounded to f16 (a table lookup).
void glu(const ComputeCtx& c, float* gate, const float* up, int64_t n, FfnAct act);
// x (n) = gelu(x) elementwise, ggml's GELU as in glu (BERT's FFN has no gate).
void gelu(const ComputeCtx& c, float* x, int64_t n);

// The KV cache of one layer: f16, position-major.
struct LayerKv {
    uint16_t* k; // (n_ctx, n_head_kv * head_dim_k)
    uint16_t* v; // (n_ctx, n_head_kv * head_dim_v)
};

struct AttnParams {
    int32_t n_head = 0, n_head_kv = 0, head_dim_k = 0, head_dim_v = 0;
    float scale = 1.0f;
    int32_t window = 0; // > 0: attend only to keys with q_pos - k_pos < window
    int32_t n_ctx = 0;  // cache length
    // Non-causal attention (encoders): token t attends to rows [0, key_end[t]) of its cache, every position of
    // its input, which the pass writes before any token attends. Null: causal, rows [0, pos[t]].
    const int32_t* key_end = nullptr; // (n_tokens)
};

// Stores k, v (n_tokens, n_head_kv * hd) at positions pos[t] of the layer's cache, then computes
// out (n_tokens, n_head * hd_v) = softmax(q kᵀ * scale + causal/window mask) v for every token and head
// (no causal mask when p.key_end is set).
// scratch: (pool.size(), attention_scratch_floats(p)) floats.
// Token t (of n_tokens, possibly from different sequences) writes its k/v at row pos[t] of kv[t] (its own
// sequence's cache of this layer) and attends to rows 0..pos[t] of that cache (the last `window` if set).
void attention(const ComputeCtx& c, const AttnParams& p, const float* q, const float* k, const float* v,
               const int32_t* pos, int64_t n_tokens, const LayerKv* kv, float* scratch, float* out);
size_t attention_scratch_floats(const AttnParams& p);

} // namespace hearth
