// convert/hf_arch.h: a Hugging Face architecture's config.json as GGUF hyperparameters, and its safetensors
// tensors as GGUF tensors (names, shapes, transformations), the way llama.cpp's convert_hf_to_gguf.py writes them.
//
// Architectures (config.json "architectures"[0]) -> general.architecture:
//   LlamaForCausalLM, MistralForCausalLM -> llama           q_proj/k_proj rows permuted (below); vocab_size,
//                                                           rope.dimension_count; Llama 3 rope scaling as the
//                                                           rope_freqs.weight tensor
//   Qwen2ForCausalLM -> qwen2                               q/k/v biases
//   Qwen3ForCausalLM -> qwen3                               q/k per-head norms; key/value_length from head_dim
//   Gemma3ForCausalLM (text only) -> gemma3                 every *norm.weight + 1 (Gemma3RMSNorm scales by
//                                                           1 + w); token_embd cut to the tokenizer's tokens;
//                                                           llama.cpp's defaults for absent fields; sliding window,
//                                                           rope.freq_base_swa, final_logit_softcapping
//   Phi3ForCausalLM -> phi3                                 fused qkv_proj and gate_up_proj kept fused (attn_qkv,
//                                                           ffn_up); rope.scaling.original_context_length;
//                                                           LongRoPE as rope_factors_long/short.weight and
//                                                           rope.scaling.attn_factor
// Anything else is refused naming the architecture.
//
// Names: model.embed_tokens -> token_embd, model.norm -> output_norm, lm_head -> output (absent with tied
// embeddings), model.layers.N.* -> blk.N.* (attn_norm, attn_q/k/v/output, ffn_norm, ffn_gate/up/down, ...).
// A tensor the architecture does not have is refused by name, as is a missing one. Shapes: GGUF ne is the
// safetensors shape reversed.
//
// Llama's permutation: HF stores q and k with RoPE's rotate-half layout (pairs (i, i + d/2) in each head); GGUF's
// llama runs RoPE on adjacent pairs (2i, 2i + 1), so row (head h, half j, i) moves to (h, i, j):
// reshape(n_head, 2, d/2, n_in).swapaxes(1, 2), with n_head_kv heads for k.
#pragma once

#include "base/status.h"
#include "convert/hf_dir.h"
#include "convert/safetensors.h"
#include "gguf/gguf.h"

#include <string>
#include <vector>

namespace hearth::convert {

enum class Transform {
    None,
    PermuteRope, // llama q/k: rotate-half rows to interleaved pairs (permute_heads heads)
    AddOne,      // Gemma 3 norms: w + 1
};

struct TensorSpec {
    std::string name;         // GGUF name
    std::string src;          // safetensors name; "" for a generated tensor
    std::vector<uint64_t> ne; // (n_dims) GGUF order: ne[0] the contiguous dimension
    Transform transform = Transform::None;
    int32_t permute_heads = 0; // PermuteRope
    std::vector<float> values; // a generated tensor's values (rope_freqs)
};

struct ArchPlan {
    std::string arch;               // general.architecture
    std::vector<gguf::KeyValue> kv; // "<arch>.*" hyperparameters, in llama.cpp's order
    std::vector<TensorSpec> tensors;
};

// The names of the architectures hearth convert reads ("LlamaForCausalLM, ...").
std::string supported_architectures();

// n_tokens: the tokenizer's token count (Gemma 3's embedding rows past it are dropped).
Result<ArchPlan> plan_arch(const HfDir& d, const SafetensorsSet& st, int64_t n_tokens);

} // namespace hearth::convert
