// backend/backend.h: the seam between a forward pass and the hardware that computes it.
//
// A Backend owns three things, and the model code (model/) reaches them only through this interface:
// - the weights' layout: prepare_weights takes every matrix the ops will multiply with and may lay it out its own
//   way (the CPU backend repacks 16 rows interleaved for its SIMD kernels and gives the file's pages back; a GPU
//   backend uploads them); the backend owns that copy for its lifetime;
// - memory: activations, KV caches and the weight vectors (norms, biases) live where alloc / upload_vector put them
//   (host memory for the CPU, device memory for a GPU); read copies results back to the host;
// - the ops below, with their workspace (attention and activation-quantization scratch), sized by reserve.
//
// Pointers an op takes are backend memory (from alloc or upload_vector) unless the parameter says "host". Ops run
// in the order they are called; read waits for the ops before it. Every op is batch-invariant: row r of its output
// depends only on row r of its inputs (attention: on the token's own sequence's cache), never on the other rows of
// the batch or on the number of threads, so a request computes the same bits alone or batched.
//
// Softmax has no op of its own: it is part of attention here (and of the sampler, on the host).
#pragma once

#include "tensor/dtype.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace hearth {

// A 2-D weight matrix: `rows` rows of `cols` elements of `type`, row-major, rows contiguous.
struct Matrix {
    DType type = DType::F32;
    const uint8_t* data = nullptr; // (rows, row_bytes): the file's layout, in the mapping (host)
    int64_t rows = 0;              // output features
    int64_t cols = 0;              // input features
    size_t row_bytes = 0;
    // The backend's own copy (prepare_weights), owned by the backend; when set, ops read only this (the CPU
    // backend's x16 repacking, kernels/cpu/packed.h; its file pages have been given back).
    const uint8_t* packed = nullptr;
    bool present() const { return data != nullptr; }
};

enum class RopeStyle { Normal, Neox }; // Normal: rotate pairs (2i, 2i+1); Neox: (i, i + d/2)
enum class FfnAct { Silu, GeluTanh };  // SwiGLU or GeGLU

inline constexpr int32_t kMaxRopeHalf = 512; // rotated dims per head up to 1024 (model/config.cpp checks)

struct RopeParams {
    RopeStyle style = RopeStyle::Normal;
    int32_t n_dims = 0; // rotated dims per head
    float base = 10000.0f;
    float freq_scale = 1.0f;             // 1 / linear scaling factor
    const float* freq_factors = nullptr; // (n_dims / 2) divisors of theta (host), or null
    float attn_factor = 1.0f;            // multiplies cos and sin
};

// The KV cache of one layer of one sequence: f16, position-major (backend memory).
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
    const int32_t* key_end = nullptr; // (n_tokens) host
};

// Frees what Backend::alloc returned: a plain function, so memory may outlive nothing but the process.
struct BackendFree {
    void (*fn)(void*) = nullptr;
    void operator()(void* p) const {
        if (p != nullptr) fn(p);
    }
};

// An array of n T in backend memory. Its contents start zeroed (large ones as untouched zero pages on the CPU: a KV
// cache costs memory as the context fills).
template <class T> class BackendArray {
public:
    BackendArray() = default;
    BackendArray(void* p, size_t n, BackendFree f) : p_(static_cast<T*>(p), f), n_(n) {}
    T* data() { return p_.get(); }
    const T* data() const { return p_.get(); }
    size_t size() const { return n_; }
    uint64_t bytes() const { return uint64_t(n_) * sizeof(T); }

private:
    std::unique_ptr<T, BackendFree> p_;
    size_t n_ = 0;
};

// What a pass needs of the workspace: reserve grows it to the largest asked for, never per token.
struct WorkspaceNeed {
    int32_t n_batch = 0;                     // most tokens per pass
    int32_t n_ctx = 0;                       // longest cache a pass attends over
    int32_t head_dim_k = 0;                  // widest attention head
    std::span<const Matrix* const> matrices; // every matrix matmul will be called with (absent ones skipped)
};

class Backend {
public:
    virtual ~Backend() = default;

    // "cpu-avx512", "cpu-scalar", "cuda-sm90": what computes, for logs and `hearth ps`.
    virtual const std::string& name() const = 0;
    // The kernel variant ("avx512", "avx2", "scalar"; the device's name for a GPU).
    virtual const std::string& isa() const = 0;
    virtual int n_threads() const = 0;
    // Whether matmul can multiply by a matrix of this type.
    virtual bool supports(DType t) const = 0;
    // Bytes free on the backend's own memory (a GPU's), for the memory checks; nullopt: it computes in host memory.
    virtual std::optional<uint64_t> device_memory_free() const { return std::nullopt; }

    // Takes every matrix the ops will multiply with (absent ones skipped) and may set each one's `packed` to its
    // own copy, which it owns from then on. embedding: the token embedding (get_rows reads it); a matrix of ms over
    // its bytes with its shape is the tied output matrix, whose copy get_rows may then read (embedding->packed is
    // set to it); any other matrix over its bytes (a malformed file) is left as it is. Returns how many matrices it
    // laid out its own way. The matrices' data must be a read-only file mapping: a backend may give the pages of
    // what it copied back to the kernel (the CPU backend does; the mapping re-reads them if touched again).
    virtual int prepare_weights(std::span<Matrix* const> ms, Matrix* embedding) = 0;
    // A weight vector (norm weights, biases) of n floats where the ops can read it; the host copy must outlive the
    // backend (the CPU backend returns it as is).
    virtual const float* upload_vector(const float* host, int64_t n) = 0;

    // Backend memory, zeroed; aborts when there is none (the memory check comes before).
    virtual void* alloc_bytes(size_t bytes) = 0;
    virtual BackendFree free_fn() const = 0;
    template <class T> BackendArray<T> alloc(size_t n) {
        return BackendArray<T>(n > 0 ? alloc_bytes(n * sizeof(T)) : nullptr, n, free_fn());
    }
    // Copies n floats of backend memory to the host, after every op called before.
    virtual void read(const float* src, float* host_dst, size_t n) = 0;
    // Copies n floats from the host into backend memory, before any op called after.
    virtual void write(const float* host_src, float* dst, size_t n) = 0;

    // Grows the workspace to what the need asks (no-op when it already has that). Call it before the first op: ops
    // may use it for any of their arguments (a GPU's argument area for the host arrays).
    virtual void reserve(const WorkspaceNeed& need) = 0;
    virtual uint64_t workspace_bytes() const = 0;

    // ---- ops (all float data (n_rows, n) row-major unless said otherwise)
    // y (n_tokens, w.rows) = x (n_tokens, w.cols) · wᵀ
    virtual void matmul(const Matrix& w, const float* x, int64_t n_tokens, float* y) = 0;
    // x (n, table.cols) = rows[t] of the table, dequantized (the token embedding); rows: (n) host
    virtual void get_rows(const Matrix& table, const int32_t* rows, int32_t n, float* x) = 0;
    // y = x / rms(x) * w per row; y may alias x. w: (n)
    virtual void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) = 0;
    // y = (x - mean(x)) / sqrt(var(x) + eps) * w + b per row (ggml_norm, then the affine); y may alias x.
    virtual void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n,
                            float eps) = 0;
    // Rotates each head of x (n_tokens, n_heads, head_dim) in place; token t has position pos[t] (host). Angles
    // as ggml: theta advanced by repeated multiplication in float.
    virtual void rope(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
                      const RopeParams& p) = 0;
    // Stores k, v (n_tokens, n_head_kv * hd) at row pos[t] (host) of kv[t] (host array: token t's own sequence's
    // cache of this layer), then out (n_tokens, n_head * hd_v) = softmax(q kᵀ * scale + mask) v, token t over rows
    // 0..pos[t] of its cache (the last `window` if set; rows [0, key_end[t]) when key_end is set).
    virtual void attention(const AttnParams& p, const float* q, const float* k, const float* v, const int32_t* pos,
                           int64_t n_tokens, const LayerKv* kv, float* out) = 0;
    // gate (n) = act(gate) * up (n), or act(gate) when up is null. GELU is ggml's: the tanh approximation on the
    // f16-rounded input, rounded to f16.
    virtual void glu(float* gate, const float* up, int64_t n, FfnAct act) = 0;
    // x (n) += y (n)
    virtual void add(float* x, const float* y, int64_t n) = 0;
    // x (n_rows, n) += b (n) for every row
    virtual void add_row(float* x, const float* b, int64_t n_rows, int64_t n) = 0;
    // x (n) *= s
    virtual void scale(float* x, int64_t n, float s) = 0;
    // x (n) = tanh(x / cap) * cap
    virtual void softcap(float* x, int64_t n, float cap) = 0;
    // dst (n_rows, n_cols) = columns [col0, col0 + n_cols) of src (n_rows, src_cols); dst must not overlap src.
    virtual void copy_cols(const float* src, int64_t n_rows, int64_t src_cols, int64_t col0, int64_t n_cols,
                           float* dst) = 0;
};

} // namespace hearth
