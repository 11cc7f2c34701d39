// engine/local_engine.cpp: LocalEngine's caller side: checking a request, merging the model's PARAMETER
// values into it, queueing it and streaming its events on the caller's thread. The inference thread is
// in scheduler.cpp.
#include "engine/local_engine.h"

#include "engine/constrain.h"
#include "engine/prompt.h"
#include "engine/scheduler.h"
#include "store/modelfile.h"

#include <algorithm>
#include <cctype>
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

// tools: a JSON array of {"type": "function", "function": {"name", "description"?, "parameters"?}}.
Status check_tools(const Request& r) {
    auto bad = [](std::string msg, std::string field) { return bad_field(std::move(field), std::move(msg)); };
    if (r.tools.empty()) {
        if (r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Named)
            return bad("tool_choice needs tools", "tool_choice");
        return Status::ok();
    }
    const nlohmann::json tools = nlohmann::json::parse(r.tools, nullptr, false);
    if (tools.is_discarded() || !tools.is_array()) return bad("tools must be an array", "tools");
    if (tools.size() > 128) return bad("at most 128 tools, got " + std::to_string(tools.size()), "tools");
    std::vector<std::string> names;
    for (size_t i = 0; i < tools.size(); ++i) {
        const std::string at = "tools[" + std::to_string(i) + "]";
        const auto& t = tools[i];
        if (!t.is_object() || t.value("type", "") != "function")
            return bad(at + ": only {\"type\": \"function\", \"function\": {...}} tools are supported", at);
        const auto f = t.find("function");
        if (f == t.end() || !f->is_object()) return bad(at + ".function must be an object", at + ".function");
        const auto name = f->find("name");
        if (name == f->end() || !name->is_string())
            return bad(at + ".function.name is required", at + ".function.name");
        const std::string n = name->get<std::string>();
        const bool ok_name = !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
        });
        if (!ok_name)
            return bad(at + ".function.name must be 1-64 letters, digits, '_', '-' or '.', got '" + n.substr(0, 80) +
                           "'",
                       at + ".function.name");
        if (const auto p = f->find("parameters"); p != f->end() && !p->is_object())
            return bad(at + ".function.parameters must be a JSON Schema object", at + ".function.parameters");
        names.push_back(n);
    }
    if (r.tool_choice == ToolChoice::Named && std::find(names.begin(), names.end(), r.tool_choice_name) == names.end())
        return bad("tool_choice names '" + r.tool_choice_name + "', which is not one of the tools", "tool_choice");
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
    return check_tools(r);
}

// The model's calls as Completion::tool_calls carries them, with fresh ids.
std::vector<ToolCall> with_ids(std::vector<toolcall::Call> calls, bool parallel) {
    std::vector<ToolCall> out;
    std::random_device rd;
    static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (auto& c : calls) {
        std::string id = "call_";
        for (int i = 0; i < 24; ++i)
            id += kAlnum[rd() % (sizeof kAlnum - 1)];
        out.push_back({std::move(id), std::move(c.name), std::move(c.arguments)});
        if (!parallel) break;
    }
    return out;
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

Result<std::shared_ptr<Job>> LocalEngine::new_job(const Request& req, const std::atomic<bool>* cancel) {
    auto job = std::make_shared<Job>();
    job->t_submit = Clock::now();
    job->cancel_ext = cancel;
    auto spec = resolve_(req.model);
    if (!spec) return Status::error(Code::NotFound, spec.message(), "model");
    job->spec = std::move(*spec);
    job->req = req;
    if (Status s = merge_model_parameters(job->req, job->spec.params_json); !s)
        return Status::error(Code::Internal, "model '" + req.model + "': " + s.message(), "model");
    if (job->req.keep_alive_s < 0) job->req.keep_alive_s = opts_.default_keep_alive_s;
    return job;
}

std::variant<Completion, Status> LocalEngine::generate(const Request& req,
                                                       const std::function<bool(const TokenEvent&)>& on_event,
                                                       const std::atomic<bool>* cancel) {
    auto fail = [&](Status f) -> std::variant<Completion, Status> {
        sched_->count_failure();
        return f;
    };
    if (Status bad = check_request(req); !bad) return fail(std::move(bad));

    auto made = new_job(req, cancel);
    if (!made) return fail(made.status());
    std::shared_ptr<Job> job = std::move(made).value();
    Request& r = job->req;
    // The ranges now; token ids of logit_bias are checked against the vocabulary once the model is loaded.
    if (Status s = validate(r.sampling, std::numeric_limits<int32_t>::max()); !s) {
        return fail(bad_field(s.field().empty() ? "sampling" : s.field(), s.message()));
    }
    if (!r.seed_set) {
        std::random_device rd;
        r.sampling.seed = (uint64_t(rd()) << 32) | rd();
    }
    if (r.max_tokens < 0) r.max_tokens = -1;

    // The prompt, here on the caller's thread (engine/prompt.h).
    auto text = texts_->get(opts_, req.model, job->spec.path);
    if (!text) return fail(text.status());
    job->text = std::move(text).value();
    // Tools: the model's calls are read out of its text (held back from the client) in its template's syntax.
    std::optional<toolcall::Stream> calls;
    if (!r.tools.empty() && r.tool_choice != ToolChoice::None) {
        const toolcall::Format format = tool_format(*job->text, job->spec);
        if (format == toolcall::Format::None)
            return fail(bad_field("tools", "model '" + req.model +
                                               "' does not support tools: its chat template has no tool-call syntax"));
        std::vector<std::string> names;
        for (const auto& t : nlohmann::json::parse(r.tools))
            names.push_back(t["function"]["name"].get<std::string>());
        calls.emplace(format, std::move(names));
    }
    // Thinking: what the model can do against what the request asks.
    const toolcall::Thinking thinking = thinking_mode(*job->text, job->spec);
    if (r.think == true && thinking == toolcall::Thinking::None)
        return fail(bad_field("think", "model '" + req.model +
                                           "' has no thinking mode (its chat template shows no <think> block)"));
    if (r.think == false && thinking == toolcall::Thinking::Always)
        return fail(bad_field("think", "model '" + req.model +
                                           "' always thinks (its chat template has no switch to turn it off)"));
    if (constrained(r) && thinking != toolcall::Thinking::None &&
        (r.think == true || thinking == toolcall::Thinking::Always))
        return fail(bad_field("think", "model '" + req.model +
                                           "' cannot think before a constrained answer (a structured output format or "
                                           "a forced tool call): the grammar leaves no room for its <think> block" +
                                           (thinking == toolcall::Thinking::Always ? ", and it always thinks" : "")));
    auto prompt = prompt_tokens(*job->text, r, job->spec);
    if (!prompt) return fail(prompt.status());
    job->prompt = std::move(prompt).value();
    // The reasoning is read out of the answer when the model thinks; the prompt may have opened the block.
    std::optional<toolcall::ThinkSplitter> think;
    if (thinking != toolcall::Thinking::None && thinks(r) && !(r.prompt && r.raw)) {
        const size_t n = std::min<size_t>(job->prompt.size(), 4);
        std::string tail = detokenize(job->text->tok, std::span(job->prompt).last(n), /*special=*/true);
        while (!tail.empty() && std::isspace(static_cast<unsigned char>(tail.back())))
            tail.pop_back();
        think.emplace(tail.ends_with("<think>"));
    }
    // Structured output and forced tool calls: the grammar, and the vocabulary it masks, here too.
    auto matcher = output_matcher(r);
    if (!matcher) return fail(matcher.status());
    job->matcher = std::move(matcher).value();
    if (job->matcher) (void)vocab_trie(*job->text);

    if (Status busy = sched_->submit(job); !busy) return busy;

    std::string shown;     // with tools or thinking: the answer's text the client got (without calls or reasoning)
    std::string reasoning; // a thinking model's reasoning
    auto deliver = [&](const TokenEvent& ev) {
        if (job->cancelled.load()) return;
        if (!calls && !think) {
            if (!on_event(ev)) job->cancelled.store(true);
            return;
        }
        TokenEvent out = ev;
        if (think) {
            toolcall::ThinkPiece piece = think->feed(ev.text);
            out.reasoning = std::move(piece.reasoning);
            out.text = std::move(piece.content);
            reasoning += out.reasoning;
        }
        if (calls) out.text = calls->feed(out.text);
        shown += out.text;
        if (!on_event(out)) job->cancelled.store(true);
    };
    // Stream the job's events on this thread until its result arrives (always after its last event).
    std::unique_lock lk(job->mu);
    for (;;) {
        job->cv.wait(lk, [&] { return !job->events.empty() || job->result.has_value(); });
        if (job->events.empty()) break;
        std::deque<TokenEvent> events;
        events.swap(job->events);
        lk.unlock();
        for (const auto& ev : events)
            deliver(ev);
        lk.lock();
    }
    auto result = std::move(*job->result);
    lk.unlock();
    if (think) {
        if (auto* c = std::get_if<Completion>(&result)) {
            toolcall::ThinkPiece rest = think->finish();
            if (!rest.reasoning.empty() || !rest.content.empty()) {
                TokenEvent ev;
                ev.reasoning = std::move(rest.reasoning);
                ev.text = std::move(rest.content);
                deliver(ev);
            }
            c->reasoning = reasoning;
            if (!calls) c->text = shown;
        }
    }
    if (calls) {
        if (auto* c = std::get_if<Completion>(&result)) {
            toolcall::Parsed tail = calls->finish();
            if (!tail.content.empty() && !job->cancelled.load()) {
                TokenEvent ev;
                ev.text = tail.content;
                if (!on_event(ev)) job->cancelled.store(true);
            }
            c->tool_calls = with_ids(std::move(tail.calls), r.parallel_tool_calls);
            c->text = shown + tail.content; // what the client saw: the answer without the calls
        }
    }
    return result;
}

} // namespace hearth::engine
