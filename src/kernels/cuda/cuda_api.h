// kernels/cuda/cuda_api.h: the CUDA kernels' launchers, as plain C++ (no CUDA types: a stream is passed as the
// `void*` that cudaStream_t is), so backend code and tests include this without nvcc. One .cu per op family next
// to this header; each launcher enqueues its kernel on the stream and returns (errors surface at the next
// synchronizing call, which the backend checks).
//
// Pointers are device memory unless the parameter says "host". Shapes as backend/backend.h's ops, which these
// implement; every kernel's per-element arithmetic has a host-tested twin (group_decode.h) or a scalar reference
// in kernels/cpu, and tests/backend runs each op against both when a GPU is present.
#pragma once

#include "tensor/dtype.h"

#include <cstddef>
#include <cstdint>

namespace hearth::cuda {

// y (n_tokens, rows) = x (n_tokens, cols) · wᵀ, w: rows of `row_bytes` in the file's layout (group_decode.h).
void matmul(DType t, const void* w, int64_t rows, int64_t cols, size_t row_bytes, const float* x, int64_t n_tokens,
            float* y, void* stream);
// x (n, table.cols) = rows[t] (device) of a table in the file's layout, dequantized.
void get_rows(DType t, const void* table, int64_t cols, size_t row_bytes, const int32_t* rows, int32_t n, float* x,
              void* stream);

void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps, void* stream);
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n, float eps,
                void* stream);

struct RopeArgs {
    int32_t n_dims = 0; // rotated dims per head
    float base = 10000.0f, freq_scale = 1.0f, attn_factor = 1.0f;
    const float* freq_factors = nullptr; // (n_dims / 2) device, or null
    bool neox = false;
};
// Rotates each head of x (n_tokens, n_heads, head_dim) in place; pos (n_tokens) device.
void rope(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos, const RopeArgs& a,
          void* stream);

struct AttnArgs {
    int32_t n_head = 0, n_head_kv = 0, head_dim_k = 0, head_dim_v = 0;
    float scale = 1.0f;
    int32_t window = 0;
    const int32_t* pos = nullptr;       // (n_tokens) device
    const int32_t* key_end = nullptr;   // (n_tokens) device, or null (causal)
    uint16_t* const* k_cache = nullptr; // (n_tokens) device array of device pointers: token t's layer cache
    uint16_t* const* v_cache = nullptr; // (n_tokens)
};
// The most head dims attention takes (its per-thread output registers).
inline constexpr int kMaxHeadDim = 256;
// Writes k, v (n_tokens, n_head_kv * hd) as f16 at row pos[t] of token t's caches.
void kv_store(const float* k, const float* v, int64_t n_tokens, const AttnArgs& a, void* stream);
// out (n_tokens, n_head * hd_v) = softmax(q kᵀ * scale + mask) v over each token's cache rows (after kv_store).
void attention(const float* q, int64_t n_tokens, const AttnArgs& a, float* out, void* stream);

// gate (n) = act(gate) * up (up null: act(gate)); gelu: ggml's f16-rounded tanh approximation.
void glu(float* gate, const float* up, int64_t n, bool gelu, void* stream);
void add(float* x, const float* y, int64_t n, void* stream);
void add_row(float* x, const float* b, int64_t n_rows, int64_t n, void* stream);
void scale(float* x, int64_t n, float s, void* stream);
void softcap(float* x, int64_t n, float cap, void* stream);
void copy_cols(const float* src, int64_t n_rows, int64_t src_cols, int64_t col0, int64_t n_cols, float* dst,
               void* stream);

} // namespace hearth::cuda
