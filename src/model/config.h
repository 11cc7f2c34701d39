// model/config.h: the hyperparameters of a model, read entirely from GGUF metadata.
//
// One plain struct for every architecture: family differences are flags and numbers here, not
// subclasses. Keys are "<arch>.<name>" as the GGUF spec and llama.cpp's converters write them;
// an absent optional key takes the architecture's documented default, an absent required key or
// an unsupported architecture is an error at load time.
#pragma once

#include "backend/backend.h"
#include "base/status.h"
#include "gguf/gguf.h"
#include "hearth/embedding.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hearth {

struct ArchEntry;                   // the architecture registry's entry (model/archs/archs.h)
enum class NormKind { Rms, Layer }; // RMSNorm (Llama) or LayerNorm with bias (BERT)
// RopeStyle and FfnAct are the backend's (backend/backend.h).

struct ModelConfig {
    const ArchEntry* arch = nullptr; // general.architecture's registry entry; never null after read_model_config
    int32_t n_vocab = 0;
    int32_t n_embd = 0;
    int32_t n_layer = 0;
    int32_t n_head = 0;
    int32_t n_head_kv = 0;
    int32_t head_dim_k = 0; // per-head key/query width
    int32_t head_dim_v = 0; // per-head value width
    int32_t n_ff = 0;
    int32_t n_ctx_train = 0;
    float rms_eps = 1e-5f;

    RopeStyle rope_style = RopeStyle::Normal;
    int32_t rope_dim = 0;         // rotated dims per head (<= head_dim_k)
    float rope_base = 10000.0f;   // global layers
    float rope_base_local = 0.0f; // sliding-window layers (Gemma 3); 0 = same as rope_base
    float rope_scale = 1.0f;      // linear position scaling: pos / rope_scale
    // A tensor of (rope_dim/2) divisors of the RoPE frequencies: `rope_freqs.weight` (Llama 3.x) or
    // Phi-3 LongRoPE's `rope_factors_short.weight`; empty when none.
    std::string rope_freqs_tensor;
    float rope_attn_factor = 1.0f; // scales cos/sin (Phi-3 LongRoPE `rope.scaling.attn_factor`)
    int32_t n_ctx_max = 0;         // > 0: sessions may not exceed this (LongRoPE short factors only)

    // Sliding-window attention (Gemma 3): layer il attends to the last `sliding_window` positions
    // when swa_layer[il] is true; otherwise to the whole context.
    int32_t sliding_window = 0;
    std::vector<bool> swa_layer; // (n_layer)

    bool qkv_bias = false;      // Qwen 2
    bool qk_norm = false;       // Qwen 3, Gemma 3: RMSNorm over each head of q and k
    bool post_norms = false;    // Gemma 3: RMSNorm after attention and after the FFN
    bool fused_qkv = false;     // Phi-3: one attn_qkv tensor
    bool fused_gate_up = false; // Phi-3: ffn_up holds gate and up
    FfnAct act = FfnAct::Silu;
    float attn_scale = 0.0f;          // softmax scale; 0 = 1/sqrt(head_dim_k)
    bool scale_q = false;             // apply attn_scale to q before the f16 dot product (Phi-3), not to the
                                      // scores, as llama.cpp builds these graphs
    float final_logit_softcap = 0.0f; // 0 = none

    // Embeddings. Decoders pool the hidden states after the final norm; encoders have no final norm.
    bool causal = true;              // false: an encoder (BERT): each token attends to its whole input
    bool generative = true;          // has an output layer (logits); false: an embedding-only model
    NormKind norm = NormKind::Rms;   // the norm every block uses
    float norm_eps = 1e-5f;          // LayerNorm epsilon (`attention.layer_norm_epsilon`)
    Pooling pooling = Pooling::Last; // `<arch>.pooling_type`; absent or 0: the architecture's default
    bool pooling_declared = false;   // the file says how to pool (an embedding model), not our default
};

// Reads and validates the config. Errors name the key and what is wrong with it.
Result<ModelConfig> read_model_config(const gguf::File& file);

} // namespace hearth
