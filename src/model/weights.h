// model/weights.h: the model's tensors bound by name, as non-owning views into the mapped file.
//
// Matrices stay in their file type (quantized) and are used in place, never dequantized whole, unless
// pack_weights repacks them (still quantized, 16 rows interleaved) for the CPU's x16 kernels.
// Vectors (norm weights, biases, RoPE factors) are small: they are converted to f32 once at load
// and owned by ModelWeights, so kernels only ever see f32 vectors.
#pragma once

#include "base/status.h"
#include "base/thread_pool.h"
#include "gguf/gguf.h"
#include "kernels/cpu/ops.h"
#include "model/config.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hearth {

// A 2-D weight matrix: `rows` rows of `cols` elements of `type`, row-major, rows contiguous.
struct Matrix {
    DType type = DType::F32;
    const uint8_t* data = nullptr; // (rows, row_bytes): the file's layout, in the mapping
    int64_t rows = 0;              // output features
    int64_t cols = 0;              // input features
    size_t row_bytes = 0;
    // The same matrix repacked x16 (kernels/cpu/packed.h) by pack_weights, owned by ModelWeights::packed; when
    // set, matmul reads only this and the file's pages of `data` have been given back.
    const uint8_t* packed = nullptr;
    bool present() const { return data != nullptr; }
};

// Bytes from std::aligned_alloc, freed with std::free.
struct FreeDeleter {
    void operator()(void* p) const;
};
using AlignedBytes = std::unique_ptr<uint8_t[], FreeDeleter>;

struct LayerWeights {
    const float* attn_norm = nullptr;      // (n_embd); BERT: the LayerNorm after attention
    const float* attn_norm_b = nullptr;    // (n_embd) LayerNorm bias (BERT)
    Matrix wq, wk, wv, wqkv, wo;           // wq: (n_head*hd_k, n_embd) ... wo: (n_embd, n_head*hd_v)
    const float* bq = nullptr;             // (n_head*hd_k) Qwen 2
    const float* bk = nullptr;             // (n_head_kv*hd_k)
    const float* bv = nullptr;             // (n_head_kv*hd_v)
    const float* bo = nullptr;             // (n_embd) BERT
    const float* q_norm = nullptr;         // (hd_k) Qwen 3, Gemma 3
    const float* k_norm = nullptr;         // (hd_k)
    const float* attn_post_norm = nullptr; // (n_embd) Gemma 3
    const float* ffn_norm = nullptr;       // (n_embd); BERT: the LayerNorm after the FFN
    const float* ffn_norm_b = nullptr;     // (n_embd) LayerNorm bias (BERT)
    Matrix ffn_gate, ffn_up, ffn_down;     // gate/up: (n_ff, n_embd), down: (n_embd, n_ff)
    const float* ffn_up_b = nullptr;       // (n_ff) BERT
    const float* ffn_down_b = nullptr;     // (n_embd) BERT
    const float* ffn_post_norm = nullptr;  // (n_embd) Gemma 3
};

struct ModelWeights {
    Matrix token_embd;                     // (n_vocab, n_embd)
    Matrix pos_embd;                       // (n_ctx_train, n_embd) learned absolute positions (BERT)
    Matrix token_types;                    // (n_token_types, n_embd) BERT; every token is type 0
    const float* embd_norm = nullptr;      // (n_embd) LayerNorm after the embeddings (BERT)
    const float* embd_norm_b = nullptr;    // (n_embd)
    const float* output_norm = nullptr;    // (n_embd); null for encoders (post-norm blocks)
    Matrix output;                         // (n_vocab, n_embd); token_embd when tied; absent for encoders
    const float* rope_freqs = nullptr;     // (rope_dim/2) or null
    std::vector<LayerWeights> layers;      // (n_layer)
    std::vector<std::vector<float>> owned; // f32 copies of vector tensors
    std::vector<AlignedBytes> packed;      // arenas of repacked matrices (Matrix::packed), one per pack_weights
    uint64_t packed_bytes = 0;             // their total size
};

// Binds tensors by name into a ModelWeights, checking shapes (for bind_weights and the architectures that bind
// their own tensors: ArchEntry::bind).
struct WeightBinder {
    const gguf::File& f;
    ModelWeights& w;

    // A (rows, cols) matrix in its file type. cols is ne[0] (contiguous), rows is ne[1].
    Status matrix(const std::string& name, int64_t rows, int64_t cols, Matrix* out, bool required = true) const;
    // A vector of n elements, converted to f32 and owned by the weights.
    Status vec(const std::string& name, int64_t n, const float** out, bool required = true) const;
};

// Binds every tensor the architecture needs, checking presence, type support and shape. A missing
// tensor, a wrong shape or an unsupported type is an error naming the tensor.
Result<ModelWeights> bind_weights(const gguf::File& file, const ModelConfig& cfg);

// Repacks every layer matrix and the output matrix that the kernel table has an x16 kernel for (a tied token
// embedding then reads its rows from the packed copy) into owned memory, split across the pool, and gives the
// file's pages of each repacked tensor back to the kernel (madvise DONTNEED: the mapping stays valid and would
// re-read the file if touched), so the weights are resident once. Returns how many matrices were repacked.
// A tied output matrix is repacked only if its rows fit this (embed_tokens unpacks one row on the stack).
inline constexpr size_t kMaxPackedEmbedRowBytes = 32768;
int pack_weights(ModelWeights& w, const cpu::KernelTable& kt, ThreadPool& pool);

} // namespace hearth
