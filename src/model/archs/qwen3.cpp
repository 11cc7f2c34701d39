// Qwen 3 (`qwen3` arch): the Llama decoder with an RMSNorm over each head of q and of k (before RoPE),
// NeoX RoPE, and no projection biases; the head size may differ from n_embd / n_head (key_length).
//
//   per layer:  h = rmsnorm(x) ; q,k,v = h·W ; q,k = rmsnorm per head (attn_q_norm, attn_k_norm) ;
//               rope_neox(q, k) ; ...
#include "model/archs/archs.h"

namespace hearth {

Status configure_qwen3(const gguf::File& /*f*/, const KeyReader& /*r*/, ModelConfig& c) {
    c.rope_style = RopeStyle::Neox;
    c.qk_norm = true; // weights.cpp then requires attn_{q,k}_norm.weight
    return Status::ok();
}

} // namespace hearth
