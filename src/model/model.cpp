#include "model/model.h"

#include "base/check.h"
#include "kernels/cpu/packed.h"
#include "kernels/ref/quant.h"
#include "model/archs/archs.h"

#include <algorithm>
#include <cmath>

namespace hearth {

Result<std::unique_ptr<Model>> load_model(const std::string& path) {
    auto file = gguf::File::open(path);
    if (!file) return file.status();
    auto cfg = read_model_config(*file);
    if (!cfg) return error(path + ": " + cfg.message());
    auto w = bind_weights(*file, *cfg);
    if (!w) return error(path + ": " + w.message());
    auto m = std::make_unique<Model>(Model{std::move(*file), std::move(*cfg), std::move(*w)});
    return m;
}

namespace {
struct Sizes {
    size_t kv_k, kv_v, q, k, v, attn, ff;
};
Sizes sizes(const ModelConfig& c, int32_t n_ctx) {
    Sizes s{};
    s.kv_k = size_t(c.n_layer) * size_t(n_ctx) * size_t(c.n_head_kv) * size_t(c.head_dim_k);
    s.kv_v = size_t(c.n_layer) * size_t(n_ctx) * size_t(c.n_head_kv) * size_t(c.head_dim_v);
    s.q = size_t(c.n_head) * size_t(c.head_dim_k);
    s.k = size_t(c.n_head_kv) * size_t(c.head_dim_k);
    s.v = size_t(c.n_head_kv) * size_t(c.head_dim_v);
    s.attn = size_t(c.n_head) * size_t(c.head_dim_v);
    s.ff = size_t(c.n_ff);
    return s;
}
} // namespace

uint64_t seq_state_bytes(const ModelConfig& c, int32_t n_ctx) {
    const Sizes s = sizes(c, n_ctx);
    return 2 * (s.kv_k + s.kv_v) + 4 * (uint64_t(c.generative ? c.n_vocab : 0) + uint64_t(c.n_embd));
}

uint64_t pass_scratch_bytes(const ModelConfig& c, int32_t n_ctx, int32_t n_batch, int n_threads) {
    const Sizes s = sizes(c, n_ctx);
    const uint64_t nb = static_cast<uint64_t>(n_batch);
    const uint64_t floats = nb * (2 * uint64_t(c.n_embd) + s.q + s.k + s.v + (s.q + s.k + s.v) + s.attn + 3 * s.ff) +
                            uint64_t(n_threads) * cpu::attend_scratch_floats(n_ctx, c.head_dim_k) + uint64_t(c.n_vocab);
    // Activation scratch: at most ~1.1 bytes per element of the widest input (Q8 blocks), generous.
    const uint64_t act = nb * std::max<uint64_t>(uint64_t(c.n_ff) * 2, uint64_t(c.n_embd)) * 4;
    return 4 * floats + act;
}

SeqState make_seq_state(const Model& m, int32_t n_ctx) {
    const Sizes s = sizes(m.cfg, n_ctx);
    SeqState q;
    q.n_ctx = n_ctx;
    q.k_cache.allocate(s.kv_k);
    q.v_cache.allocate(s.kv_v);
    q.logits.resize(m.cfg.generative ? size_t(m.cfg.n_vocab) : 0);
    q.embd.resize(size_t(m.cfg.n_embd));
    return q;
}

PassScratch make_pass_scratch(const Model& m, const cpu::KernelTable& kt, int32_t n_ctx, int32_t n_batch,
                              int32_t n_seqs, int n_threads) {
    const ModelConfig& c = m.cfg;
    const Sizes s = sizes(c, n_ctx);
    PassScratch b;
    b.n_ctx = n_ctx;
    b.n_batch = n_batch;
    b.n_seqs = std::max(n_seqs, 1);
    const size_t nb = static_cast<size_t>(n_batch);
    b.x.resize(nb * size_t(c.n_embd));
    b.h.resize(nb * size_t(c.n_embd));
    b.q.resize(nb * s.q);
    b.k.resize(nb * s.k);
    b.v.resize(nb * s.v);
    if (c.fused_qkv) b.qkv.resize(nb * (s.q + s.k + s.v));
    b.attn.resize(nb * s.attn);
    b.gate.resize(nb * 2 * s.ff);
    b.up.resize(nb * s.ff);
    AttnParams ap{};
    ap.n_ctx = n_ctx;
    ap.head_dim_k = c.head_dim_k;
    ap.head_dim_v = c.head_dim_v;
    b.scores.resize(size_t(n_threads) * attention_scratch_floats(ap));
    if (c.generative) b.logits.resize(size_t(b.n_seqs) * size_t(c.n_vocab));
    b.pos.resize(nb);
    if (!c.causal) b.key_end.resize(nb);
    b.token_seq.resize(nb);
    b.token_kv.resize(nb);
    // Activation scratch for the widest matmul input of every weight in the model.
    size_t act = 0;
    auto need = [&](const Matrix& w) {
        if (w.present()) act = std::max(act, cpu::act_scratch_bytes(kt, w.type, n_batch, w.cols));
        if (w.packed != nullptr) act = std::max(act, cpu::packed_act_bytes(w.type, n_batch, w.cols));
    };
    need(m.w.output);
    for (const auto& L : m.w.layers) {
        for (const Matrix* w : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down})
            need(*w);
    }
    b.act.resize(act);
    return b;
}

uint64_t allocated_bytes(const SeqState& q) {
    return 2 * (uint64_t(q.k_cache.size) + uint64_t(q.v_cache.size)) +
           4 * (uint64_t(q.logits.capacity()) + uint64_t(q.embd.capacity()));
}

uint64_t allocated_bytes(const PassScratch& b) {
    auto bytes = [](const auto& v) { return uint64_t(v.capacity()) * sizeof(v[0]); };
    return bytes(b.x) + bytes(b.h) + bytes(b.q) + bytes(b.k) + bytes(b.v) + bytes(b.qkv) + bytes(b.attn) +
           bytes(b.gate) + bytes(b.up) + bytes(b.scores) + bytes(b.logits) + bytes(b.pos) + bytes(b.key_end) +
           bytes(b.act) + bytes(b.token_seq) + bytes(b.token_kv);
}

void embed_tokens(const Model& m, const int32_t* tokens, int32_t n_tokens, float* x) {
    const Matrix& e = m.w.token_embd;
    if (e.packed != nullptr) { // tied to a repacked output matrix: the row back in the file layout first
        alignas(64) uint8_t row[kMaxPackedEmbedRowBytes];
        HEARTH_CHECK(e.row_bytes <= sizeof(row), "embedding row too long");
        for (int32_t t = 0; t < n_tokens; ++t) {
            cpu::unpack_x16_row(e.type, e.packed, e.cols, tokens[t], row);
            ref::ref_dequantize_row(e.type, row, x + int64_t{t} * e.cols, e.cols);
        }
        return;
    }
    for (int32_t t = 0; t < n_tokens; ++t) {
        ref::ref_dequantize_row(e.type, e.data + size_t(tokens[t]) * e.row_bytes, x + int64_t{t} * e.cols, e.cols);
    }
}

void add_embedding_rows(const Matrix& table, const int32_t* rows, int32_t n_tokens, float* x, float* row_scratch) {
    for (int32_t t = 0; t < n_tokens; ++t) {
        ref::ref_dequantize_row(table.type, table.data + size_t(rows[t]) * table.row_bytes, row_scratch, table.cols);
        add_inplace(x + int64_t{t} * table.cols, row_scratch, table.cols);
    }
}

namespace {

// The final hidden state rows [r0, r1) of the pass, normed as the model's last norm does (decoders: the output
// RMSNorm; encoders end normed), into y (r1 - r0, n_embd).
void final_hidden(const Model& m, const ComputeCtx& c, const PassScratch& work, int64_t r0, int64_t r1, float* y) {
    const int64_t n_embd = m.cfg.n_embd;
    if (m.w.output_norm)
        rms_norm(c, work.x.data() + r0 * n_embd, m.w.output_norm, y, r1 - r0, n_embd, m.cfg.rms_eps);
    else
        std::copy_n(work.x.data() + r0 * n_embd, size_t((r1 - r0) * n_embd), y);
}

// Pools each sequence's final hidden states into its cache's embd (see PassOutput), using work.h as scratch.
void pool_embeddings(const Model& m, const ComputeCtx& c, PassScratch& work, std::span<const SeqSpan> seqs) {
    const int64_t n_embd = m.cfg.n_embd;
    int64_t t0 = 0;
    for (const SeqSpan& s : seqs) {
        const int64_t t1 = t0 + s.n_tokens;
        float* e = s.seq->embd.data(); // (n_embd)
        switch (m.cfg.pooling) {
        case Pooling::Cls:
            if (s.n_past == 0) final_hidden(m, c, work, t0, t0 + 1, e);
            break;
        case Pooling::Mean:
            final_hidden(m, c, work, t0, t1, work.h.data() + t0 * n_embd);
            if (s.n_past == 0) std::fill_n(e, n_embd, 0.0f);
            for (int64_t t = t0; t < t1; ++t)
                add_inplace(e, work.h.data() + t * n_embd, n_embd);
            break;
        default: // Last (None never reaches here: read_model_config keeps the architecture's default)
            final_hidden(m, c, work, t1 - 1, t1, e);
            break;
        }
        t0 = t1;
    }
}

// The output projection of n_rows normed rows h (n_rows, n_embd) into logits (n_rows, n_vocab), soft-capped as the
// model asks.
void project_logits(const Model& m, const ComputeCtx& c, const float* h, int32_t n_rows, float* logits) {
    matmul(c, m.w.output, h, n_rows, logits);
    if (m.cfg.final_logit_softcap > 0) {
        const float cap = m.cfg.final_logit_softcap;
        for (size_t i = 0; i < size_t(n_rows) * size_t(m.cfg.n_vocab); ++i)
            logits[i] = std::tanh(logits[i] / cap) * cap;
    }
}

// Final norm and output projection for the last token of each sequence: one matmul for all of them.
void output_logits(const Model& m, const ComputeCtx& c, PassScratch& work, std::span<const SeqSpan> seqs) {
    const int64_t n_embd = m.cfg.n_embd;
    const size_t n_vocab = size_t(m.cfg.n_vocab);
    const auto n_seqs = static_cast<int32_t>(seqs.size());
    int64_t t_end = 0;
    for (int32_t i = 0; i < n_seqs; ++i) {
        t_end += seqs[size_t(i)].n_tokens;
        rms_norm(c, work.x.data() + (t_end - 1) * n_embd, m.w.output_norm, work.h.data() + int64_t{i} * n_embd, 1,
                 n_embd, m.cfg.rms_eps);
    }
    // One sequence: straight into its logits; several: their rows, then copied out.
    float* logits = n_seqs == 1 ? seqs[0].seq->logits.data() : work.logits.data();
    project_logits(m, c, work.h.data(), n_seqs, logits);
    if (n_seqs > 1)
        for (int32_t i = 0; i < n_seqs; ++i)
            std::copy_n(logits + size_t(i) * n_vocab, n_vocab, seqs[size_t(i)].seq->logits.data());
}

LayerKv layer_kv(const Model& m, SeqState& b, int32_t il) {
    const ModelConfig& c = m.cfg;
    const size_t k_layer = size_t(b.n_ctx) * size_t(c.n_head_kv) * size_t(c.head_dim_k);
    const size_t v_layer = size_t(b.n_ctx) * size_t(c.n_head_kv) * size_t(c.head_dim_v);
    return LayerKv{b.k_cache.data() + size_t(il) * k_layer, b.v_cache.data() + size_t(il) * v_layer};
}

} // namespace

const LayerKv* layer_kv_of_tokens(const Model& m, PassScratch& work, int32_t il, int32_t n) {
    for (int32_t t = 0; t < n; ++t) {
        SeqState* seq = work.token_seq[size_t(t)];
        if (t > 0 && seq == work.token_seq[size_t(t - 1)])
            work.token_kv[size_t(t)] = work.token_kv[size_t(t - 1)];
        else
            work.token_kv[size_t(t)] = layer_kv(m, *seq, il);
    }
    return work.token_kv.data();
}

namespace {

// The pass itself: the tokens' positions and caches, then the architecture's forward (final hidden states in work.x).
void run_pass(const Model& m, const ComputeCtx& c, PassScratch& work, const int32_t* tokens,
              std::span<const SeqSpan> seqs) {
    int32_t n = 0;
    for (const SeqSpan& s : seqs) {
        HEARTH_CHECK(m.cfg.causal || s.n_past == 0, "an encoder's input must be whole in one pass");
        for (int32_t t = 0; t < s.n_tokens; ++t) {
            work.pos[size_t(n + t)] = s.n_past + t;
            work.token_seq[size_t(n + t)] = s.seq;
            if (!m.cfg.causal) work.key_end[size_t(n + t)] = s.n_tokens;
        }
        n += s.n_tokens;
    }
    m.cfg.arch->forward(m, c, work, tokens, n);
}

} // namespace

void forward_batch(const Model& m, const ComputeCtx& c, PassScratch& work, const int32_t* tokens,
                   std::span<const SeqSpan> seqs, PassOutput out) {
    HEARTH_CHECK(out == PassOutput::Embedding || m.cfg.generative, "logits asked of an embedding-only model");
    run_pass(m, c, work, tokens, seqs);
    if (out == PassOutput::Logits)
        output_logits(m, c, work, seqs);
    else
        pool_embeddings(m, c, work, seqs);
}

void forward(const Model& m, const ComputeCtx& c, PassScratch& work, SeqState& seq, const int32_t* tokens,
             int32_t n_tokens, int32_t n_past) {
    const SeqSpan one{&seq, n_tokens, n_past};
    forward_batch(m, c, work, tokens, std::span<const SeqSpan>(&one, 1));
}

void forward_rows(const Model& m, const ComputeCtx& c, PassScratch& work, SeqState& seq, const int32_t* tokens,
                  int32_t n_tokens, int32_t n_past, int32_t first, const LogitsRowFn& fn) {
    HEARTH_CHECK(m.cfg.generative, "logits asked of an embedding-only model");
    HEARTH_CHECK(first >= 0 && first <= n_tokens && work.n_seqs >= 1, "forward_rows: bad row range");
    const SeqSpan one{&seq, n_tokens, n_past};
    run_pass(m, c, work, tokens, std::span<const SeqSpan>(&one, 1));
    const int64_t n_embd = m.cfg.n_embd;
    const size_t n_vocab = size_t(m.cfg.n_vocab);
    // The rows' normed states go to work.h (n_batch rows, free once the layers are done), the logits to work.logits.
    for (int32_t r0 = first; r0 < n_tokens; r0 += work.n_seqs) {
        const int32_t rows = std::min(work.n_seqs, n_tokens - r0);
        rms_norm(c, work.x.data() + int64_t{r0} * n_embd, m.w.output_norm, work.h.data(), rows, n_embd, m.cfg.rms_eps);
        project_logits(m, c, work.h.data(), rows, work.logits.data());
        for (int32_t i = 0; i < rows; ++i)
            fn(r0 + i, std::span<const float>(work.logits.data() + size_t(i) * n_vocab, n_vocab));
    }
    output_logits(m, c, work, std::span<const SeqSpan>(&one, 1));
}

} // namespace hearth
