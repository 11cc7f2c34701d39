// model/model.h: a loaded model (mapped file + config + bound weights) and the forward pass.
//
// A Model is immutable after load and shared by every session; each session owns its
// ForwardBuffers (KV cache and scratch, sized once at creation: nothing is allocated per token).
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "model/layers.h"
#include "model/weights.h"

#include <cstdint>
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

// KV cache storage, allocated without being written: large allocations come from fresh zero pages that the
// kernel maps only when first touched, so a session costs memory as its context fills, and creating one is
// cheap. Positions are always written before they are read.
struct KvStorage {
    std::unique_ptr<uint16_t[]> p;
    size_t size = 0;
    void allocate(size_t n) {
        p.reset(n > 0 ? new uint16_t[n] : nullptr); // default-initialised: not zeroed
        size = n;
    }
    uint16_t* data() { return p.get(); }
};

// Per-session state of the forward pass.
struct ForwardBuffers {
    int32_t n_ctx = 0;                        // KV cache positions
    int32_t n_batch = 0;                      // most tokens per forward call
    KvStorage k_cache;                        // (n_layer, n_ctx, n_head_kv * head_dim_k) f16
    KvStorage v_cache;                        // (n_layer, n_ctx, n_head_kv * head_dim_v) f16
    std::vector<float> x;                     // (n_batch, n_embd) residual stream
    std::vector<float> h;                     // (n_batch, n_embd) normed input / block output
    std::vector<float> q;                     // (n_batch, n_head * head_dim_k)
    std::vector<float> k;                     // (n_batch, n_head_kv * head_dim_k)
    std::vector<float> v;                     // (n_batch, n_head_kv * head_dim_v)
    std::vector<float> qkv;                   // (n_batch, q + k + v) for fused projections
    std::vector<float> attn;                  // (n_batch, n_head * head_dim_v)
    std::vector<float> gate;                  // (n_batch, 2 * n_ff) (room for fused gate+up)
    std::vector<float> up;                    // (n_batch, n_ff)
    std::vector<float> scores;                // (n_threads, attention_scratch_floats) attention scratch
    std::vector<float> logits;                // (n_seqs, n_vocab): the last token of each sequence of the pass
    std::vector<float> embd;                  // (n_embd) pooled final hidden states of the sequence (embedding
                                              // passes): a running sum for mean pooling until the session divides
    std::vector<int32_t> pos;                 // (n_batch)
    std::vector<int32_t> key_end;             // (n_batch) encoders: the end of token t's input in its cache
    std::vector<uint8_t> act;                 // activation quantization scratch for matmul
    std::vector<ForwardBuffers*> token_cache; // (n_batch) whose KV cache token t of the pass uses
    std::vector<LayerKv> token_kv;            // (n_batch) token_cache[t]'s cache of the current layer
};

ForwardBuffers make_forward_buffers(const Model& m, const cpu::KernelTable& kt, int32_t n_ctx, int32_t n_batch,
                                    int n_threads);
// Scratch for batched passes over several sequences (forward_batch's `work`): no KV cache of its own, room
// for n_batch tokens in all, logits for up to n_seqs sequences, attention over up to n_ctx positions.
ForwardBuffers make_batch_buffers(const Model& m, const cpu::KernelTable& kt, int32_t n_ctx, int32_t n_batch,
                                  int32_t n_seqs, int n_threads);
// Bytes the buffers hold now (KV cache included).
uint64_t allocated_bytes(const ForwardBuffers& b);
// Bytes make_forward_buffers would allocate (for the memory check before load).
uint64_t forward_buffer_bytes(const ModelConfig& cfg, int32_t n_ctx, int32_t n_batch, int n_threads);

// Runs tokens (n_tokens <= n_batch) at positions n_past .. n_past + n_tokens - 1 through the model,
// appending to the KV cache, and writes the last token's logits to b.logits.
// Preconditions (checked by the session): n_past + n_tokens <= n_ctx, every token < n_vocab.
void forward(const Model& m, const ComputeCtx& c, ForwardBuffers& b, const int32_t* tokens, int32_t n_tokens,
             int32_t n_past);

// One sequence's part of a batched pass.
struct SeqSpan {
    ForwardBuffers* cache; // its KV cache; its logits get the row of its last token
    int32_t n_tokens;      // >= 1
    int32_t n_past;        // its tokens go to positions n_past .. n_past + n_tokens - 1
};

// What a pass leaves in each sequence's buffers: the logits of its last token (generation), or its final
// hidden states pooled into cache->embd as m.cfg.pooling says (embeddings: no output layer is computed).
// Pooling over several passes: Cls takes row 0 of the pass at n_past 0, Last the pass's last row, Mean adds
// every row to a sum that the pass at n_past 0 starts (the caller divides by the token count).
enum class PassOutput { Logits, Embedding };
// Runs several sequences' tokens (concatenated in `seqs` order) through the model in one pass: every matrix
// is read once for all of them, each token attends only within its own sequence's cache. Every row computes
// exactly what it would alone (the kernels are batch-invariant), so results do not depend on the company.
// Preconditions (checked by the caller): sum of n_tokens <= work.n_batch, seqs.size() rows fit work.logits,
// each cache's n_ctx <= work.n_ctx, n_past + n_tokens <= its n_ctx, tokens < n_vocab, caches distinct.
// `work` may be one of the caches (forward() does that for a single sequence).
// An encoder (m.cfg.causal false) needs each sequence whole in one pass, at n_past 0; only Embedding output.
void forward_batch(const Model& m, const ComputeCtx& c, ForwardBuffers& work, const int32_t* tokens,
                   std::span<const SeqSpan> seqs, PassOutput out = PassOutput::Logits);

// Shared pieces of the architecture forwards (model.cpp).
void embed_tokens(const Model& m, const int32_t* tokens, int32_t n_tokens, float* x);
// x (n_tokens, n_embd) += rows pos[t] of a (n_ctx_train, n_embd) table (BERT's learned positions).
void add_embedding_rows(const Matrix& table, const int32_t* rows, int32_t n_tokens, float* x, float* row_scratch);
// The caches of layer il for the pass's n tokens (work.token_kv).
const LayerKv* layer_kv_of_tokens(const Model& m, ForwardBuffers& work, int32_t il, int32_t n);

} // namespace hearth
