// router/router.h: the hybrid router, an engine::Engine built from the local engine and the configured
// upstreams (config.h). Requests for a model that is not a router alias ("auto") go straight to the local
// engine. For an alias, in this order (the first rule that applies decides; RouteInfo says which):
//
//   1. Local only: HEARTH_OFFLINE / no upstream / route "local" / every upstream over its daily budget /
//      something only the local engine honours (a raw prompt, logprobs, tool messages, a sampling option
//      that has no OpenAI equivalent such as top_k).
//   2. Privacy guard (privacy.h), before anything may leave: every text of the request (system prompt, the
//      whole history, tool results) is scanned; an entity whose policy is keep-local keeps the request local;
//      pseudonymize replaces values with typed placeholders (<EMAIL_1>) that are restored in the answer,
//      streaming included. A scanner failure keeps the request local (fail closed).
//   3. Route "cloud" (pinned): escalate.
//   4. Route "auto": the cascade. The local model starts answering with logprobs on; its first token's
//      distribution gives the pre-generation score, its first `window` tokens the cascade score
//      (signals.h). Those tokens are held back; above a threshold the local answer is discarded before the
//      client has seen any text and the request escalates; otherwise the held tokens are released and the
//      local answer streams on.
//   Escalation: the OpenAI request is serialized from the (pseudonymized) request, the egress check re-scans
//   those exact bytes for any original sensitive value (blocked -> local), an "egress" audit record is
//   written (cannot be written -> local), then the bytes are sent (upstream.h). If the upstream fails before
//   any text reached the client (down, timeout, error, malformed, over budget), the request is answered
//   locally and RouteInfo says so. If it fails after text was streamed, the request fails (no silent
//   splice of two models' text).
//
// Threads: generate() runs on the caller's thread, like LocalEngine; counters are atomic/mutexed.
#pragma once

#include "engine/engine.h"
#include "router/audit.h"
#include "router/config.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace hearth::router {

struct RouterStats {
    uint64_t requests_local = 0, requests_cloud = 0; // answered, by where
    uint64_t escalations_pre = 0, escalations_cascade = 0, escalations_pinned = 0;
    uint64_t fallbacks = 0; // escalations answered locally because the upstream failed
    uint64_t kept_local_privacy = 0, pseudonymized = 0, egress_blocked = 0;
    uint64_t local_prompt_tokens = 0, local_completion_tokens = 0;
    uint64_t cloud_prompt_tokens = 0, cloud_completion_tokens = 0;
    double cloud_spend_usd = 0;       // since this server started
    double cloud_spend_today_usd = 0; // this UTC day, including what the audit log holds from before a restart
    double spend_avoided_usd = 0; // what the locally answered requests would have cost at the first upstream's prices
    double always_cloud_usd = 0;  // what every routed request would have cost in the cloud
    uint64_t decisions = 0;
    double decision_seconds = 0; // scoring time, summed (the prefill it reuses is not counted)
};

struct RouterOptions {
    bool offline = false;                        // HEARTH_OFFLINE=1: never escalate
    std::string capture_dir;                     // overrides the config's capture_dir when set (--capture)
    std::function<void(const std::string&)> log; // operator messages; empty: stderr
};

class Router final : public engine::Engine {
public:
    // `local` must outlive the router. Opens the audit log (an error if it cannot be created) and reads
    // today's spend from it.
    static Result<std::unique_ptr<Router>> create(Config cfg, engine::Engine& local, RouterOptions opts = {});
    ~Router() override;

    std::variant<engine::Completion, Status> generate(const engine::Request& req,
                                                      const std::function<bool(const engine::TokenEvent&)>& on_event,
                                                      const std::atomic<bool>* cancel) override;
    // Embeddings are computed locally (nothing is sent upstream).
    std::variant<engine::Embeddings, Status> embed(const engine::EmbedRequest& req,
                                                   const std::atomic<bool>* cancel) override {
        return local_.embed(req, cancel);
    }
    std::vector<engine::LoadedModel> loaded() const override { return local_.loaded(); }
    void unload(const std::string& model) override { local_.unload(model); }
    engine::Stats stats() const override { return local_.stats(); }

    bool is_alias(const std::string& model) const;
    // The aliases, when the config names a local model (without one an alias cannot be answered).
    std::vector<std::string> aliases() const override;
    const Config& config() const { return cfg_; }
    RouterStats router_stats() const;

private:
    struct Impl;
    Router(Config cfg, engine::Engine& local, RouterOptions opts);
    Config cfg_;
    engine::Engine& local_;
    RouterOptions opts_;
    std::unique_ptr<Impl> impl_;
};

// The OpenAI chat-completions body the router sends for `req` (messages already pseudonymized): exposed for
// tests of the egress path. Always streams, with usage.
std::string upstream_body(const engine::Request& req, const std::string& upstream_model);

} // namespace hearth::router
