// Gemma 3: interleaved sliding-window (local) and global attention layers, q/k RMSNorm per head,
// norms before and after both attention and FFN, GeGLU, embeddings scaled by sqrt(n_embd), and
// separate RoPE bases for local (10k) and global (1M) layers. (Gemma 3 report, 2025.)
//
//   x = embed(tokens) * sqrt(n_embd)
//   per layer:  h = rmsnorm(x) ; q,k,v = h·W ; q,k = rmsnorm per head ; rope(base local|global)
//               x += rmsnorm_post(attention(q, k, v, window if local) · Wo)
//               h = rmsnorm(x) ; x += rmsnorm_post((gelu(h·Wgate) * h·Wup) · Wdown)
//   logits = rmsnorm(x_last) · Wembdᵀ
#include "model/archs/archs.h"
#include "model/model.h"

#include <algorithm>
#include <cmath>

namespace hearth {

Status configure_gemma3(const gguf::File& /*f*/, const KeyReader& r, ModelConfig& c) {
    c.rope_style = RopeStyle::Neox;
    c.qk_norm = true;
    c.post_norms = true;
    c.act = FfnAct::GeluTanh;
    c.rope_base_local = 10000.0f; // Gemma 3 local layers use base 10k (not stored in GGUF)
    HEARTH_TRY(r.f32("rope.freq_base_swa", &c.rope_base_local));
    HEARTH_TRY(r.u32("attention.sliding_window", &c.sliding_window, true));
    // Five local (sliding-window) layers, then one global layer.
    for (int32_t il = 0; il < c.n_layer; ++il)
        c.swa_layer[static_cast<size_t>(il)] = (il % 6) != 5;
    HEARTH_TRY(r.f32("final_logit_softcapping", &c.final_logit_softcap));
    return Status::ok();
}

void forward_gemma3(const Model& m, const ComputeCtx& c, PassScratch& b, const int32_t* tokens, int32_t n) {
    const ModelConfig& cfg = m.cfg;
    const int64_t n_embd = cfg.n_embd;
    const int64_t n_ff = cfg.n_ff;

    Backend& be = *c.be;
    if (c.layer_begin == 0) {
        be.get_rows(m.w.token_embd, tokens, n, b.x.data());
        be.scale(b.x.data(), n * n_embd, std::sqrt(float(n_embd)));
    }

    RopeParams rp_global{cfg.rope_style, cfg.rope_dim, cfg.rope_base, 1.0f / cfg.rope_scale, nullptr};
    RopeParams rp_local{cfg.rope_style, cfg.rope_dim, cfg.rope_base_local, 1.0f, nullptr};
    // Gemma scales q itself (query_pre_attn_scalar) before the dot product, not the scores.
    const float q_scale = cfg.attn_scale > 0 ? cfg.attn_scale : 1.0f / std::sqrt(float(cfg.head_dim_k));
    AttnParams ap{cfg.n_head, cfg.n_head_kv, cfg.head_dim_k, cfg.head_dim_v, 1.0f, 0, b.n_ctx};

    for (int32_t il = c.layer_begin; il < std::min(cfg.n_layer, c.layer_end); ++il) {
        const LayerWeights& L = m.w.layers[size_t(il)];
        const bool local = cfg.swa_layer[size_t(il)];
        be.rms_norm(b.x.data(), L.attn_norm, b.h.data(), n, n_embd, cfg.rms_eps);
        matmul(c, L.wq, b.h.data(), n, b.q.data());
        matmul(c, L.wk, b.h.data(), n, b.k.data());
        matmul(c, L.wv, b.h.data(), n, b.v.data());
        be.rms_norm(b.q.data(), L.q_norm, b.q.data(), n * cfg.n_head, cfg.head_dim_k, cfg.rms_eps);
        be.rms_norm(b.k.data(), L.k_norm, b.k.data(), n * cfg.n_head_kv, cfg.head_dim_k, cfg.rms_eps);
        const RopeParams& rp = local ? rp_local : rp_global;
        be.rope(b.q.data(), n, cfg.n_head, cfg.head_dim_k, b.pos.data(), rp);
        be.rope(b.k.data(), n, cfg.n_head_kv, cfg.head_dim_k, b.pos.data(), rp);
        be.scale(b.q.data(), n * cfg.n_head * cfg.head_dim_k, q_scale);
        ap.window = local ? cfg.sliding_window : 0;
        be.attention(ap, b.q.data(), b.k.data(), b.v.data(), b.pos.data(), n, layer_kv_of_tokens(m, b, il, n),
                     b.attn.data());
        matmul(c, L.wo, b.attn.data(), n, b.h.data());
        be.rms_norm(b.h.data(), L.attn_post_norm, b.h.data(), n, n_embd, cfg.rms_eps);
        be.add(b.x.data(), b.h.data(), n * n_embd);

        be.rms_norm(b.x.data(), L.ffn_norm, b.h.data(), n, n_embd, cfg.rms_eps);
        matmul(c, L.ffn_gate, b.h.data(), n, b.gate.data());
        matmul(c, L.ffn_up, b.h.data(), n, b.up.data());
        be.glu(b.gate.data(), b.up.data(), n * n_ff, cfg.act);
        matmul(c, L.ffn_down, b.gate.data(), n, b.h.data());
        be.rms_norm(b.h.data(), L.ffn_post_norm, b.h.data(), n, n_embd, cfg.rms_eps);
        be.add(b.x.data(), b.h.data(), n * n_embd);
    }
}

} // namespace hearth
