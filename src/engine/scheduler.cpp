// engine/scheduler.cpp: LocalEngine's inference thread: admission (model load, prompt, session), steps,
// keep-alive and memory budget. See scheduler.h for the step and local_engine.h for the behaviour.
#include "engine/scheduler.h"

#include "base/check.h"
#include "engine/model_entry.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hearth::engine {
namespace {

double secs(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

std::string mib(uint64_t bytes) {
    return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n])
        ++n;
    return n;
}

} // namespace

void Job::push(TokenEvent ev) {
    std::lock_guard lk(mu);
    events.push_back(std::move(ev));
    cv.notify_one();
}

void Job::finish(std::variant<Completion, Status> r) {
    std::lock_guard lk(mu);
    result = std::move(r);
    cv.notify_one(); // under the lock: the caller cannot wake, return and drop the job before this ends
}

Scheduler::Scheduler(LocalEngineOptions opts) : opts_(std::move(opts)) {
    stats_.ttft_counts.assign(stats_.ttft_buckets_s.size() + 1, 0);
    thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
    drain(0);
}

// ---- called from other threads -------------------------------------------------------------------------

Status Scheduler::submit(std::shared_ptr<Job> job) {
    std::lock_guard lk(mu_);
    stats_.requests += 1;
    if (!accepting_) {
        stats_.rejected_busy += 1;
        return Status::error(Code::Busy, "shutting down");
    }
    if (int(waiting_.size()) >= opts_.max_queue) {
        stats_.rejected_busy += 1;
        return Status::error(Code::Busy, "too many requests: " + std::to_string(waiting_.size()) +
                                             " are already waiting (max_queue); try again later");
    }
    waiting_.push_back(std::move(job));
    stats_.queue_depth = int(waiting_.size());
    wake_.notify_one();
    return Status::ok();
}

void Scheduler::count_failure() {
    std::lock_guard lk(mu_);
    stats_.requests += 1;
    stats_.failures += 1;
}

std::vector<LoadedModel> Scheduler::loaded() const {
    std::lock_guard lk(mu_);
    std::vector<LoadedModel> out;
    const auto now = Clock::now();
    for (const auto& p : published_) {
        LoadedModel m{p.name, p.path, p.size_bytes, 0, p.info, p.kernels, p.n_threads, p.gpu_layers, p.vram_bytes};
        if (p.never_expires)
            m.expires_in_s = std::numeric_limits<double>::infinity();
        else if (p.busy)
            m.expires_in_s = p.keep_alive_s;
        else
            m.expires_in_s = std::max(0.0, secs(now, p.expires_at));
        out.push_back(std::move(m));
    }
    return out;
}

void Scheduler::unload(std::vector<std::string> keys) {
    std::unique_lock lk(mu_);
    if (!running_) return;
    unload_requests_.insert(unload_requests_.end(), keys.begin(), keys.end());
    const uint64_t mine = ++unload_seq_;
    wake_.notify_one();
    unloaded_cv_.wait(lk, [&] { return unload_done_ >= mine || !running_; });
}

Stats Scheduler::stats() const {
    std::lock_guard lk(mu_);
    return stats_;
}

void Scheduler::drain(double timeout_s) {
    {
        std::lock_guard lk(mu_);
        accepting_ = false;
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(std::max(0.0, timeout_s)));
        drain_deadline_ = stopping_ ? std::min(drain_deadline_, deadline) : deadline;
        stopping_ = true;
        wake_.notify_one();
    }
    std::lock_guard join(join_mu_);
    if (thread_.joinable()) thread_.join();
}

// ---- the inference thread ------------------------------------------------------------------------------

void Scheduler::run() {
    while (wait_for_work()) {
        const uint64_t commands = handle_commands();
        admit_waiting();
        for (auto& m : models_)
            if (!m->active.empty()) step(*m);
        expire_models();
        publish(commands);
        deliver();
    }
    while (!models_.empty())
        unload_entry(models_.size() - 1);
    publish(0);
    deliver();
    std::lock_guard lk(mu_);
    running_ = false;
    unloaded_cv_.notify_all();
}

bool Scheduler::wait_for_work() {
    std::unique_lock lk(mu_);
    for (;;) {
        if (stopping_ && Clock::now() >= drain_deadline_) { // out of time: cancel everything left
            for (auto& j : waiting_)
                j->cancelled.store(true);
            for (auto& m : models_)
                for (auto& s : m->active)
                    s->job->cancelled.store(true);
        }
        if (stopping_ && waiting_.empty() && n_active_ == 0) return false;
        // With nothing active, every waiting job can be admitted or failed, so this never spins.
        if (n_active_ > 0 || !waiting_.empty() || !unload_requests_.empty()) return true;
        std::optional<Clock::time_point> next;
        for (const auto& m : models_) {
            if (m->keep_alive_s == 0) return true;
            if (!std::isfinite(m->keep_alive_s) || m->keep_alive_s < 0) continue; // never expires
            const auto at = m->expires_at();
            if (!next || at < *next) next = at;
        }
        if (next && Clock::now() >= *next) return true;
        if (stopping_ && (!next || drain_deadline_ < *next)) next = drain_deadline_;
        if (next)
            wake_.wait_until(lk, *next);
        else
            wake_.wait(lk);
    }
}

uint64_t Scheduler::handle_commands() {
    std::vector<std::string> keys;
    uint64_t seq;
    {
        std::lock_guard lk(mu_);
        keys.swap(unload_requests_);
        seq = unload_seq_;
    }
    for (const auto& k : keys)
        for (auto& m : models_)
            if (m->name == k || m->path == k) m->unload_requested = true;
    return seq;
}

void Scheduler::admit_waiting() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::lock_guard lk(mu_);
            for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
                const ModelEntry* m = find_model((*it)->spec.path);
                if ((*it)->is_cancelled() || !m || int(m->active.size()) < opts_.max_active) {
                    job = *it;
                    waiting_.erase(it);
                    break;
                }
            }
            stats_.queue_depth = int(waiting_.size());
        }
        if (!job) return;
        if (job->is_cancelled()) {
            Completion c;
            c.finish = Finish::Cancelled;
            c.total_s = secs(job->t_submit, Clock::now());
            finish_job(job, std::move(c));
            continue;
        }
        if (admit(job) == Admit::Wait) {
            std::lock_guard lk(mu_);
            waiting_.push_front(std::move(job));
            stats_.queue_depth = int(waiting_.size());
            return;
        }
    }
}

ModelEntry* Scheduler::find_model(const std::string& path) const {
    for (const auto& m : models_)
        if (m->path == path) return m.get();
    return nullptr;
}

uint64_t Scheduler::used_bytes() const {
    uint64_t n = 0;
    for (const auto& m : models_)
        n += m->bytes();
    return n;
}

// Frees memory until need_host more bytes fit in host memory and need_device more on keep's device: idle models
// first (least recently used first; for the device, only those holding memory on keep's device), then the idle
// sessions of `keep`. `available` and `device_available` re-read what the system and the device have (the budget, when
// set, bounds host memory only: a GPU's memory is what it has free).
bool Scheduler::make_room(uint64_t need_host, uint64_t need_device, ModelEntry* keep,
                          const std::function<uint64_t()>& available,
                          const std::function<uint64_t()>& device_available) {
    auto host_fits = [&] {
        if (opts_.memory_budget_bytes > 0) return used_bytes() + need_host <= opts_.memory_budget_bytes;
        const uint64_t avail = available();
        return avail == 0 || need_host <= avail;
    };
    auto device_fits = [&] { return need_device == 0 || need_device <= device_available(); };
    const std::string device = keep != nullptr ? keep->runtime->device() : std::string();
    for (;;) {
        const bool host_ok = host_fits();
        if (host_ok && device_fits()) return true;
        size_t lru = models_.size();
        for (size_t i = 0; i < models_.size(); ++i) {
            const ModelEntry& m = *models_[i];
            if (&m == keep || !m.active.empty()) continue;
            if (host_ok && (m.device_bytes() == 0 || m.runtime->device() != device)) continue; // frees no device memory
            if (lru == models_.size() || m.last_used < models_[lru]->last_used) lru = i;
        }
        if (lru < models_.size()) {
            unload_entry(lru);
            continue;
        }
        if (keep && !keep->idle.empty()) {
            keep->idle.clear();
            continue;
        }
        return false;
    }
}

bool Scheduler::unload_lru_idle_on_device() {
    size_t lru = models_.size();
    for (size_t i = 0; i < models_.size(); ++i) {
        const ModelEntry& m = *models_[i];
        if (!m.active.empty() || m.device_bytes() == 0) continue;
        if (lru == models_.size() || m.last_used < models_[lru]->last_used) lru = i;
    }
    if (lru == models_.size()) return false;
    unload_entry(lru);
    return true;
}

Scheduler::Admit Scheduler::admit(const std::shared_ptr<Job>& job) {
    const Request& rq = job->req;
    const auto t_admit = Clock::now();
    auto fail = [&](Status f) {
        finish_job(job, std::move(f));
        return Admit::Finished;
    };

    // The model: loaded already, or loaded now (kept in `fresh` until it is known to fit).
    std::unique_ptr<ModelEntry> fresh;
    ModelEntry* m = find_model(job->spec.path);
    double load_s = 0;
    if (!m) {
        Status why;
        // Its weights do not fit on the device: unload idle models that hold device memory, least recently used
        // first, until they fit or none is left (as make_room does for a session). Which device the model would
        // have taken is not known until it loads: idle models on any device go (one GPU is the usual case). A
        // failure that will be retried is not logged.
        const auto idle_on_device = [&] {
            return std::any_of(models_.begin(), models_.end(),
                               [](const auto& e) { return e->active.empty() && e->device_bytes() > 0; });
        };
        fresh = ModelEntry::load(*job, opts_, why, !idle_on_device());
        while (!fresh && why.code() == Code::TooLarge && unload_lru_idle_on_device()) {
            why = Status::ok();
            fresh = ModelEntry::load(*job, opts_, why, !idle_on_device());
        }
        if (!fresh) return fail(std::move(why));
        m = fresh.get();
        load_s = secs(t_admit, Clock::now());
    }

    if (job->is_embed) return admit_embed(job, std::move(fresh), m, load_s);
    if (!m->runtime->info().can_generate)
        return fail(bad_field("model", "model '" + rq.model + "' (" + m->runtime->info().arch +
                                           ") computes embeddings only: it cannot generate text; "
                                           "use /v1/embeddings, /api/embed or `hearth embed`"));

    Status why;
    const std::vector<int32_t>& prompt = job->prompt; // made on the caller's thread (engine/prompt.h)

    // The context and what a session for it costs.
    SessionOptions so;
    so.n_ctx = rq.num_ctx > 0 ? rq.num_ctx : std::min(m->runtime->info().n_ctx_train, opts_.max_default_ctx);
    so.check_memory = false;
    auto est = m->runtime->estimate_memory(so);
    if (!est && rq.num_ctx <= 0) {
        so.n_ctx = 0; // the runtime's own default
        est = m->runtime->estimate_memory(so);
    }
    if (!est) return fail(bad_field("num_ctx", "num_ctx: " + est.message()));
    const int32_t n_ctx = est->n_ctx;
    const int32_t n_prompt = int32_t(prompt.size());
    if (n_prompt > n_ctx - 1)
        return fail(Status::error(Code::ContextFull,
                                  "context full: the prompt takes " + std::to_string(n_prompt) +
                                      " tokens but the context holds " + std::to_string(n_ctx) +
                                      " (num_ctx) and at least 1 must be left for the answer; " +
                                      "shorten the prompt or raise num_ctx",
                                  rq.prompt ? "prompt" : "messages"));

    auto sampler = Sampler::create(rq.sampling, m->tok().n_vocab());
    if (!sampler) {
        const Status s = sampler.status();
        return fail(bad_field(s.field().empty() ? "sampling" : s.field(), s.message()));
    }

    bool wait = false;
    std::unique_ptr<PooledSession> ps = session_for(*m, fresh != nullptr, so, *est, prompt, rq.model, wait, why);
    if (!ps) return wait ? Admit::Wait : fail(std::move(why));
    if (fresh) models_.push_back(std::move(fresh));
    m->name = rq.model;
    m->keep_alive_s = rq.keep_alive_s;
    m->last_used = Clock::now();

    if (rq.max_tokens == 0) { // nothing to generate: the model is loaded, the prompt counted
        m->idle.push_back(std::move(ps));
        Completion c;
        c.prompt_tokens = n_prompt;
        c.context_tokens = n_ctx;
        c.finish = Finish::Length;
        c.load_s = load_s;
        c.total_s = secs(job->t_submit, Clock::now());
        finish_job(job, std::move(c));
        return Admit::Finished;
    }

    // Reuse the cached prefix; at least one prompt token is fed so the logits are fresh.
    const size_t keep = std::min({common_prefix(ps->cached, prompt), prompt.size() - 1, size_t(ps->session->n_past())});
    if (Status s = ps->session->truncate(int32_t(keep)); !s) return fail(Status::error(Code::Internal, s.message()));
    ps->cached.resize(keep);

    DecodeOptions dopts;
    dopts.max_tokens = rq.max_tokens;
    dopts.stop = rq.stop;
    dopts.end_at_eog = rq.end_at_eog;
    if (job->matcher) {
        dopts.grammar = std::move(job->matcher);
        job->matcher.reset();
        dopts.vocab = &vocab_trie(*job->text);
    }
    auto slot = std::make_unique<Slot>(std::move(*sampler), m->tok(), std::move(dopts));
    slot->job = job;
    slot->ps = std::move(ps);
    slot->prompt = prompt;
    slot->n_fed = keep;
    slot->n_cached = keep;
    slot->load_s = load_s;
    slot->t_admit = Clock::now();  // prompt time starts here: loading and session set-up are load_s
    slot->dec.start(slot->prompt); // the penalties see the prompt
    m->active.push_back(std::move(slot));
    n_active_ += 1;
    std::lock_guard lk(mu_);
    stats_.active = n_active_;
    return Admit::Started;
}

// A session of so.n_ctx: the idle one sharing the longest prefix with the prompt, else a new one if memory
// allows (after unloading idle models). Null with `wait` when a running job of this model will free one,
// else null with `why`.
std::unique_ptr<PooledSession> Scheduler::session_for(ModelEntry& m, bool fresh, const SessionOptions& so,
                                                      const MemoryEstimate& est, const std::vector<int32_t>& prompt,
                                                      const std::string& model, bool& wait, Status& why) {
    if (auto ps = m.take_session(est.n_ctx, prompt)) return ps;
    if (int(m.idle.size() + m.active.size()) >= opts_.max_active) m.drop_lru_idle();
    const uint64_t need = est.session_bytes + est.scratch_bytes + (fresh ? m.weight_bytes : 0);
    const uint64_t need_device = est.device_needed();
    auto available = [&]() -> uint64_t {
        auto e = m.runtime->estimate_memory(so);
        return e ? e->available : 0;
    };
    auto device_available = [&]() -> uint64_t {
        auto e = m.runtime->estimate_memory(so);
        return e ? e->device_available : 0;
    };
    if (!make_room(need, need_device, &m, available, device_available)) {
        if (!fresh && !m.active.empty()) {
            wait = true;
            return nullptr;
        }
        const uint64_t budget = opts_.memory_budget_bytes, used = used_bytes();
        if (need_device > 0 && need_device > device_available()) {
            why = Status::error(Code::TooLarge, "model '" + model + "' needs " + mib(need_device) + " more on " +
                                                    m.runtime->device() + " (KV cache and scratch of its " +
                                                    std::to_string(m.runtime->device_layers()) +
                                                    " layers there for a context of " + std::to_string(est.n_ctx) +
                                                    " tokens) but only " + mib(device_available()) +
                                                    " is free there after unloading idle models; try a smaller "
                                                    "num_ctx, fewer GPU layers or a smaller model");
            return nullptr;
        }
        const uint64_t room = budget > 0 ? (budget > used ? budget - used : 0) : available();
        why =
            Status::error(Code::TooLarge, "model '" + model + "' needs " + mib(need) + " more (" +
                                              (fresh ? "weights " + mib(m.weight_bytes) + " + " : std::string()) +
                                              "KV cache and scratch " + mib(est.session_bytes + est.scratch_bytes) +
                                              " for a context of " + std::to_string(est.n_ctx) + " tokens) but only " +
                                              mib(room) + " is left after unloading idle models" +
                                              (budget > 0 ? " (memory budget " + mib(budget) + ")" : std::string()) +
                                              "; try a smaller num_ctx or a smaller model");
        return nullptr;
    }
    auto session = m.runtime->create_session(so);
    if (!session) {
        why = Status::error(Code::Internal, session.message());
        return nullptr;
    }
    auto ps = std::make_unique<PooledSession>();
    ps->session = std::move(*session);
    ps->bytes = est.session_bytes; // the pass scratch is the runtime's, counted once (ModelEntry::bytes)
    ps->device_bytes = est.device_session_bytes;
    return ps;
}

void Scheduler::step(ModelEntry& m) {
    const auto chunk = size_t(std::max(1, opts_.prefill_chunk));
    // 1. plan
    for (auto& s : m.active) {
        s->input.clear();
        if (s->job->is_cancelled()) {
            end_slot(m, *s, Finish::Cancelled);
            continue;
        }
        if (s->n_fed < s->prompt.size()) {
            const size_t n = std::min(chunk, s->prompt.size() - s->n_fed);
            s->input.assign(s->prompt.begin() + long(s->n_fed), s->prompt.begin() + long(s->n_fed + n));
        } else {
            s->input.push_back(s->pending);
        }
    }
    // 2. forward: every slot's input in shared passes over the weights (continuous batching). A slot whose
    //    input its session refuses fails alone; the others still run.
    std::vector<BatchItem> items;
    std::vector<Slot*> fed;
    for (auto& s : m.active) {
        if (s->done) continue;
        items.push_back(BatchItem{s->ps->session.get(), s->input});
        fed.push_back(s.get());
    }
    if (!items.empty()) {
        std::lock_guard lk(mu_);
        stats_.forward_passes += 1;
        stats_.forward_sequences += items.size();
        stats_.max_batch_sequences = std::max(stats_.max_batch_sequences, int(items.size()));
    }
    if (Status st = m.runtime->feed_batch(items); !st) {
        // Some item was refused (checked before anything ran): feed the slots one by one so only it fails.
        for (Slot* s : fed)
            if (Status one = s->ps->session->feed(s->input); !one)
                fail_slot(m, *s, Status::error(Code::Internal, one.message()));
    }
    for (Slot* s : fed) {
        if (s->done) continue;
        s->ps->cached.insert(s->ps->cached.end(), s->input.begin(), s->input.end());
        if (s->n_fed < s->prompt.size()) {
            s->n_fed += s->input.size();
            if (s->n_fed == s->prompt.size()) s->t_prompt = Clock::now();
        }
    }
    // 3. sample
    for (auto& s : m.active)
        if (!s->done && s->n_fed == s->prompt.size()) sample_slot(m, *s);
    std::erase_if(m.active, [](const std::unique_ptr<Slot>& s) { return s->done; });
}

void Scheduler::sample_slot(ModelEntry& m, Slot& s) {
    const Request& rq = s.job->req;
    const Session& session = *s.ps->session;
    auto step = s.dec.step(session.logits(), session.n_past(), session.n_ctx());
    if (!step) {
        // A grammar past its limits in the middle of an answer (an ambiguous one can multiply its parse stacks)
        // is the request's: TooLarge, naming the field it came from. Anything else is ours.
        const Status& why = step.status();
        if (why.code() == Code::TooLarge)
            fail_slot(m, s,
                      Status::error(Code::TooLarge, "the answer's grammar: " + why.message(),
                                    rq.format != OutputFormat::Text ? rq.format_field : std::string("tools")));
        else
            fail_slot(m, s, Status::error(Code::Internal, why.message()));
        return;
    }
    if (s.dec.n_generated() == 1) s.t_first = Clock::now();
    s.t_last = Clock::now();
    if (step->eog) { // an end-of-generation token: not shown
        end_slot(m, s, Finish::Stop);
        return;
    }
    TokenEvent ev;
    ev.token = step->token;
    ev.text = step->text;
    if (rq.sampling.logprobs) {
        ev.logprob = step->logprob;
        const auto top = s.sampler.top_logprobs();
        ev.top.assign(top.begin(), top.end());
        ev.top_text.reserve(top.size());
        for (const auto& t : top)
            ev.top_text.push_back(token_to_piece(s.job->text->tok, t.token, /*special=*/false));
    }
    s.job->push(std::move(ev));
    if (step->finish)
        end_slot(m, s, *step->finish);
    else
        s.pending = step->token;
}

void Scheduler::end_slot(ModelEntry& m, Slot& s, Finish finish) {
    const auto now = Clock::now();
    if (finish != Finish::Cancelled) { // text held back for a stop string that never came
        if (const std::string_view rest = s.dec.rest(); !rest.empty()) {
            TokenEvent ev;
            ev.text = rest;
            s.job->push(std::move(ev));
        }
    }
    Completion c;
    c.text = s.dec.text();
    c.prompt_tokens = int32_t(s.prompt.size());
    c.cached_tokens = int32_t(s.n_cached);
    c.context_tokens = s.ps->session->n_ctx();
    c.completion_tokens = s.dec.n_generated();
    c.finish = finish;
    c.load_s = s.load_s;
    const bool prompt_done = s.n_fed == s.prompt.size();
    c.prompt_s = prompt_done ? secs(s.t_admit, s.t_prompt) : 0;
    c.first_token_s = s.dec.n_generated() > 0 ? secs(s.job->t_submit, s.t_first) : 0;
    c.generate_s = s.dec.n_generated() > 0 ? secs(s.t_first, s.t_last) : 0;
    c.total_s = secs(s.job->t_submit, now);
    {
        std::lock_guard lk(mu_);
        stats_.prompt_tokens += uint64_t(c.prompt_tokens);
        stats_.completion_tokens += uint64_t(c.completion_tokens);
        stats_.prompt_seconds += c.prompt_s;
        stats_.generate_seconds += c.generate_s;
        if (s.dec.n_generated() > 0) {
            for (size_t b = 0; b < stats_.ttft_counts.size(); ++b)
                if (b == stats_.ttft_buckets_s.size() || c.first_token_s <= stats_.ttft_buckets_s[b])
                    stats_.ttft_counts[b] += 1;
            stats_.ttft_sum_s += c.first_token_s;
            stats_.ttft_count += 1;
        }
    }
    release(m, s);
    finish_job(s.job, std::move(c));
}

void Scheduler::fail_slot(ModelEntry& m, Slot& s, Status why) {
    s.ps->session->reset(); // the cache may not match `cached` any more
    s.ps->cached.clear();
    release(m, s);
    finish_job(s.job, std::move(why));
}

void Scheduler::release(ModelEntry& m, Slot& s) {
    s.done = true;
    s.ps->last_used = Clock::now();
    m.idle.push_back(std::move(s.ps));
    while (int(m.idle.size()) > opts_.max_active)
        m.drop_lru_idle();
    m.last_used = Clock::now();
    n_active_ -= 1;
    std::lock_guard lk(mu_);
    stats_.active = n_active_;
}

void Scheduler::unload_entry(size_t i) {
    HEARTH_CHECK(models_[i]->active.empty(), "unloading a model with active requests");
    models_.erase(models_.begin() + long(i));
}

void Scheduler::expire_models() {
    const auto now = Clock::now();
    for (size_t i = models_.size(); i-- > 0;) {
        const ModelEntry& m = *models_[i];
        if (!m.active.empty()) continue;
        if (m.unload_requested || m.keep_alive_s == 0 || (std::isfinite(m.keep_alive_s) && now >= m.expires_at()))
            unload_entry(i);
    }
}

void Scheduler::publish(uint64_t commands_done) {
    std::vector<Published> pub;
    uint64_t total = 0;
    for (const auto& m : models_) {
        Published p;
        p.name = m->name;
        p.path = m->path;
        p.info = m->runtime->info();
        p.kernels = m->runtime->kernel_isa();
        p.gpu_layers = m->runtime->device().rfind("cuda", 0) == 0 ? m->runtime->device_layers() : 0;
        p.n_threads = m->runtime->n_threads();
        p.vram_bytes = m->device_bytes();
        p.size_bytes = m->bytes() + p.vram_bytes;
        p.busy = !m->active.empty();
        p.keep_alive_s = m->keep_alive_s;
        p.never_expires = !std::isfinite(m->keep_alive_s) || m->keep_alive_s < 0;
        if (!p.never_expires) p.expires_at = m->expires_at();
        total += p.size_bytes;
        pub.push_back(std::move(p));
    }
    std::lock_guard lk(mu_);
    published_ = std::move(pub);
    stats_.memory_bytes = total;
    stats_.active = n_active_;
    stats_.queue_depth = int(waiting_.size());
    if (commands_done > unload_done_) {
        unload_done_ = commands_done;
        unloaded_cv_.notify_all();
    }
}

void Scheduler::finish_job(const std::shared_ptr<Job>& job, std::variant<Completion, Status> r) {
    if (const auto* st = std::get_if<Status>(&r)) {
        HEARTH_CHECK(!st->is_ok(), "a job failed with an ok Status");
        std::lock_guard lk(mu_);
        stats_.failures += 1;
    }
    finished_.emplace_back(job, std::move(r));
}

// Results go out after the step, keep-alive and snapshot, so a caller that gets its result sees the
// engine's state after its request (a keep_alive 0 model already unloaded, stats updated).
void Scheduler::deliver() {
    for (auto& [job, r] : finished_)
        job->finish(std::move(r));
    finished_.clear();
}

} // namespace hearth::engine
