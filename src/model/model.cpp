#include "model/model.h"

#include "base/check.h"
#include "kernels/cpu/ops.h"
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
    const uint64_t ff = (c.fused_gate_up ? 4 : 2) * s.ff; // gate, up (and the fused projection's output)
    const uint64_t floats = nb * (2 * uint64_t(c.n_embd) + s.q + s.k + s.v + (s.q + s.k + s.v) + s.attn + ff) +
                            uint64_t(n_threads) * cpu::attend_scratch_floats(n_ctx, c.head_dim_k) + uint64_t(c.n_vocab);
    // Activation scratch: at most ~1.1 bytes per element of the widest input (Q8 blocks), generous.
    const uint64_t act = nb * std::max<uint64_t>(uint64_t(c.n_ff) * 2, uint64_t(c.n_embd)) * 4;
    return 4 * floats + act;
}

SeqState make_seq_state(const Model& m, Backend& be, int32_t n_ctx) {
    const LayerSplit all{&be, 0, m.cfg.n_layer};
    return make_seq_state(m, std::span<const LayerSplit>(&all, 1), n_ctx);
}

SeqState make_seq_state(const Model& m, std::span<const LayerSplit> splits, int32_t n_ctx) {
    const Sizes s = sizes(m.cfg, n_ctx);
    const size_t n_layer = size_t(std::max(m.cfg.n_layer, 1));
    SeqState q;
    q.n_ctx = n_ctx;
    for (const LayerSplit& sp : splits) {
        KvPart part;
        part.begin = sp.begin;
        part.end = sp.end;
        part.k = sp.be->alloc<uint16_t>(s.kv_k / n_layer * size_t(sp.end - sp.begin));
        part.v = sp.be->alloc<uint16_t>(s.kv_v / n_layer * size_t(sp.end - sp.begin));
        q.kv.push_back(std::move(part));
    }
    q.logits.resize(m.cfg.generative ? size_t(m.cfg.n_vocab) : 0);
    q.embd.resize(size_t(m.cfg.n_embd));
    return q;
}

PassScratch make_pass_scratch(const Model& m, Backend& be, int32_t n_ctx, int32_t n_batch, int32_t n_seqs) {
    const ModelConfig& c = m.cfg;
    const Sizes s = sizes(c, n_ctx);
    PassScratch b;
    b.n_ctx = n_ctx;
    b.n_batch = n_batch;
    b.n_seqs = std::max(n_seqs, 1);
    const size_t nb = static_cast<size_t>(n_batch);
    b.x = be.alloc<float>(nb * size_t(c.n_embd));
    b.h = be.alloc<float>(nb * size_t(c.n_embd));
    b.q = be.alloc<float>(nb * s.q);
    b.k = be.alloc<float>(nb * s.k);
    b.v = be.alloc<float>(nb * s.v);
    if (c.fused_qkv) b.qkv = be.alloc<float>(nb * (s.q + s.k + s.v));
    b.attn = be.alloc<float>(nb * s.attn);
    b.gate = be.alloc<float>(nb * s.ff);
    b.up = be.alloc<float>(nb * s.ff);
    if (c.fused_gate_up) b.gate_up = be.alloc<float>(nb * 2 * s.ff);
    if (c.generative) b.logits = be.alloc<float>(size_t(b.n_seqs) * size_t(c.n_vocab));
    b.pos.resize(nb);
    if (!c.causal) b.key_end.resize(nb);
    b.token_seq.resize(nb);
    b.token_kv.resize(nb);
    b.host_row.resize(size_t(c.n_embd));
    // The workspace for the widest matmul input of every weight in the model and attention over n_ctx.
    std::vector<const Matrix*> ms{&m.w.output};
    for (const auto& L : m.w.layers)
        for (const Matrix* w : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down})
            ms.push_back(w);
    be.reserve(WorkspaceNeed{n_batch, n_ctx, c.head_dim_k, ms});
    return b;
}

uint64_t allocated_bytes(const SeqState& q) {
    uint64_t kv = 0;
    for (const KvPart& p : q.kv)
        kv += p.k.bytes() + p.v.bytes();
    return kv + 4 * (uint64_t(q.logits.capacity()) + uint64_t(q.embd.capacity()));
}

uint64_t backend_bytes(const PassScratch& b) {
    return b.x.bytes() + b.h.bytes() + b.q.bytes() + b.k.bytes() + b.v.bytes() + b.qkv.bytes() + b.attn.bytes() +
           b.gate.bytes() + b.up.bytes() + b.gate_up.bytes() + b.logits.bytes();
}

uint64_t allocated_bytes(const PassScratch& b) {
    auto bytes = [](const auto& v) { return uint64_t(v.capacity()) * sizeof(v[0]); };
    return backend_bytes(b) + bytes(b.pos) + bytes(b.key_end) + bytes(b.token_seq) + bytes(b.token_kv) +
           bytes(b.host_row);
}

namespace {

// The final hidden state rows [r0, r1) of the pass, normed as the model's last norm does (decoders: the output
// RMSNorm; encoders end normed), into y (r1 - r0, n_embd).
void final_hidden(const Model& m, const ComputeCtx& c, PassScratch& work, int64_t r0, int64_t r1, float* y) {
    const int64_t n_embd = m.cfg.n_embd;
    if (m.w.output_norm)
        c.be->rms_norm(work.x.data() + r0 * n_embd, m.w.output_norm, y, r1 - r0, n_embd, m.cfg.rms_eps);
    else
        c.be->copy_cols(work.x.data() + r0 * n_embd, r1 - r0, n_embd, 0, n_embd, y);
}

// Pools each sequence's final hidden states into its embd on the host (see PassOutput), using work.h as scratch.
void pool_embeddings(const Model& m, const ComputeCtx& c, PassScratch& work, std::span<const SeqSpan> seqs) {
    const int64_t n_embd = m.cfg.n_embd;
    int64_t t0 = 0;
    for (const SeqSpan& s : seqs) {
        const int64_t t1 = t0 + s.n_tokens;
        float* e = s.seq->embd.data(); // (n_embd) host
        float* h = work.h.data() + t0 * n_embd;
        switch (m.cfg.pooling) {
        case Pooling::Cls:
            if (s.n_past == 0) {
                final_hidden(m, c, work, t0, t0 + 1, h);
                c.be->read(h, e, size_t(n_embd));
            }
            break;
        case Pooling::Mean:
            final_hidden(m, c, work, t0, t1, h);
            if (s.n_past == 0) std::fill_n(e, n_embd, 0.0f);
            // Row by row through the host's sum, in order (the sum's rounding is the same whatever the company).
            for (int64_t t = t0; t < t1; ++t) {
                float* row = work.host_row.data();
                c.be->read(work.h.data() + t * n_embd, row, size_t(n_embd));
                for (int64_t i = 0; i < n_embd; ++i)
                    e[i] += row[i];
            }
            break;
        default: // Last (None never reaches here: read_model_config keeps the architecture's default)
            final_hidden(m, c, work, t1 - 1, t1, h);
            c.be->read(h, e, size_t(n_embd));
            break;
        }
        t0 = t1;
    }
}

// The output projection of n_rows normed rows h (n_rows, n_embd) into logits (n_rows, n_vocab), soft-capped as the
// model asks.
void project_logits(const Model& m, const ComputeCtx& c, const float* h, int32_t n_rows, float* logits) {
    matmul(c, m.w.output, h, n_rows, logits);
    if (m.cfg.final_logit_softcap > 0)
        c.be->softcap(logits, int64_t{n_rows} * m.cfg.n_vocab, m.cfg.final_logit_softcap);
}

// Final norm and output projection for the last token of each sequence: one matmul for all of them.
void output_logits(const Model& m, const ComputeCtx& c, PassScratch& work, std::span<const SeqSpan> seqs) {
    const int64_t n_embd = m.cfg.n_embd;
    const size_t n_vocab = size_t(m.cfg.n_vocab);
    const auto n_seqs = static_cast<int32_t>(seqs.size());
    int64_t t_end = 0;
    for (int32_t i = 0; i < n_seqs; ++i) {
        t_end += seqs[size_t(i)].n_tokens;
        c.be->rms_norm(work.x.data() + (t_end - 1) * n_embd, m.w.output_norm, work.h.data() + int64_t{i} * n_embd, 1,
                       n_embd, m.cfg.rms_eps);
    }
    project_logits(m, c, work.h.data(), n_seqs, work.logits.data());
    for (int32_t i = 0; i < n_seqs; ++i)
        c.be->read(work.logits.data() + size_t(i) * n_vocab, seqs[size_t(i)].seq->logits.data(), n_vocab);
}

LayerKv layer_kv(const Model& m, SeqState& b, int32_t il) {
    const ModelConfig& c = m.cfg;
    const size_t k_layer = size_t(b.n_ctx) * size_t(c.n_head_kv) * size_t(c.head_dim_k);
    const size_t v_layer = size_t(b.n_ctx) * size_t(c.n_head_kv) * size_t(c.head_dim_v);
    for (KvPart& p : b.kv)
        if (il >= p.begin && il < p.end)
            return LayerKv{p.k.data() + size_t(il - p.begin) * k_layer, p.v.data() + size_t(il - p.begin) * v_layer};
    HEARTH_CHECK(false, "a layer outside every KV part");
    return {};
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

// The pass itself: the tokens' positions and caches, then the architecture's forward over each stage's layers (the
// hidden states handed from one stage's backend to the next through the host), leaving the final hidden states in the
// last stage's work.x.
void run_pass(const Model& m, std::span<const Stage> stages, float* handover, const int32_t* tokens,
              std::span<const SeqSpan> seqs) {
    HEARTH_CHECK(!stages.empty() && (stages.size() == 1 || handover != nullptr), "run_pass: stages");
    int32_t n = 0;
    for (const SeqSpan& s : seqs) {
        HEARTH_CHECK(m.cfg.causal || s.n_past == 0, "an encoder's input must be whole in one pass");
        for (const Stage& st : stages) {
            PassScratch& work = *st.work;
            for (int32_t t = 0; t < s.n_tokens; ++t) {
                work.pos[size_t(n + t)] = s.n_past + t;
                work.token_seq[size_t(n + t)] = s.seq;
                if (!m.cfg.causal) work.key_end[size_t(n + t)] = s.n_tokens;
            }
        }
        n += s.n_tokens;
    }
    for (size_t i = 0; i < stages.size(); ++i) {
        if (i > 0) {
            const size_t floats = size_t(n) * size_t(m.cfg.n_embd);
            stages[i - 1].c.be->read(stages[i - 1].work->x.data(), handover, floats);
            stages[i].c.be->write(handover, stages[i].work->x.data(), floats);
        }
        m.cfg.arch->forward(m, stages[i].c, *stages[i].work, tokens, n);
    }
}

} // namespace

void forward_batch(const Model& m, std::span<const Stage> stages, float* handover, const int32_t* tokens,
                   std::span<const SeqSpan> seqs, PassOutput out) {
    HEARTH_CHECK(out == PassOutput::Embedding || m.cfg.generative, "logits asked of an embedding-only model");
    run_pass(m, stages, handover, tokens, seqs);
    const Stage& last = stages.back();
    if (out == PassOutput::Logits)
        output_logits(m, last.c, *last.work, seqs);
    else
        pool_embeddings(m, last.c, *last.work, seqs);
}

void forward_batch(const Model& m, const ComputeCtx& c, PassScratch& work, const int32_t* tokens,
                   std::span<const SeqSpan> seqs, PassOutput out) {
    const Stage one{c, &work};
    forward_batch(m, std::span<const Stage>(&one, 1), nullptr, tokens, seqs, out);
}

void forward(const Model& m, const ComputeCtx& c, PassScratch& work, SeqState& seq, const int32_t* tokens,
             int32_t n_tokens, int32_t n_past) {
    const SeqSpan one{&seq, n_tokens, n_past};
    forward_batch(m, c, work, tokens, std::span<const SeqSpan>(&one, 1));
}

void forward_rows(const Model& m, std::span<const Stage> stages, float* handover, SeqState& seq, const int32_t* tokens,
                  int32_t n_tokens, int32_t n_past, int32_t first, const LogitsRowFn& fn) {
    HEARTH_CHECK(m.cfg.generative, "logits asked of an embedding-only model");
    const ComputeCtx& c = stages.back().c;
    PassScratch& work = *stages.back().work;
    HEARTH_CHECK(first >= 0 && first <= n_tokens && work.n_seqs >= 1, "forward_rows: bad row range");
    const SeqSpan one{&seq, n_tokens, n_past};
    run_pass(m, stages, handover, tokens, std::span<const SeqSpan>(&one, 1));
    const int64_t n_embd = m.cfg.n_embd;
    const size_t n_vocab = size_t(m.cfg.n_vocab);
    // The rows' normed states go to work.h (n_batch rows, free once the layers are done), the logits to work.logits,
    // each row to the host through seq.logits (which output_logits writes last).
    for (int32_t r0 = first; r0 < n_tokens; r0 += work.n_seqs) {
        const int32_t rows = std::min(work.n_seqs, n_tokens - r0);
        c.be->rms_norm(work.x.data() + int64_t{r0} * n_embd, m.w.output_norm, work.h.data(), rows, n_embd,
                       m.cfg.rms_eps);
        project_logits(m, c, work.h.data(), rows, work.logits.data());
        for (int32_t i = 0; i < rows; ++i) {
            c.be->read(work.logits.data() + size_t(i) * n_vocab, seq.logits.data(), n_vocab);
            fn(r0 + i, std::span<const float>(seq.logits.data(), n_vocab));
        }
    }
    output_logits(m, c, work, std::span<const SeqSpan>(&one, 1));
}

void forward_rows(const Model& m, const ComputeCtx& c, PassScratch& work, SeqState& seq, const int32_t* tokens,
                  int32_t n_tokens, int32_t n_past, int32_t first, const LogitsRowFn& fn) {
    const Stage one{c, &work};
    forward_rows(m, std::span<const Stage>(&one, 1), nullptr, seq, tokens, n_tokens, n_past, first, fn);
}

} // namespace hearth
