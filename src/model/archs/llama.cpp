// Llama 2/3 and the models that share its GGUF layout: SmolLM2, TinyLlama, Mistral (`llama` arch).
//
//   x = embed(tokens)
//   per layer:  h = rmsnorm(x) ; q,k,v = h·Wq,Wk,Wv ; rope(q, k)   (normal RoPE: adjacent pairs)
//               x += attention(q, k, v) · Wo                    (grouped-query, causal)
//               h = rmsnorm(x) ; x += (silu(h·Wgate) * h·Wup) · Wdown
//   logits = rmsnorm(x_last) · Wout                              (Wout = Wembd when tied)
//
// Llama 3.x frequency scaling comes as the tensor rope_freqs.weight (read for every architecture) and
// linear RoPE scaling as rope.scaling.type = linear; both are handled by config.cpp.
#include "model/archs/archs.h"

namespace hearth {

Status configure_llama(const gguf::File& /*f*/, const KeyReader& /*r*/, ModelConfig& c) {
    c.rope_style = RopeStyle::Normal;
    return Status::ok();
}

} // namespace hearth
