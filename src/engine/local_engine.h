// engine/local_engine.h: LocalEngine, the Engine (engine.h) that runs GGUF models on this machine.
//
// Threads (STYLE.md rule 7): one inference thread owns every loaded model (hearth::Runtime), every
// Session and every KV cache. generate() runs on the caller's (HTTP) thread: it resolves the model name,
// merges the model's PARAMETER values into the request, checks the settings, renders the prompt through
// the chat template and tokenizes it (engine/prompt.h: never on the inference thread, so a template that
// runs to its budget delays only its own request), queues a job and then waits on that job's own event
// queue, calling on_event on the caller's thread. Returning false from on_event, or setting *cancel,
// cancels the job; the inference thread drops it within one step.
//
// Scheduling (scheduler.h): jobs for one model run in steps; each step gives every active job one
// token, or one chunk of its prompt (prefill_chunk tokens) while its prompt is being read, so a long
// prompt does not stall the others; all of a step's inputs go through the model in one batched pass
// (Runtime::feed_batch: continuous batching, each job with its own KV cache). Jobs join and leave
// between steps; at most max_active jobs per model run at once, the rest wait in a queue of at most
// max_queue jobs (beyond it generate() fails at once with Code::Busy). Each job has its own
// Sampler seeded from the request, so a greedy or seeded request gives the same tokens alone or next
// to others.
//
// Models load on first use through the Resolver and stay loaded for keep_alive seconds after their
// last request (the request's keep_alive, else default_keep_alive_s; 0 unloads when the request ends).
// Before a load or a new session would exceed the memory budget, idle models are unloaded, least
// recently used first; if it still does not fit, the request fails with Code::TooLarge. Finished
// jobs give their session back to a per-model pool with its tokens kept, so a later request that shares
// a prefix (a system prompt, a conversation's history) only feeds the rest.
//
// Models are keyed by their GGUF path: two names for one file (a Modelfile model and its base) share the
// weights and the session pool, and each request still uses its own spec's template, system and
// parameters; loaded() shows the name of the latest request.
//
// Shutdown: drain() (and the destructor) stops accepting requests (Busy, "shutting down"), lets queued
// and active jobs finish, cancels whatever is left when the timeout passes, and joins the thread.
#pragma once

#include "backend/backend.h"
#include "engine/engine.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace hearth::engine {

struct LocalEngineOptions {
    int n_threads = 0;       // compute threads per loaded model; 0 = all cores
    std::string device = {}; // RuntimeOptions::device: "cpu", "cuda", "cuda:N"; empty: $HEARTH_DEVICE
    int32_t gpu_layers = -1; // RuntimeOptions::gpu_layers
    // The backend a model is loaded on (Runtime::load_on), for tests with a simulated GPU; empty: the one `device`
    // names (Runtime::load).
    std::function<std::unique_ptr<Backend>(const std::string& path)> make_backend;
    int max_queue = 64;                // requests waiting for a slot; more fail with Busy
    int max_active = 4;                // requests decoded at once per model
    double default_keep_alive_s = 300; // for requests with keep_alive_s < 0
    // Host memory of all loaded models (weights + sessions; a GPU's memory is what it has free); 0 = what is in
    // use + MemAvailable.
    uint64_t memory_budget_bytes = 0;
    int32_t max_default_ctx = 4096; // a request without num_ctx gets min(training context, this)
    int32_t prefill_chunk = 64;     // prompt tokens per job per step
    double drain_timeout_s = 30;    // the destructor's drain timeout
    // Messages for the operator, such as a load error in full (clients get it without the server's paths);
    // called from the caller's and the inference thread. Empty: "hearth: ..." lines on stderr.
    std::function<void(const std::string&)> log;
};

class Scheduler;
class ModelTextCache;
struct Job;

class LocalEngine final : public Engine {
public:
    // `resolve` runs on the threads that call generate() and unload(), possibly several at once; a failure
    // becomes Code::NotFound with its message.
    LocalEngine(Resolver resolve, LocalEngineOptions opts = {});
    ~LocalEngine() override; // drain(opts.drain_timeout_s)
    LocalEngine(const LocalEngine&) = delete;
    LocalEngine& operator=(const LocalEngine&) = delete;

    std::variant<Completion, Status> generate(const Request& req,
                                              const std::function<bool(const TokenEvent&)>& on_event,
                                              const std::atomic<bool>* cancel) override;
    // Embeddings (embed.cpp): queued like generate()'s requests, run on the inference thread in batched passes.
    std::variant<Embeddings, Status> embed(const EmbedRequest& req, const std::atomic<bool>* cancel) override;
    std::vector<LoadedModel> loaded() const override;
    // Unloads the model (a requested name, or the path of its GGUF) once its active requests end; returns
    // when the inference thread has taken the request. Unknown names are ignored.
    void unload(const std::string& model) override;
    Stats stats() const override;

    // Stops accepting requests, waits up to timeout_s for queued and active ones, cancels the rest, and
    // stops the inference thread (models are unloaded). Idempotent; called by the destructor.
    void drain(double timeout_s);

private:
    // A job for req.model: its spec resolved, the model's PARAMETERs merged into its request, keep_alive resolved.
    Result<std::shared_ptr<Job>> new_job(const Request& req, const std::atomic<bool>* cancel);
    Resolver resolve_;
    LocalEngineOptions opts_;
    std::unique_ptr<ModelTextCache> texts_; // tokenizers and templates for the callers' prompts
    std::unique_ptr<Scheduler> sched_;
};

} // namespace hearth::engine
