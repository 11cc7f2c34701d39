// Phi-3 / 3.5 (`phi3` arch): the Llama decoder with q, k, v fused in one matrix (attn_qkv) and gate and
// up fused in ffn_up (2 n_ff rows: gate first), NeoX RoPE, and q scaled by 1/sqrt(head_dim) before the
// dot product (as llama.cpp does for Phi-3, which changes rounding, not the math).
//
// LongRoPE (Phi-3.5 128k): rope_factors_short.weight holds the frequency factors up to the original
// context; the long factors beyond it are not supported yet, so sessions are capped at
// rope.scaling.original_context_length. phi3.attention.sliding_window is ignored, as llama.cpp does.
#include "model/archs/archs.h"

namespace hearth {

Status configure_phi3(const gguf::File& f, const KeyReader& r, ModelConfig& c) {
    c.rope_style = RopeStyle::Neox;
    c.fused_qkv = f.find_tensor("blk.0.attn_qkv.weight") != nullptr;
    c.fused_gate_up = f.find_tensor("blk.0.ffn_gate.weight") == nullptr;
    c.scale_q = true;
    if (f.find_tensor("rope_factors_short.weight")) {
        c.rope_freqs_tensor = "rope_factors_short.weight";
        HEARTH_TRY(r.u32("rope.scaling.original_context_length", &c.n_ctx_max, true));
        HEARTH_TRY(r.f32("rope.scaling.attn_factor", &c.rope_attn_factor));
    }
    return Status::ok();
}

} // namespace hearth
