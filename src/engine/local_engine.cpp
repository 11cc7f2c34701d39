// engine/local_engine.cpp: LocalEngine's caller side: checking a request, merging the model's PARAMETER
// values into it, queueing it and streaming its events on the caller's thread. The inference thread is
// in scheduler.cpp.
#include "engine/local_engine.h"

#include "engine/prompt.h"
#include "engine/scheduler.h"
#include "store/modelfile.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace hearth::engine {

namespace {

bool client_set(const Request& r, const std::string& name) {
    return std::find(r.sampling_set.begin(), r.sampling_set.end(), name) != r.sampling_set.end();
}

// Applies one PARAMETER (already checked against store::kParameterKeys) where the request left it open.
void apply_parameter(Request& r, const std::string& name, const nlohmann::json& v) {
    if (name == "stop") return; // handled by the caller
    const double d = v.get<double>();
    const int64_t i = v.is_number_integer() ? v.get<int64_t>() : int64_t(d);
    if (std::find(std::begin(kSamplingParameterNames), std::end(kSamplingParameterNames), name) !=
        std::end(kSamplingParameterNames)) {
        if (!client_set(r, name)) set_sampling_parameter(r.sampling, name, d);
    } else if (name == "num_ctx" && r.num_ctx <= 0) {
        r.num_ctx = int32_t(i);
    } else if (name == "num_predict" && r.max_tokens < 0) {
        r.max_tokens = i < 0 ? -1 : int32_t(i); // -1, -2: until the turn ends or the context is full
    } else if (name == "seed" && !r.seed_set && i >= 0) {
        r.seed_set = true;
        r.sampling.seed = uint64_t(i);
    }
}

// The model's PARAMETER values (ModelSpec::params_json) fill what the request left open. The store checked
// them when the model was created; they are checked again against the same table (store/modelfile.h).
Status merge_model_parameters(Request& r, const std::string& params_json) {
    auto params = nlohmann::json::parse(params_json, nullptr, /*allow_exceptions=*/false);
    if (params.is_discarded() || !params.is_object()) return error("its parameters are not a JSON object");
    const bool stop_open = r.stop.empty();
    for (const auto& [k, v] : params.items()) {
        const store::ParameterKey* key = store::find_parameter_key(k);
        if (!key) continue; // an Ollama parameter hearth does not use
        std::vector<nlohmann::json> values =
            v.is_array() ? std::vector<nlohmann::json>(v.begin(), v.end()) : std::vector<nlohmann::json>{v};
        for (const auto& one : values) {
            auto parsed = store::parse_parameter_json(*key, one);
            if (!parsed) return error("parameter '" + k + "': " + parsed.message());
            if (k == "stop") {
                if (stop_open && r.stop.size() < kMaxStop) r.stop.push_back(parsed->get<std::string>());
            } else {
                apply_parameter(r, k, *parsed);
            }
        }
    }
    return Status::ok();
}

Status check_request(const Request& r) {
    auto bad = [](std::string msg, std::string field) { return bad_field(std::move(field), std::move(msg)); };
    if (r.model.empty()) return bad("model is required", "model");
    if (!r.prompt && r.messages.empty() && r.prompt_tokens.empty())
        return bad("messages must not be empty", "messages");
    if (r.prompt && !r.messages.empty()) return bad("give either prompt or messages, not both", "prompt");
    if (!r.prompt_tokens.empty() && (r.prompt || !r.messages.empty()))
        return bad("give prompt_tokens alone, without prompt or messages", "prompt_tokens");
    for (const auto& m : r.messages)
        if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
            return bad("message role '" + m.role + "' is not one of system, user, assistant, tool", "messages");
    if (r.stop.size() > kMaxStop)
        return bad("at most " + std::to_string(kMaxStop) + " stop strings, got " + std::to_string(r.stop.size()),
                   "stop");
    if (r.num_ctx < 0) return bad("num_ctx must be >= 0 (0: the model's), got " + std::to_string(r.num_ctx), "num_ctx");
    if (std::isnan(r.keep_alive_s)) return bad("keep_alive is not a number", "keep_alive");
    if (r.route == "cloud")
        return bad("route 'cloud' needs a router model (such as \"auto\", with an upstream in router.toml); '" +
                       r.model + "' runs only on this machine",
                   "route");
    if (!r.route.empty() && r.route != "auto" && r.route != "local")
        return bad("route must be one of auto, local, cloud; got '" + r.route + "'", "route");
    return Status::ok();
}

} // namespace

LocalEngine::LocalEngine(Resolver resolve, LocalEngineOptions opts)
    : resolve_(std::move(resolve)), opts_(opts), texts_(std::make_unique<ModelTextCache>()),
      sched_(std::make_unique<Scheduler>(opts)) {}

LocalEngine::~LocalEngine() {
    drain(opts_.drain_timeout_s);
}

void LocalEngine::drain(double timeout_s) {
    sched_->drain(timeout_s);
}

std::vector<LoadedModel> LocalEngine::loaded() const {
    return sched_->loaded();
}

void LocalEngine::unload(const std::string& model) {
    std::vector<std::string> keys{model};
    if (auto spec = resolve_(model)) keys.push_back(spec->path);
    sched_->unload(std::move(keys));
}

Stats LocalEngine::stats() const {
    return sched_->stats();
}

std::variant<Completion, Status> LocalEngine::generate(const Request& req,
                                                       const std::function<bool(const TokenEvent&)>& on_event,
                                                       const std::atomic<bool>* cancel) {
    auto fail = [&](Status f) -> std::variant<Completion, Status> {
        sched_->count_failure();
        return f;
    };
    if (Status bad = check_request(req); !bad) return fail(std::move(bad));

    auto job = std::make_shared<Job>();
    job->t_submit = Clock::now();
    job->cancel_ext = cancel;
    auto spec = resolve_(req.model);
    if (!spec) return fail(Status::error(Code::NotFound, spec.message(), "model"));
    job->spec = std::move(*spec);
    job->req = req;
    Request& r = job->req;
    if (Status s = merge_model_parameters(r, job->spec.params_json); !s)
        return fail(Status::error(Code::Internal, "model '" + req.model + "': " + s.message(), "model"));
    // The ranges now; token ids of logit_bias are checked against the vocabulary once the model is loaded.
    if (Status s = validate(r.sampling, std::numeric_limits<int32_t>::max()); !s) {
        return fail(bad_field(s.field().empty() ? "sampling" : s.field(), s.message()));
    }
    if (!r.seed_set) {
        std::random_device rd;
        r.sampling.seed = (uint64_t(rd()) << 32) | rd();
    }
    if (r.keep_alive_s < 0) r.keep_alive_s = opts_.default_keep_alive_s;
    if (r.max_tokens < 0) r.max_tokens = -1;

    // The prompt, here on the caller's thread (engine/prompt.h).
    auto text = texts_->get(opts_, req.model, job->spec.path);
    if (!text) return fail(text.status());
    job->text = std::move(text).value();
    auto prompt = prompt_tokens(*job->text, r, job->spec);
    if (!prompt) return fail(prompt.status());
    job->prompt = std::move(prompt).value();

    if (Status busy = sched_->submit(job); !busy) return busy;

    // Stream the job's events on this thread until its result arrives (always after its last event).
    std::unique_lock lk(job->mu);
    for (;;) {
        job->cv.wait(lk, [&] { return !job->events.empty() || job->result.has_value(); });
        if (job->events.empty()) return std::move(*job->result);
        std::deque<TokenEvent> events;
        events.swap(job->events);
        lk.unlock();
        for (const auto& ev : events)
            if (!job->cancelled.load() && !on_event(ev)) job->cancelled.store(true);
        lk.lock();
    }
}

} // namespace hearth::engine
