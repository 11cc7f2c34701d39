// hearth/runtime.h: the library API the CLI, server and router build on.
//
// A Runtime loads one model once (weights memory-mapped, shared); it creates any number of
// independent Sessions, each with its own KV cache and scratch sized at creation. Runtime and its
// sessions are used from one inference thread; Session::cancel() may be called from any thread.
#pragma once

#include "base/status.h"
#include "hearth/embedding.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace hearth {

struct RuntimeOptions {
    int n_threads = 0; // 0 = all cores
    // Repack the matrices the CPU has row-interleaved kernels for at load (faster prompt processing, same
    // memory). The environment variable HEARTH_REPACK=0 turns it off (for comparisons).
    bool repack_weights = true;
    // What computes: "cpu", "cuda" (the first GPU) or "cuda:N". Empty: the environment variable HEARTH_DEVICE, else
    // "cpu". A GPU needs a build with the CUDA backend (the `cuda` preset) and the whole model in its memory.
    std::string device = {};
    // With a GPU device: the last gpu_layers layers and the output on it, the others on the CPU (partial offload,
    // llama.cpp's -ngl), the hidden states handed over once per pass; 0: the CPU alone. -1: the environment variable
    // HEARTH_GPU_LAYERS, else every layer. Ignored for the CPU and for encoders.
    int32_t gpu_layers = -1;
};

struct SessionOptions {
    int32_t n_ctx = 0;     // 0 = the model's training context, clamped to 4096
    int32_t n_batch = 256; // prompt tokens per forward pass
    bool check_memory = true;
};

// Memory a session would need, and what the machine has (see Runtime::estimate_memory). A model with layers on a GPU
// (RuntimeOptions::device) has two parts: the host's (the fields without `device`: what stays in host memory, the
// CPU layers of a partial offload, the sessions' outputs) and the device's.
struct MemoryEstimate {
    int32_t n_ctx = 0;
    uint64_t weight_bytes = 0;  // the model's tensors in host memory (memory-mapped; resident once read)
    uint64_t session_bytes = 0; // the session's own in host memory: the host layers' KV cache for n_ctx, its outputs
    uint64_t scratch_bytes = 0; // what the runtime's host pass scratch (shared by its sessions) would grow by
    uint64_t available = 0;     // MemAvailable from /proc/meminfo (else physical memory); 0 = unknown
    // The device's part (0 without one). Its weights are on it already (Runtime::load checked they fit), so what a
    // session needs there is its KV cache and the growth of the device's pass scratch, against what is free.
    uint64_t device_session_bytes = 0; // the device layers' KV cache for n_ctx
    uint64_t device_scratch_bytes = 0; // what the device's pass scratch would grow by
    uint64_t device_available = 0;     // free memory on the device (0: no device part)
    bool on_device = false;            // the model has layers on a device
    uint64_t needed() const { return weight_bytes + session_bytes + scratch_bytes; }
    uint64_t device_needed() const { return device_session_bytes + device_scratch_bytes; }
};
// ok, or an error saying how much is needed, how much is available and what to try.
Status check_memory(const MemoryEstimate& m);

struct ModelInfo {
    std::string arch;
    std::string name;
    int32_t n_vocab = 0;
    int32_t n_ctx_train = 0;
    int32_t n_embd = 0;
    int32_t n_layer = 0;
    uint64_t n_params = 0;
    uint64_t weight_bytes = 0;
    // Of weight_bytes, what the device holds (its layers and the output); 0 on the CPU alone.
    uint64_t device_weight_bytes = 0;
    bool can_generate = true;        // has an output layer; false: an embedding-only model (BERT)
    Pooling pooling = Pooling::Last; // how embed() pools (the file's pooling_type, else the architecture's)
    bool embedding_model = false;    // the file declares a pooling (made for embeddings)
    // Trained with Matryoshka representation learning (a prefix of the vector, renormalized, is an embedding
    // too): GGUF has no key for it, so this is the model families known to be (matryoshka_family()).
    bool matryoshka = false;
};

struct Model;
struct SeqState;
class Backend;
class Runtime;
class Session;

// One session's input to Runtime::feed_batch.
struct BatchItem {
    Session* session = nullptr;
    std::span<const int32_t> tokens; // at least one
};

class Session {
public:
    ~Session();
    // Runs tokens through the model after what was fed before (prefill in batches of n_batch).
    // Errors, checked before anything runs (nothing is changed): a token outside [0, n_vocab), or the
    // context would overflow ("context full: N + M tokens > context size C"). A cancel() stops the feed
    // between batches with the error "cancelled": batches already done stay in the cache (n_past()).
    Status feed(std::span<const int32_t> tokens);
    // feed(), and fn(i, logits) with the logits after tokens[i] (n_vocab floats, valid during the call) for every i in
    // [first, tokens.size()), in order: what a feed() ending at tokens[i] would leave in logits(), bit for bit
    // (perplexity, scoring). Errors as feed()'s, and first > tokens.size().
    using LogitsFn = std::function<void(size_t i, std::span<const float> logits)>;
    // With inputs, also inputs(weight, x, n_tokens, n_cols) with the input rows x (n_tokens, n_cols) of every weight
    // matrix product of the passes, before it runs (importance matrices): weight is the tensor's GGUF name
    // ("blk.3.attn_q.weight", "output.weight" for the output matrix, "token_embd.weight" when it is tied to it); x is
    // valid during the call.
    using MatmulInputFn =
        std::function<void(const std::string& weight, const float* x, int64_t n_tokens, int64_t n_cols)>;
    Status feed_scored(std::span<const int32_t> tokens, size_t first, const LogitsFn& fn,
                       const MatmulInputFn* inputs = nullptr);
    // Logits after the last fed token: (n_vocab).
    std::span<const float> logits() const;
    int32_t n_past() const { return n_past_; }
    int32_t n_ctx() const;
    void reset(); // forget everything fed (the cache is reused)
    // Keeps the first n_keep fed tokens and forgets the rest (0 <= n_keep <= n_past()), so a caller can
    // reuse a shared prefix (e.g. a chat's history). logits() is stale until the next feed().
    Status truncate(int32_t n_keep);
    // Asks a running feed() to stop between batches; it then returns an error. Thread-safe.
    void cancel() { cancelled_.store(true); }

    // Embeds tokens from an empty context (the session is reset first; afterwards it holds them, n_past() is
    // their count): runs them through the model without the output layer and pools the final hidden states
    // as info().pooling says into embedding(), not normalized (l2_normalize). Errors as feed()'s, and an
    // encoder's input longer than the session's n_batch (an encoder sees its input in one pass).
    Status embed(std::span<const int32_t> tokens);
    // The vector of the last embed(): (n_embd).
    std::span<const float> embedding() const;

private:
    friend class Runtime;
    Session() = default;
    Status check_feed(std::span<const int32_t> tokens) const; // feed()'s checks
    // feed()'s and embed()'s passes; with fn, feed_scored()'s rows from `first` on.
    Status run_passes(std::span<const int32_t> tokens, bool embed, size_t first = 0, const LogitsFn* fn = nullptr,
                      const MatmulInputFn* inputs = nullptr);
    const Runtime* runtime_ = nullptr;
    std::unique_ptr<SeqState> seq_; // its KV cache and outputs (the pass scratch is the runtime's)
    int32_t n_batch_ = 0;           // most tokens per pass
    int32_t n_past_ = 0;
    std::atomic<bool> cancelled_{false};
};

// True for a general.name / general.basename of a Matryoshka-trained embedding family (Qwen3-Embedding,
// nomic-embed-text-v1.5, EmbeddingGemma, mxbai-embed-large-v1, snowflake-arctic-embed-m-v1.5, jina-embeddings-v3).
bool matryoshka_family(const std::string& name);

class Runtime {
public:
    static Result<std::unique_ptr<Runtime>> load(const std::string& path, const RuntimeOptions& opts = {});
    // load() with `device` computing instead of the backend opts.device names (backend/backend.h; the tests' simulated
    // GPU over the CPU kernels, tests/model/test_device_memory.cpp, is one).
    static Result<std::unique_ptr<Runtime>> load_on(const std::string& path, const RuntimeOptions& opts,
                                                    std::unique_ptr<Backend> device);
    ~Runtime();
    const ModelInfo& info() const;
    const std::string& kernel_isa() const;
    // What computes the output (and the last device_layers() layers): "cpu-avx512", "cuda:0"... (the backend's name).
    const std::string& device() const;
    int32_t device_layers() const;
    int n_threads() const;
    // Errors: a context the model cannot take, or a session that does not fit in available memory
    // (check_memory; SessionOptions::check_memory = false skips that check).
    Result<std::unique_ptr<Session>> create_session(const SessionOptions& opts = {}) const;
    // What create_session(opts) would need, without allocating it.
    Result<MemoryEstimate> estimate_memory(const SessionOptions& opts = {}) const;

    // Feeds several sessions at once (continuous batching): their tokens share forward passes, so every
    // matrix is read once per pass for all of them, while each session keeps its own KV cache and gets
    // its own logits. A session ends exactly as if fed alone, bit for bit (the kernels are batch-invariant).
    // Long inputs are split over several passes of at most kBatchTokens tokens. Errors, checked before
    // anything runs (then nothing changes): any item's feed() error (naming the item), an empty item, a
    // session given twice or created by another engine. Session::cancel() flags are not looked at: the
    // caller decides who takes part.
    static constexpr int32_t kBatchTokens = 512;
    Status feed_batch(std::span<const BatchItem> items);
    // Session::embed() for several sessions in shared passes (as feed_batch; each session is reset first and
    // gets its own embedding()). An encoder's input is never split: it must fit in kBatchTokens.
    Status embed_batch(std::span<const BatchItem> items);
    // Memory the pass scratch holds now (0 before the first pass): one for every pass of this runtime, sessions'
    // and batches' (a session holds only its KV cache and outputs); it grows with the most tokens and sessions
    // fed at once (one logits row each) and the longest context among them, and is kept for the next call.
    // (Host memory; device_scratch_bytes: the same on the device of a model with layers on one.)
    uint64_t scratch_bytes() const;
    uint64_t device_scratch_bytes() const;

private:
    friend class Session;
    Runtime();
    Status run_batch(std::span<const BatchItem> items, bool embed);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace hearth
