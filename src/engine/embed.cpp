// engine/embed.cpp: embedding requests in LocalEngine. The caller's side (LocalEngine::embed: checks, the model's
// parameters, tokenization) and the inference thread's (Scheduler::admit_embed: the context, truncation, a few
// sessions for the request, its inputs in batched passes through Runtime::embed_batch).
//
// An embedding job is queued with the generation jobs and admitted like them (loading its model the same way);
// it then runs to the end on the inference thread, between two steps of the generating requests, so those wait
// for it (a batch of short inputs takes milliseconds to a few hundred). Its sessions are its own, sized to its
// longest input and dropped after: the idle sessions of generation requests (their cached prefixes) are left
// alone.
#include "engine/local_engine.h"
#include "engine/model_entry.h"
#include "engine/prompt.h"
#include "engine/scheduler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hearth::engine {
namespace {

// Inputs per batched call: each needs its own session (KV cache) while the call runs.
constexpr size_t kEmbedSessions = 8;

double secs(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

std::string mib(uint64_t bytes) {
    return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

Status check_embed_request(const EmbedRequest& r) {
    if (r.model.empty()) return bad_field("model", "model is required");
    const size_t n = r.texts.size() + r.token_inputs.size();
    if (!r.texts.empty() && !r.token_inputs.empty()) return bad_field("input", "give texts or token ids, not both");
    if (n == 0) return bad_field("input", "input must not be empty");
    if (n > kMaxEmbedInputs)
        return bad_field("input", "at most " + std::to_string(kMaxEmbedInputs) + " inputs per request, got " +
                                      std::to_string(n));
    if (r.num_ctx < 0) return bad_field("num_ctx", "num_ctx must be >= 0 (0: the model's)");
    if (r.dimensions < 0) return bad_field("dimensions", "dimensions must be >= 1");
    if (std::isnan(r.keep_alive_s)) return bad_field("keep_alive", "keep_alive is not a number");
    return Status::ok();
}

} // namespace

std::variant<Embeddings, Status> LocalEngine::embed(const EmbedRequest& req, const std::atomic<bool>* cancel) {
    auto fail = [&](Status f) -> std::variant<Embeddings, Status> {
        sched_->count_failure();
        return f;
    };
    if (Status bad = check_embed_request(req); !bad) return fail(std::move(bad));
    Request r; // what admission reads: the model, its context and keep-alive
    r.model = req.model;
    r.num_ctx = req.num_ctx;
    r.keep_alive_s = req.keep_alive_s;
    auto made = new_job(r, cancel);
    if (!made) return fail(made.status());
    std::shared_ptr<Job> job = std::move(made).value();
    job->is_embed = true;
    job->embed_req = req;

    auto text = texts_->get(opts_, req.model, job->spec.path);
    if (!text) return fail(text.status());
    job->text = std::move(text).value();
    const Tokenizer& tok = job->text->tok;
    for (size_t i = 0; i < req.texts.size(); ++i) {
        job->embed_inputs.push_back(tokenize(tok, req.texts[i], /*add_special=*/true, /*parse_special=*/false));
        if (job->embed_inputs.back().empty())
            return fail(bad_field("input", "input " + std::to_string(i) + " is empty (no tokens)"));
    }
    for (size_t i = 0; i < req.token_inputs.size(); ++i) {
        const auto& ids = req.token_inputs[i];
        if (ids.empty()) return fail(bad_field("input", "input " + std::to_string(i) + " has no tokens"));
        for (int32_t t : ids)
            if (t < 0 || t >= tok.n_vocab())
                return fail(bad_field("input", "input " + std::to_string(i) + ": token " + std::to_string(t) +
                                                   " is outside the vocabulary [0, " + std::to_string(tok.n_vocab()) +
                                                   ")"));
        job->embed_inputs.push_back(ids);
    }

    if (Status busy = sched_->submit(job); !busy) return busy;
    std::unique_lock lk(job->mu);
    job->cv.wait(lk, [&] { return job->result.has_value(); });
    if (auto* st = std::get_if<Status>(&*job->result)) return *st;
    const auto& c = std::get<Completion>(*job->result);
    Embeddings out = std::move(job->embedded);
    out.prompt_tokens = c.prompt_tokens;
    out.load_s = c.load_s;
    out.total_s = c.total_s;
    return out;
}

Scheduler::Admit Scheduler::admit_embed(const std::shared_ptr<Job>& job, std::unique_ptr<ModelEntry> fresh,
                                        ModelEntry* m, double load_s) {
    const Request& rq = job->req;
    auto fail = [&](Status f) {
        finish_job(job, std::move(f));
        return Admit::Finished;
    };
    Runtime& rt = *m->runtime;
    const ModelInfo& info = rt.info();

    // The context: an input longer than it is cut to it (truncate) or refused. An encoder sees each input in
    // one pass, so its inputs are also held to Runtime::kBatchTokens.
    SessionOptions so;
    so.n_ctx = rq.num_ctx > 0 ? rq.num_ctx : std::min(info.n_ctx_train, opts_.max_default_ctx);
    so.check_memory = false;
    auto est = rt.estimate_memory(so);
    if (!est && rq.num_ctx <= 0) {
        so.n_ctx = 0;
        est = rt.estimate_memory(so);
    }
    if (!est) return fail(bad_field("num_ctx", "num_ctx: " + est.message()));
    const int32_t n_ctx = info.can_generate ? est->n_ctx : std::min(est->n_ctx, Runtime::kBatchTokens);
    auto& inputs = job->embed_inputs;
    int32_t longest = 1, total = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (int32_t(inputs[i].size()) > n_ctx) {
            if (!job->embed_req.truncate)
                return fail(Status::error(Code::ContextFull,
                                          "input " + std::to_string(i) + " has " + std::to_string(inputs[i].size()) +
                                              " tokens but the context holds " + std::to_string(n_ctx) +
                                              "; shorten it, raise num_ctx, or let it be truncated",
                                          "input"));
            inputs[i].resize(size_t(n_ctx));
        }
        longest = std::max(longest, int32_t(inputs[i].size()));
        total += int32_t(inputs[i].size());
    }

    const int32_t dims = job->embed_req.dimensions;
    if (dims > info.n_embd || (dims > 0 && dims < info.n_embd && !info.matryoshka))
        return fail(bad_field("dimensions", "dimensions " + std::to_string(dims) + " is not supported by model '" +
                                                rq.model + "': its vectors have " + std::to_string(info.n_embd) +
                                                (info.matryoshka ? " dimensions"
                                                                 : " dimensions and it is not Matryoshka-trained, so "
                                                                   "they cannot be shortened")));

    // Sessions just long enough for the longest input.
    so.n_ctx = longest;
    est = rt.estimate_memory(so);
    if (!est) return fail(Status::error(Code::Internal, est.message()));
    const size_t n_sessions = std::min(inputs.size(), kEmbedSessions);
    const uint64_t need = est->session_bytes * n_sessions + est->scratch_bytes + (fresh ? m->weight_bytes : 0);
    const uint64_t need_device = est->device_session_bytes * n_sessions + est->device_scratch_bytes;
    auto available = [&]() -> uint64_t {
        auto e = rt.estimate_memory(so);
        return e ? e->available : 0;
    };
    auto device_available = [&]() -> uint64_t {
        auto e = rt.estimate_memory(so);
        return e ? e->device_available : 0;
    };
    if (!make_room(need, need_device, m, available, device_available))
        return fail(Status::error(
            Code::TooLarge,
            "model '" + rq.model + "' needs " + mib(need) + " more" +
                (need_device > 0 ? " (and " + mib(need_device) + " on " + rt.device() + ")" : std::string()) +
                " for embeddings than is left after unloading idle models"));
    std::vector<std::unique_ptr<Session>> sessions;
    for (size_t i = 0; i < n_sessions; ++i) {
        auto s = rt.create_session(so);
        if (!s) return fail(Status::error(Code::Internal, s.message()));
        sessions.push_back(std::move(*s));
    }
    if (fresh) models_.push_back(std::move(fresh));
    m->name = rq.model;
    m->keep_alive_s = rq.keep_alive_s;
    m->last_used = Clock::now();

    Embeddings& out = job->embedded;
    out.pooling = info.pooling;
    out.matryoshka = info.matryoshka;
    out.vectors.resize(inputs.size());
    std::vector<BatchItem> items;
    for (size_t i0 = 0; i0 < inputs.size(); i0 += n_sessions) {
        if (job->is_cancelled()) return fail(Status::error(Code::Cancelled, "cancelled"));
        items.clear();
        for (size_t i = i0; i < std::min(inputs.size(), i0 + n_sessions); ++i)
            items.push_back(BatchItem{sessions[i - i0].get(), inputs[i]});
        if (Status st = rt.embed_batch(items); !st) return fail(Status::error(Code::Internal, st.message()));
        for (size_t k = 0; k < items.size(); ++k) {
            const auto e = sessions[k]->embedding();
            auto& v = out.vectors[i0 + k];
            v.assign(e.begin(), e.end());
            if (dims > 0 && dims < info.n_embd) {
                v.resize(size_t(dims));
                l2_normalize(v); // a Matryoshka prefix is renormalized whatever `normalize` says
            } else if (job->embed_req.normalize) {
                l2_normalize(v);
            }
        }
        std::lock_guard lk(mu_);
        stats_.forward_passes += 1;
        stats_.forward_sequences += items.size();
        stats_.prompt_tokens += uint64_t(std::accumulate(
            items.begin(), items.end(), size_t{0}, [](size_t a, const BatchItem& b) { return a + b.tokens.size(); }));
    }
    Completion c;
    c.prompt_tokens = total;
    c.context_tokens = n_ctx;
    c.load_s = load_s;
    c.total_s = secs(job->t_submit, Clock::now());
    finish_job(job, std::move(c));
    return Admit::Finished;
}

} // namespace hearth::engine
