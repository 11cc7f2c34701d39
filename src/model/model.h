// model/model.h: a loaded model (mapped file + config + bound weights) and the forward pass.
//
// A Model is immutable after load and shared by every session; each session owns a SeqState (its KV cache and
// outputs), and the runtime one PassScratch that every pass uses (sized ahead: nothing is allocated per token).
// Passes compute through the backend (backend/backend.h) that prepare_weights gave the weights to.
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "model/layers.h"
#include "model/weights.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace hearth {

struct Model {
    gguf::File file;
    ModelConfig cfg;
    ModelWeights w;
};

Result<std::unique_ptr<Model>> load_model(const std::string& path);

// Layers [begin, end) of a model on one backend: a model split across backends (partial offload) is a list of these
// covering 0 .. n_layer in order; the last also computes the output. One entry with the whole range: no split.
struct LayerSplit {
    Backend* be;
    int32_t begin, end;
};

// The KV cache of layers [begin, end) of one sequence, on their backend.
struct KvPart {
    int32_t begin = 0, end = 0;
    BackendArray<uint16_t> k; // (end - begin, n_ctx, n_head_kv * head_dim_k) f16, backend memory
    BackendArray<uint16_t> v; // (end - begin, n_ctx, n_head_kv * head_dim_v) f16, backend memory
};

// One sequence's state across passes: its KV cache and what passes leave for it. A session owns one.
struct SeqState {
    int32_t n_ctx = 0;         // KV cache positions
    std::vector<KvPart> kv;    // one per LayerSplit, in layer order
    std::vector<float> logits; // (n_vocab) after its last token (generative models)
    std::vector<float> embd;   // (n_embd) pooled final hidden states (embedding passes): a running sum for mean
                               // pooling until the session divides
};

// The scratch of a pass, shared by every sequence (a runtime runs one pass at a time): activations for up to
// n_batch tokens and logits rows for up to n_seqs sequences, in backend memory; making it also reserves the
// backend's workspace (attention over up to n_ctx positions, activation quantization). Sized once and grown only
// when a caller needs more, never per token.
struct PassScratch {
    int32_t n_ctx = 0;                // longest cache a pass attends over
    int32_t n_batch = 0;              // most tokens per pass
    int32_t n_seqs = 0;               // most sequences per pass
    BackendArray<float> x;            // (n_batch, n_embd) residual stream
    BackendArray<float> h;            // (n_batch, n_embd) normed input / block output
    BackendArray<float> q;            // (n_batch, n_head * head_dim_k)
    BackendArray<float> k;            // (n_batch, n_head_kv * head_dim_k)
    BackendArray<float> v;            // (n_batch, n_head_kv * head_dim_v)
    BackendArray<float> qkv;          // (n_batch, q + k + v) for fused projections
    BackendArray<float> attn;         // (n_batch, n_head * head_dim_v)
    BackendArray<float> gate;         // (n_batch, n_ff)
    BackendArray<float> up;           // (n_batch, n_ff)
    BackendArray<float> gate_up;      // (n_batch, 2 * n_ff) for a fused gate/up projection
    BackendArray<float> logits;       // (n_seqs, n_vocab): the last token of each sequence of the pass
    std::vector<int32_t> pos;         // (n_batch) host
    std::vector<int32_t> key_end;     // (n_batch) host; encoders: the end of token t's input in its cache
    std::vector<SeqState*> token_seq; // (n_batch) whose KV cache token t of the pass uses
    std::vector<LayerKv> token_kv;    // (n_batch) token_seq[t]'s cache of the current layer
    std::vector<float> host_row;      // (n_embd) host: a row read back for mean pooling
};

// A sequence with n_ctx positions of KV cache (not written: pages are mapped as the context fills), each split's
// layers on its backend.
SeqState make_seq_state(const Model& m, Backend& be, int32_t n_ctx);
SeqState make_seq_state(const Model& m, std::span<const LayerSplit> splits, int32_t n_ctx);
PassScratch make_pass_scratch(const Model& m, Backend& be, int32_t n_ctx, int32_t n_batch, int32_t n_seqs);
// Bytes they hold now (the KV cache counted whole; the backend's workspace is Backend::workspace_bytes).
uint64_t allocated_bytes(const SeqState& s);
uint64_t allocated_bytes(const PassScratch& p);
// Of allocated_bytes(p), what is in its backend's memory (the rest: host arrays of positions and sequences).
uint64_t backend_bytes(const PassScratch& p);
// Bytes make_seq_state / make_pass_scratch (one sequence) would allocate (for the memory check before load).
uint64_t seq_state_bytes(const ModelConfig& cfg, int32_t n_ctx);
uint64_t pass_scratch_bytes(const ModelConfig& cfg, int32_t n_ctx, int32_t n_batch, int n_threads);

// Runs tokens (n_tokens <= work.n_batch) at positions n_past .. n_past + n_tokens - 1 of seq through the model,
// appending to its KV cache, and writes the last token's logits to seq.logits.
// Preconditions (checked by the session): n_past + n_tokens <= seq.n_ctx <= work.n_ctx, every token < n_vocab.
void forward(const Model& m, const ComputeCtx& c, PassScratch& work, SeqState& seq, const int32_t* tokens,
             int32_t n_tokens, int32_t n_past);

// One sequence's part of a batched pass.
struct SeqSpan {
    SeqState* seq;    // its KV cache; its logits get the row of its last token
    int32_t n_tokens; // >= 1
    int32_t n_past;   // its tokens go to positions n_past .. n_past + n_tokens - 1
};

// What a pass leaves in each sequence's buffers: the logits of its last token (generation), or its final
// hidden states pooled into seq->embd as m.cfg.pooling says (embeddings: no output layer is computed).
// Pooling over several passes: Cls takes row 0 of the pass at n_past 0, Last the pass's last row, Mean adds
// every row to a sum that the pass at n_past 0 starts (the caller divides by the token count).
enum class PassOutput { Logits, Embedding };
// Runs several sequences' tokens (concatenated in `seqs` order) through the model in one pass: every matrix
// is read once for all of them, each token attends only within its own sequence's cache. Every row computes
// exactly what it would alone (the kernels are batch-invariant), so results do not depend on the company.
// Preconditions (checked by the caller): sum of n_tokens <= work.n_batch, seqs.size() <= work.n_seqs,
// each sequence's n_ctx <= work.n_ctx, n_past + n_tokens <= its n_ctx, tokens < n_vocab, sequences distinct.
// An encoder (m.cfg.causal false) needs each sequence whole in one pass, at n_past 0; only Embedding output.
void forward_batch(const Model& m, const ComputeCtx& c, PassScratch& work, const int32_t* tokens,
                   std::span<const SeqSpan> seqs, PassOutput out = PassOutput::Logits);

// A model split across backends: one stage per LayerSplit, in order, each with its backend's context (layer range
// set) and pass scratch. The hidden states go from one stage to the next through `handover` (host, n_batch * n_embd
// floats). Results are each stage's backend's; with CPU backends of one kernel table, bit for bit the unsplit pass.
struct Stage {
    ComputeCtx c;
    PassScratch* work;
};
void forward_batch(const Model& m, std::span<const Stage> stages, float* handover, const int32_t* tokens,
                   std::span<const SeqSpan> seqs, PassOutput out = PassOutput::Logits);

// forward() of one sequence that also computes the logits after each of tokens[first .. n_tokens) (perplexity,
// scoring): fn(i, row) for every such i in order, row = (n_vocab) logits valid during the call, computed in groups of
// up to work.n_seqs rows (one output matmul each). seq.logits gets the last token's row as forward() leaves it. Every
// row is what a forward() ending at that token computes (batch-invariant kernels). first <= n_tokens.
using LogitsRowFn = std::function<void(int32_t i, std::span<const float> row)>;
void forward_rows(const Model& m, const ComputeCtx& c, PassScratch& work, SeqState& seq, const int32_t* tokens,
                  int32_t n_tokens, int32_t n_past, int32_t first, const LogitsRowFn& fn);
void forward_rows(const Model& m, std::span<const Stage> stages, float* handover, SeqState& seq, const int32_t* tokens,
                  int32_t n_tokens, int32_t n_past, int32_t first, const LogitsRowFn& fn);

// The caches of layer il for the pass's n tokens (work.token_kv).
const LayerKv* layer_kv_of_tokens(const Model& m, PassScratch& work, int32_t il, int32_t n);

} // namespace hearth
