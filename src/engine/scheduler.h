// engine/scheduler.h (internal to hearth_engine): the inference thread of LocalEngine and the job it
// shares with a generate() call.
//
// Ownership: a Job is held by the caller's generate() and by the scheduler while it is queued or active
// (shared_ptr: the one object in this library with two real owners, on two threads). Everything else
// here (models, sessions, samplers, slots) is touched only by the inference thread; the fields under
// Scheduler::mu_ (queue, snapshot of loaded models, stats, commands) are what other threads may see.
//
// One step of one model (Scheduler::step):
//   1. plan    each active slot picks its input: the next prompt chunk (<= prefill_chunk tokens) or the
//              token it sampled last step;
//   2. forward all slots' inputs go through the model together (Runtime::feed_batch: one pass over the
//              weights for all of them, each slot with its own KV cache; a slot's logits are bit-identical
//              to what it would get alone, so batching never changes an answer);
//   3. sample  each slot whose prompt is complete samples from its own logits with its own Sampler,
//              streams the text and checks its stop conditions.
#pragma once

#include "engine/local_engine.h"
#include "grammar/matcher.h"
#include "hearth/runtime.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace hearth::engine {

using Clock = std::chrono::steady_clock;

struct ModelText;

struct Job {
    // Set by generate() before the job is queued; read-only afterwards. `req` holds the effective settings:
    // the model's parameters merged in, max_tokens/num_ctx/keep_alive_s/seed resolved. `prompt` was rendered
    // and tokenized on the caller's thread (engine/prompt.h) with `text`, which a fresh ModelEntry adopts.
    Request req;
    ModelSpec spec;
    std::shared_ptr<const ModelText> text;
    std::vector<int32_t> prompt;
    // Constrained decoding (engine/constrain.h), compiled on the caller's thread; the inference thread moves
    // it into the request's decoder, with vocab_trie(*text) built beforehand on the caller's thread too.
    std::optional<grammar::Matcher> matcher;
    Clock::time_point t_submit;
    const std::atomic<bool>* cancel_ext = nullptr; // the caller's flag; lives as long as generate()

    std::atomic<bool> cancelled{false}; // set by the caller's thread when on_event returns false

    // An embedding job (LocalEngine::embed; `req` then holds its model, num_ctx and keep_alive_s): the inputs,
    // tokenized on the caller's thread, and what the inference thread leaves for the caller before finish().
    bool is_embed = false;
    EmbedRequest embed_req;
    std::vector<std::vector<int32_t>> embed_inputs; // (n_inputs, tokens)
    Embeddings embedded;

    bool is_cancelled() const { return cancelled.load() || (cancel_ext && cancel_ext->load()); }

    // Inference thread -> caller.
    std::mutex mu;
    std::condition_variable cv;
    std::deque<TokenEvent> events;                          // under mu
    std::optional<std::variant<Completion, Status>> result; // under mu; set once, last

    void push(TokenEvent ev);
    void finish(std::variant<Completion, Status> r);
};

struct ModelEntry;
struct PooledSession;
struct Slot;

class Scheduler {
public:
    explicit Scheduler(LocalEngineOptions opts);
    ~Scheduler(); // drain(0) if still running
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Queues a job (ok), or says why not (Busy: queue full or shutting down). Thread-safe.
    Status submit(std::shared_ptr<Job> job);
    void count_failure(); // a request refused before it was queued (bad settings, unknown model)
    std::vector<LoadedModel> loaded() const;
    void unload(std::vector<std::string> keys); // names or paths; returns once handled
    Stats stats() const;
    void drain(double timeout_s);

private:
    // A loaded model as other threads see it (loaded()).
    struct Published {
        std::string name, path;
        uint64_t size_bytes = 0, vram_bytes = 0;
        hearth::ModelInfo info;
        std::string kernels;
        int32_t gpu_layers = 0;
        int n_threads = 0;
        bool busy = false;
        double keep_alive_s = 0;
        bool never_expires = false;
        Clock::time_point expires_at;
    };
    enum class Admit { Started, Finished, Wait };

    void run(); // the inference thread
    bool wait_for_work();
    uint64_t handle_commands(); // returns the unload sequence number taken
    void admit_waiting();
    Admit admit(const std::shared_ptr<Job>& job);
    // An embedding job's whole run, on the inference thread between steps (embed.cpp).
    Admit admit_embed(const std::shared_ptr<Job>& job, std::unique_ptr<ModelEntry> fresh, ModelEntry* m, double load_s);
    ModelEntry* find_model(const std::string& path) const;
    // Unloads the least recently used idle model holding device memory; false if there is none.
    bool unload_lru_idle_on_device();
    // Unloads idle models (then keep's idle sessions) until need_host more bytes fit in host memory (the budget, or
    // what available() says the system has) and need_device more on keep's device (what device_available() says is
    // free there); false when they cannot.
    bool make_room(uint64_t need_host, uint64_t need_device, ModelEntry* keep,
                   const std::function<uint64_t()>& available, const std::function<uint64_t()>& device_available);
    uint64_t used_bytes() const;
    std::unique_ptr<PooledSession> session_for(ModelEntry& m, bool fresh, const SessionOptions& so,
                                               const MemoryEstimate& est, const std::vector<int32_t>& prompt,
                                               const std::string& model, bool& wait, Status& why);
    void step(ModelEntry& m);
    void sample_slot(ModelEntry& m, Slot& s);
    void end_slot(ModelEntry& m, Slot& s, Finish finish);
    void fail_slot(ModelEntry& m, Slot& s, Status why);
    void release(ModelEntry& m, Slot& s);
    void unload_entry(size_t i);
    void expire_models();
    void publish(uint64_t commands_done);
    void finish_job(const std::shared_ptr<Job>& job, std::variant<Completion, Status> r);
    void deliver();

    const LocalEngineOptions opts_;

    mutable std::mutex mu_;
    std::condition_variable wake_;              // the inference thread sleeps on this
    std::condition_variable unloaded_cv_;       // unload() callers wait on this
    std::deque<std::shared_ptr<Job>> waiting_;  // queued, not yet admitted
    std::vector<std::string> unload_requests_;  // names or paths
    uint64_t unload_seq_ = 0, unload_done_ = 0; // unload() waits until its request is handled
    bool accepting_ = true;
    bool stopping_ = false;
    bool running_ = true; // the inference thread has not ended
    Clock::time_point drain_deadline_;
    std::vector<Published> published_;
    Stats stats_;

    // The inference thread's own state.
    std::vector<std::unique_ptr<ModelEntry>> models_;
    int n_active_ = 0;
    std::vector<std::pair<std::shared_ptr<Job>, std::variant<Completion, Status>>> finished_; // to deliver

    std::mutex join_mu_;
    std::thread thread_; // last: starts after everything above is constructed
};

} // namespace hearth::engine
