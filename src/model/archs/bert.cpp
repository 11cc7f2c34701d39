// BERT (`bert` arch; Devlin et al. 2018), the encoder of sentence-embedding models (all-MiniLM, bge, e5):
// learned absolute positions, LayerNorm with biases after each block (post-norm), biases on every projection,
// a GELU FFN without gate, and attention in both directions. Embedding only: no output layer; the caller pools
// the last layer's states (mean by default, `bert.pooling_type`). As llama.cpp builds it (token type 0 for every
// token, ggml's tanh GELU).
//
//   x = LN(tok_embd[tokens] + pos_embd[pos] + token_types[0])
//   per layer:  q,k,v = x·W + b ; a = attention(q, k, v) (no mask within the input) · Wo + bo
//               x = LN(x + a)
//               x = LN(x + gelu(x·Wup + bup)·Wdown + bdown)
//
// nomic-bert (`nomic-bert` arch: nomic-embed-text v1/v1.5; Nussbaum et al. 2024) is the same encoder with
// RoPE (NeoX) instead of learned positions, one fused attn_qkv projection, a SwiGLU FFN, and no biases (any that
// a file has are used):
//   per layer:  q,k,v = x·Wqkv ; rope(q, k) ; ... ; x = LN(x + (silu(x·Wgate) * x·Wup)·Wdown)
#include "base/check.h"
#include "model/archs/archs.h"
#include "model/model.h"

#include <cmath>

namespace hearth {

namespace {

// What BERT and nomic-bert share; `learned_positions` is BERT's (rope_dim 0 then: no RoPE).
Status configure_encoder(const gguf::File& f, const KeyReader& r, ModelConfig& c) {
    c.causal = false;
    if (f.find(r.prefix + "attention.causal")) {
        auto causal = f.get_bool(r.prefix + "attention.causal");
        if (!causal) return causal.status();
        if (*causal) return error("model: '" + r.prefix + "attention.causal' is true; a BERT encoder is not causal");
    }
    c.generative = false;
    c.norm = NormKind::Layer;
    c.act = FfnAct::GeluTanh;
    c.pooling = Pooling::Mean;
    c.norm_eps = 1e-12f;
    HEARTH_TRY(r.f32("attention.layer_norm_epsilon", &c.norm_eps));
    if (c.n_head_kv != c.n_head || c.head_dim_v != c.head_dim_k)
        return error("model: a BERT encoder has as many key/value heads as query heads");
    return Status::ok();
}

} // namespace

Status configure_bert(const gguf::File& f, const KeyReader& r, ModelConfig& c) {
    HEARTH_TRY(configure_encoder(f, r, c));
    c.rope_dim = 0; // learned absolute positions (position_embd)
    return Status::ok();
}

Status configure_nomic_bert(const gguf::File& f, const KeyReader& r, ModelConfig& c) {
    HEARTH_TRY(configure_encoder(f, r, c));
    c.rope_style = RopeStyle::Neox; // rope_dim and rope.freq_base read by read_model_config
    c.fused_qkv = true;
    c.act = FfnAct::Silu; // SwiGLU
    return Status::ok();
}

Status bind_bert(WeightBinder& b, const ModelConfig& c) {
    ModelWeights& w = b.w;
    const int64_t n_embd = c.n_embd;
    const bool bert = c.rope_dim == 0; // learned positions and biases everywhere; else nomic-bert
    HEARTH_TRY(b.matrix("token_embd.weight", c.n_vocab, n_embd, &w.token_embd));
    if (bert) HEARTH_TRY(b.matrix("position_embd.weight", c.n_ctx_train, n_embd, &w.pos_embd));
    if (const gguf::TensorInfo* t = b.f.find_tensor("token_types.weight")) {
        const int64_t n_types = t->ne.size() >= 2 ? static_cast<int64_t>(t->ne[1]) : 1;
        HEARTH_TRY(b.matrix("token_types.weight", n_types, n_embd, &w.token_types));
    }
    HEARTH_TRY(b.vec("token_embd_norm.weight", n_embd, &w.embd_norm));
    HEARTH_TRY(b.vec("token_embd_norm.bias", n_embd, &w.embd_norm_b));
    w.layers.resize(static_cast<size_t>(c.n_layer));
    for (int32_t il = 0; il < c.n_layer; ++il) {
        LayerWeights& L = w.layers[static_cast<size_t>(il)];
        const std::string p = "blk." + std::to_string(il) + ".";
        if (c.fused_qkv) {
            if (b.f.find_tensor(p + "attn_qkv.bias"))
                return error("model: tensor '" + p + "attn_qkv.bias' (a fused q/k/v bias) is not supported yet");
            HEARTH_TRY(b.matrix(p + "attn_qkv.weight", 3 * n_embd, n_embd, &L.wqkv));
        } else {
            HEARTH_TRY(b.matrix(p + "attn_q.weight", n_embd, n_embd, &L.wq));
            HEARTH_TRY(b.matrix(p + "attn_k.weight", n_embd, n_embd, &L.wk));
            HEARTH_TRY(b.matrix(p + "attn_v.weight", n_embd, n_embd, &L.wv));
        }
        HEARTH_TRY(b.matrix(p + "attn_output.weight", n_embd, n_embd, &L.wo));
        HEARTH_TRY(b.vec(p + "attn_q.bias", n_embd, &L.bq, bert));
        HEARTH_TRY(b.vec(p + "attn_k.bias", n_embd, &L.bk, bert || L.bq));
        HEARTH_TRY(b.vec(p + "attn_v.bias", n_embd, &L.bv, bert || L.bq));
        HEARTH_TRY(b.vec(p + "attn_output.bias", n_embd, &L.bo, bert));
        HEARTH_TRY(b.vec(p + "attn_output_norm.weight", n_embd, &L.attn_norm));
        HEARTH_TRY(b.vec(p + "attn_output_norm.bias", n_embd, &L.attn_norm_b));
        if (!bert) HEARTH_TRY(b.matrix(p + "ffn_gate.weight", c.n_ff, n_embd, &L.ffn_gate));
        HEARTH_TRY(b.matrix(p + "ffn_up.weight", c.n_ff, n_embd, &L.ffn_up));
        HEARTH_TRY(b.vec(p + "ffn_up.bias", c.n_ff, &L.ffn_up_b, bert));
        HEARTH_TRY(b.matrix(p + "ffn_down.weight", n_embd, c.n_ff, &L.ffn_down));
        HEARTH_TRY(b.vec(p + "ffn_down.bias", n_embd, &L.ffn_down_b, bert));
        HEARTH_TRY(b.vec(p + "layer_output_norm.weight", n_embd, &L.ffn_norm));
        HEARTH_TRY(b.vec(p + "layer_output_norm.bias", n_embd, &L.ffn_norm_b));
    }
    return Status::ok();
}

void forward_bert(const Model& m, const ComputeCtx& c, PassScratch& b, const int32_t* tokens, int32_t n) {
    const ModelConfig& cfg = m.cfg;
    const int64_t n_embd = cfg.n_embd;
    const int64_t n_ff = cfg.n_ff;
    const float eps = cfg.norm_eps;

    HEARTH_CHECK(c.layer_begin == 0 && c.layer_end >= cfg.n_layer, "an encoder runs on one backend");
    Backend& be = *c.be;
    be.get_rows(m.w.token_embd, tokens, n, b.x.data());
    if (m.w.pos_embd.present()) { // learned absolute positions: row pos[t] of the table
        be.get_rows(m.w.pos_embd, b.pos.data(), n, b.h.data());
        be.add(b.x.data(), b.h.data(), n * n_embd);
    }
    if (m.w.token_types.present()) { // every token is of type 0
        const int32_t type0 = 0;
        be.get_rows(m.w.token_types, &type0, 1, b.h.data());
        be.add_row(b.x.data(), b.h.data(), n, n_embd);
    }
    be.layer_norm(b.x.data(), m.w.embd_norm, m.w.embd_norm_b, b.x.data(), n, n_embd, eps);

    const RopeParams rp{cfg.rope_style, cfg.rope_dim, cfg.rope_base, 1.0f / cfg.rope_scale, nullptr, 1.0f};
    AttnParams ap{};
    ap.n_head = cfg.n_head;
    ap.n_head_kv = cfg.n_head_kv;
    ap.head_dim_k = cfg.head_dim_k;
    ap.head_dim_v = cfg.head_dim_v;
    ap.scale = 1.0f / std::sqrt(float(cfg.head_dim_k));
    ap.n_ctx = b.n_ctx;
    ap.key_end = b.key_end.data();

    for (int32_t il = 0; il < cfg.n_layer; ++il) {
        const LayerWeights& L = m.w.layers[size_t(il)];
        if (L.wqkv.present()) {
            matmul(c, L.wqkv, b.x.data(), n, b.qkv.data());
            be.copy_cols(b.qkv.data(), n, 3 * n_embd, 0, n_embd, b.q.data());
            be.copy_cols(b.qkv.data(), n, 3 * n_embd, n_embd, n_embd, b.k.data());
            be.copy_cols(b.qkv.data(), n, 3 * n_embd, 2 * n_embd, n_embd, b.v.data());
        } else {
            matmul(c, L.wq, b.x.data(), n, b.q.data());
            matmul(c, L.wk, b.x.data(), n, b.k.data());
            matmul(c, L.wv, b.x.data(), n, b.v.data());
        }
        if (L.bq) {
            be.add_row(b.q.data(), L.bq, n, n_embd);
            be.add_row(b.k.data(), L.bk, n, n_embd);
            be.add_row(b.v.data(), L.bv, n, n_embd);
        }
        if (cfg.rope_dim > 0) {
            be.rope(b.q.data(), n, cfg.n_head, cfg.head_dim_k, b.pos.data(), rp);
            be.rope(b.k.data(), n, cfg.n_head_kv, cfg.head_dim_k, b.pos.data(), rp);
        }
        be.attention(ap, b.q.data(), b.k.data(), b.v.data(), b.pos.data(), n, layer_kv_of_tokens(m, b, il, n),
                     b.attn.data());
        matmul(c, L.wo, b.attn.data(), n, b.h.data());
        if (L.bo) be.add_row(b.h.data(), L.bo, n, n_embd);
        be.add(b.x.data(), b.h.data(), n * n_embd);
        be.layer_norm(b.x.data(), L.attn_norm, L.attn_norm_b, b.x.data(), n, n_embd, eps);

        if (L.ffn_gate.present()) { // SwiGLU (nomic-bert)
            matmul(c, L.ffn_gate, b.x.data(), n, b.gate.data());
            matmul(c, L.ffn_up, b.x.data(), n, b.up.data());
            be.glu(b.gate.data(), b.up.data(), n * n_ff, FfnAct::Silu);
        } else { // GELU (BERT)
            matmul(c, L.ffn_up, b.x.data(), n, b.gate.data());
            if (L.ffn_up_b) be.add_row(b.gate.data(), L.ffn_up_b, n, n_ff);
            be.glu(b.gate.data(), nullptr, n * n_ff, FfnAct::GeluTanh);
        }
        matmul(c, L.ffn_down, b.gate.data(), n, b.h.data());
        if (L.ffn_down_b) be.add_row(b.h.data(), L.ffn_down_b, n, n_embd);
        be.add(b.x.data(), b.h.data(), n * n_embd);
        be.layer_norm(b.x.data(), L.ffn_norm, L.ffn_norm_b, b.x.data(), n, n_embd, eps);
    }
}

} // namespace hearth
