#include "model/weights.h"

#include "base/check.h"
#include "kernels/ref/quant.h"
#include "model/archs/archs.h"

namespace hearth {
namespace {

std::string shape_str(const std::vector<uint64_t>& ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i)
        s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

const gguf::TensorInfo* find(const gguf::File& f, const std::string& name, bool required, Status* st) {
    const gguf::TensorInfo* t = f.find_tensor(name);
    if (!t && required) *st = error("model: missing tensor '" + name + "'");
    return t;
}

} // namespace

Status WeightBinder::matrix(const std::string& name, int64_t rows, int64_t cols, Matrix* out, bool required) const {
    Status st;
    const gguf::TensorInfo* t = find(f, name, required, &st);
    if (!t) return st;
    if (t->ne.size() < 2 || static_cast<int64_t>(t->ne[0]) != cols || static_cast<int64_t>(t->ne[1]) != rows ||
        (t->ne.size() > 2 && t->n_elements != t->ne[0] * t->ne[1]))
        return error("model: tensor '" + name + "' has shape " + shape_str(t->ne) + ", expected [" +
                     std::to_string(cols) + ", " + std::to_string(rows) + "]");
    out->type = t->type;
    out->data = f.tensor_data(*t).data();
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = static_cast<size_t>(t->n_bytes / static_cast<uint64_t>(rows));
    return Status::ok();
}

Status WeightBinder::vec(const std::string& name, int64_t n, const float** out, bool required) const {
    Status st;
    const gguf::TensorInfo* t = find(f, name, required, &st);
    if (!t) return st;
    if (static_cast<int64_t>(t->n_elements) != n)
        return error("model: tensor '" + name + "' has shape " + shape_str(t->ne) + ", expected " + std::to_string(n) +
                     " elements");
    if (!ref::ref_can_dequantize(t->type))
        return error("model: tensor '" + name + "' has unsupported type " + std::string(dtype_name(t->type)));
    w.owned.emplace_back(static_cast<size_t>(n));
    ref::ref_dequantize_row(t->type, f.tensor_data(*t).data(), w.owned.back().data(), n);
    *out = w.owned.back().data();
    return Status::ok();
}

Result<ModelWeights> bind_weights(const gguf::File& f, const ModelConfig& c) {
    ModelWeights w;
    w.owned.reserve(static_cast<size_t>(c.n_layer) * 16 + 8); // pointers into `owned` must stay valid
    WeightBinder b{f, w};
    if (c.arch->bind) {
        HEARTH_TRY(c.arch->bind(b, c));
        return w;
    }
    const int64_t q_dim = int64_t{c.n_head} * c.head_dim_k;
    const int64_t k_dim = int64_t{c.n_head_kv} * c.head_dim_k;
    const int64_t v_dim = int64_t{c.n_head_kv} * c.head_dim_v;
    const int64_t o_dim = int64_t{c.n_head} * c.head_dim_v;

    HEARTH_TRY(b.matrix("token_embd.weight", c.n_vocab, c.n_embd, &w.token_embd));
    HEARTH_TRY(b.vec("output_norm.weight", c.n_embd, &w.output_norm));
    if (f.find_tensor("output.weight")) {
        HEARTH_TRY(b.matrix("output.weight", c.n_vocab, c.n_embd, &w.output));
    } else {
        w.output = w.token_embd; // tied embeddings
    }
    if (!c.rope_freqs_tensor.empty()) HEARTH_TRY(b.vec(c.rope_freqs_tensor, c.rope_dim / 2, &w.rope_freqs));

    w.layers.resize(static_cast<size_t>(c.n_layer));
    for (int32_t il = 0; il < c.n_layer; ++il) {
        LayerWeights& L = w.layers[static_cast<size_t>(il)];
        const std::string p = "blk." + std::to_string(il) + ".";
        HEARTH_TRY(b.vec(p + "attn_norm.weight", c.n_embd, &L.attn_norm));
        if (c.fused_qkv) {
            HEARTH_TRY(b.matrix(p + "attn_qkv.weight", q_dim + k_dim + v_dim, c.n_embd, &L.wqkv));
        } else {
            HEARTH_TRY(b.matrix(p + "attn_q.weight", q_dim, c.n_embd, &L.wq));
            HEARTH_TRY(b.matrix(p + "attn_k.weight", k_dim, c.n_embd, &L.wk));
            HEARTH_TRY(b.matrix(p + "attn_v.weight", v_dim, c.n_embd, &L.wv));
        }
        HEARTH_TRY(b.matrix(p + "attn_output.weight", c.n_embd, o_dim, &L.wo));
        if (c.qkv_bias) {
            HEARTH_TRY(b.vec(p + "attn_q.bias", q_dim, &L.bq));
            HEARTH_TRY(b.vec(p + "attn_k.bias", k_dim, &L.bk));
            HEARTH_TRY(b.vec(p + "attn_v.bias", v_dim, &L.bv));
        }
        if (c.qk_norm) {
            HEARTH_TRY(b.vec(p + "attn_q_norm.weight", c.head_dim_k, &L.q_norm));
            HEARTH_TRY(b.vec(p + "attn_k_norm.weight", c.head_dim_k, &L.k_norm));
        }
        if (c.post_norms) {
            HEARTH_TRY(b.vec(p + "post_attention_norm.weight", c.n_embd, &L.attn_post_norm));
            HEARTH_TRY(b.vec(p + "post_ffw_norm.weight", c.n_embd, &L.ffn_post_norm));
        }
        HEARTH_TRY(b.vec(p + "ffn_norm.weight", c.n_embd, &L.ffn_norm));
        if (c.fused_gate_up) {
            HEARTH_TRY(b.matrix(p + "ffn_up.weight", 2 * int64_t{c.n_ff}, c.n_embd, &L.ffn_up));
        } else {
            HEARTH_TRY(b.matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd, &L.ffn_gate));
            HEARTH_TRY(b.matrix(p + "ffn_up.weight", c.n_ff, c.n_embd, &L.ffn_up));
        }
        HEARTH_TRY(b.matrix(p + "ffn_down.weight", c.n_embd, c.n_ff, &L.ffn_down));
    }
    return w;
}

} // namespace hearth

namespace hearth {

int prepare_weights(ModelWeights& w, Backend& be) {
    return prepare_weights(w, be, 0, int32_t(w.layers.size()), true, true);
}

int prepare_weights(ModelWeights& w, Backend& be, int32_t begin, int32_t end, bool embeds, bool outputs) {
    std::vector<Matrix*> ms;
    if (outputs) ms.push_back(&w.output);
    for (int32_t il = begin; il < end; ++il) {
        LayerWeights& L = w.layers[size_t(il)];
        for (Matrix* m : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down})
            ms.push_back(m);
    }
    // Only the part that embeds is told which tensor the embedding is (its rows are read there).
    const int n = be.prepare_weights(ms, embeds ? &w.token_embd : nullptr);
    // Every vector is one of `owned` (bind_weights): the backend's copy replaces the pointer.
    auto upload = [&](const float*& p) {
        if (p == nullptr) return;
        for (const auto& v : w.owned)
            if (v.data() == p) {
                p = be.upload_vector(p, int64_t(v.size()));
                return;
            }
        HEARTH_CHECK(false, "a weight vector outside ModelWeights::owned");
    };
    if (embeds) {
        upload(w.embd_norm);
        upload(w.embd_norm_b);
    }
    if (outputs) upload(w.output_norm);
    for (int32_t il = begin; il < end; ++il)
        for (LayerWeights& L = w.layers[size_t(il)];
             const float** p :
             {&L.attn_norm, &L.attn_norm_b, &L.bq, &L.bk, &L.bv, &L.bo, &L.q_norm, &L.k_norm, &L.attn_post_norm,
              &L.ffn_norm, &L.ffn_norm_b, &L.ffn_up_b, &L.ffn_down_b, &L.ffn_post_norm})
            upload(*p);
    // rope_freqs stays on the host: RoPE's angles are computed there (RopeParams::freq_factors).
    return n;
}

} // namespace hearth
