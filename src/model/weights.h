// model/weights.h: the model's tensors bound by name, as non-owning views into the mapped file.
//
// Matrices stay in their file type (quantized) and are used in place, never dequantized whole, unless the backend
// lays them out its own way (prepare_weights: the CPU's x16 repacking, still quantized).
// Vectors (norm weights, biases, RoPE factors) are small: they are converted to f32 once at load
// and owned by ModelWeights, so kernels only ever see f32 vectors.
#pragma once

#include "backend/backend.h"
#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hearth {

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

// Hands the weights to the backend that will compute with them: every matrix the ops multiply with (the backend may
// lay them out its own way: backend.h, prepare_weights) and every weight vector (replaced by the backend's copy).
// Returns how many matrices the backend laid out its own way. Called once, before the first pass.
int prepare_weights(ModelWeights& w, Backend& be);
// The part of a split model one backend computes: layers [begin, end), the embedding's tensors when `embeds` (the
// first part: get_rows runs there), the output's when `outputs` (the last part).
int prepare_weights(ModelWeights& w, Backend& be, int32_t begin, int32_t end, bool embeds, bool outputs);

} // namespace hearth
