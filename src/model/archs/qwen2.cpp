// Qwen 2 / 2.5 (`qwen2` arch): the Llama decoder with biases on the q, k and v projections and NeoX RoPE
// (the two halves of each head rotated together).
//
//   per layer:  h = rmsnorm(x) ; q,k,v = h·Wq + bq, h·Wk + bk, h·Wv + bv ; rope_neox(q, k) ; ...
#include "model/archs/archs.h"

namespace hearth {

Status configure_qwen2(const gguf::File& /*f*/, const KeyReader& /*r*/, ModelConfig& c) {
    c.rope_style = RopeStyle::Neox;
    c.qkv_bias = true; // weights.cpp then requires attn_{q,k,v}.bias
    return Status::ok();
}

} // namespace hearth
