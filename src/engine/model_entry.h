// engine/model_entry.h (internal to hearth_engine): what the inference thread keeps per loaded model (the
// hearth::Runtime, its ModelText shared with the callers that render prompts for it, a pool of idle sessions
// with their cached tokens, the active slots) and per active request (Slot). Only the inference thread
// touches these.
#pragma once

#include "engine/prompt.h"
#include "engine/scheduler.h"
#include "hearth/runtime.h"
#include "runtime/decode.h"
#include "sampling/sampling.h"
#include "tokenizer/tokenizer.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hearth::engine {

// A session and the tokens in its KV cache (cached.size() == session->n_past()).
struct PooledSession {
    std::unique_ptr<hearth::Session> session;
    std::vector<int32_t> cached;
    uint64_t bytes = 0;        // its KV cache and outputs in host memory
    uint64_t device_bytes = 0; // its KV cache on the model's GPU
    Clock::time_point last_used;
};

// One active request.
struct Slot {
    Slot(Sampler s, const Tokenizer& tok, DecodeOptions opts)
        : sampler(std::move(s)), dec(&tok, sampler, std::move(opts)) {}
    Slot(const Slot&) = delete; // `dec` refers to `sampler`
    Slot& operator=(const Slot&) = delete;

    std::shared_ptr<Job> job;
    std::unique_ptr<PooledSession> ps;
    Sampler sampler; // this request's own: seeded from it, shared with nobody
    Decoder dec;     // with `sampler`: stop strings, end tokens, the text streamed so far
    std::vector<int32_t> prompt;
    size_t n_fed = 0;           // prompt tokens in the cache (reused + fed)
    size_t n_cached = 0;        // of those, reused from the pooled session's cache
    int32_t pending = -1;       // sampled last step, fed next step
    std::vector<int32_t> input; // this step's input (a prompt chunk or `pending`)
    bool done = false;          // finished this step; removed after it
    double load_s = 0;
    Clock::time_point t_admit, t_prompt, t_first, t_last;
};

struct ModelEntry {
    // Loads the weights of the job's model, with the ModelText its prompt was made with. Failures are
    // load_failure()s: NotFound when there is no such file, TooLarge when its weights do not fit on the device (not
    // logged with log_too_large = false: the scheduler makes room and retries), else Internal.
    static std::unique_ptr<ModelEntry> load(const Job& job, const LocalEngineOptions& opts, Status& why,
                                            bool log_too_large = true);

    // An idle session of this context, the one sharing the longest prefix with `prompt`; null if none.
    std::unique_ptr<PooledSession> take_session(int32_t n_ctx, const std::vector<int32_t>& prompt);
    void drop_lru_idle();

    // Weights + every session, idle or active + the batched passes' scratch: in host memory (what the memory budget
    // bounds), and on the model's GPU (its layers there; 0 on the CPU).
    uint64_t bytes() const;
    uint64_t device_bytes() const;
    uint64_t sessions_bytes(uint64_t PooledSession::*part) const; // that part of every session, idle or active
    Clock::time_point expires_at() const;

    std::string path;
    std::string name; // the name of its latest request
    std::unique_ptr<hearth::Runtime> runtime;
    std::shared_ptr<const ModelText> text; // the tokenizer (tok()) and chat template; shared with callers
    const Tokenizer& tok() const { return text->tok; }
    uint64_t weight_bytes = 0;        // in host memory
    uint64_t device_weight_bytes = 0; // on the GPU
    std::vector<std::unique_ptr<PooledSession>> idle;
    std::vector<std::unique_ptr<Slot>> active;
    Clock::time_point last_used;
    double keep_alive_s = 0; // of its latest request; inf = never unload
    bool unload_requested = false;
};

} // namespace hearth::engine
