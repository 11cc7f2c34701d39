// model/decoder.cpp: the pre-norm decoder the Llama family shares (archs/llama.cpp, qwen2.cpp, qwen3.cpp,
// phi3.cpp): each architecture's configure function sets the config flags this forward reads (q/k/v
// biases, per-head q/k RMSNorm, fused qkv and gate/up, NeoX RoPE, q pre-scaling).
//
//   x = embed(tokens)
//   per layer:  h = rmsnorm(x) ; q,k,v = h·Wq,Wk,Wv (+ bias) ; [qk norm] ; rope(q, k)
//               x += attention(q, k, v) · Wo
//               h = rmsnorm(x) ; x += (silu(h·Wgate) * h·Wup) · Wdown
//   logits = rmsnorm(x_last) · Wout
#include "model/archs/archs.h"
#include "model/model.h"

#include <algorithm>
#include <cmath>

namespace hearth {

void forward_decoder(const Model& m, const ComputeCtx& c, PassScratch& b, const int32_t* tokens, int32_t n) {
    const ModelConfig& cfg = m.cfg;
    const int64_t n_embd = cfg.n_embd;
    const int64_t q_dim = int64_t{cfg.n_head} * cfg.head_dim_k;
    const int64_t k_dim = int64_t{cfg.n_head_kv} * cfg.head_dim_k;
    const int64_t v_dim = int64_t{cfg.n_head_kv} * cfg.head_dim_v;
    const int64_t n_ff = cfg.n_ff;

    Backend& be = *c.be;
    if (c.layer_begin == 0) be.get_rows(m.w.token_embd, tokens, n, b.x.data());

    RopeParams rp{cfg.rope_style,        cfg.rope_dim,   cfg.rope_base,
                  1.0f / cfg.rope_scale, m.w.rope_freqs, cfg.rope_attn_factor};
    const float scale = cfg.attn_scale > 0 ? cfg.attn_scale : 1.0f / std::sqrt(float(cfg.head_dim_k));
    AttnParams ap{};
    ap.n_head = cfg.n_head;
    ap.n_head_kv = cfg.n_head_kv;
    ap.head_dim_k = cfg.head_dim_k;
    ap.head_dim_v = cfg.head_dim_v;
    ap.scale = cfg.scale_q ? 1.0f : scale; // scale_q: q is scaled before the dot product instead
    ap.n_ctx = b.n_ctx;

    for (int32_t il = c.layer_begin; il < std::min(cfg.n_layer, c.layer_end); ++il) {
        const LayerWeights& L = m.w.layers[size_t(il)];
        be.rms_norm(b.x.data(), L.attn_norm, b.h.data(), n, n_embd, cfg.rms_eps);
        if (cfg.fused_qkv) {
            const int64_t qkv = q_dim + k_dim + v_dim;
            matmul(c, L.wqkv, b.h.data(), n, b.qkv.data());
            be.copy_cols(b.qkv.data(), n, qkv, 0, q_dim, b.q.data());
            be.copy_cols(b.qkv.data(), n, qkv, q_dim, k_dim, b.k.data());
            be.copy_cols(b.qkv.data(), n, qkv, q_dim + k_dim, v_dim, b.v.data());
        } else {
            matmul(c, L.wq, b.h.data(), n, b.q.data());
            matmul(c, L.wk, b.h.data(), n, b.k.data());
            matmul(c, L.wv, b.h.data(), n, b.v.data());
        }
        if (L.bq) {
            be.add_row(b.q.data(), L.bq, n, q_dim);
            be.add_row(b.k.data(), L.bk, n, k_dim);
            be.add_row(b.v.data(), L.bv, n, v_dim);
        }
        if (L.q_norm) {
            be.rms_norm(b.q.data(), L.q_norm, b.q.data(), n * cfg.n_head, cfg.head_dim_k, cfg.rms_eps);
            be.rms_norm(b.k.data(), L.k_norm, b.k.data(), n * cfg.n_head_kv, cfg.head_dim_k, cfg.rms_eps);
        }
        be.rope(b.q.data(), n, cfg.n_head, cfg.head_dim_k, b.pos.data(), rp);
        be.rope(b.k.data(), n, cfg.n_head_kv, cfg.head_dim_k, b.pos.data(), rp);
        if (cfg.scale_q) be.scale(b.q.data(), n * q_dim, scale);
        ap.window = cfg.swa_layer[size_t(il)] ? cfg.sliding_window : 0;
        be.attention(ap, b.q.data(), b.k.data(), b.v.data(), b.pos.data(), n, layer_kv_of_tokens(m, b, il, n),
                     b.attn.data());
        matmul(c, L.wo, b.attn.data(), n, b.h.data());
        be.add(b.x.data(), b.h.data(), n * n_embd);

        be.rms_norm(b.x.data(), L.ffn_norm, b.h.data(), n, n_embd, cfg.rms_eps);
        if (cfg.fused_gate_up) {
            // ffn_up yields (n, 2 * n_ff): gate in the first half of each row, up in the second.
            matmul(c, L.ffn_up, b.h.data(), n, b.gate_up.data());
            be.copy_cols(b.gate_up.data(), n, 2 * n_ff, 0, n_ff, b.gate.data());
            be.copy_cols(b.gate_up.data(), n, 2 * n_ff, n_ff, n_ff, b.up.data());
        } else {
            matmul(c, L.ffn_gate, b.h.data(), n, b.gate.data());
            matmul(c, L.ffn_up, b.h.data(), n, b.up.data());
        }
        be.glu(b.gate.data(), b.up.data(), n * n_ff, cfg.act);
        matmul(c, L.ffn_down, b.gate.data(), n, b.h.data());
        be.add(b.x.data(), b.h.data(), n * n_embd);
    }
}

} // namespace hearth
