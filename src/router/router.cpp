// router/router.cpp: the hybrid router (see router.h).
#include "router/router.h"

#include "base/sha256.h"
#include "privacy/privacy.h"
#include "router/signals.h"
#include "upstream/upstream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace hearth::router {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using engine::Completion;
using engine::Finish;
using engine::Request;
using engine::RouteInfo;
using engine::TokenEvent;

std::string fixed(double v, int digits = 2) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

// A sampling setting with no OpenAI equivalent that differs from the engine's default (so the client, or
// the model's PARAMETERs, asked for it): the upstream could not honour it. The adapters mark every setting
// as given (Request::sampling_set), so the values are what tells.
std::string local_only_sampling(const SamplingParams& s) {
    const SamplingParams d;
    if (s.top_k != d.top_k) return "top_k";
    if (s.min_p != d.min_p) return "min_p";
    if (s.repeat_penalty != d.repeat_penalty) return "repeat_penalty";
    if (s.penalty_last_n != d.penalty_last_n && s.repeat_penalty != 1.0f) return "repeat_last_n";
    return "";
}

// The whole answer is from one model: this turns an upstream finish_reason into ours.
Finish finish_of(const std::string& reason) {
    return reason == "length" ? Finish::Length : Finish::Stop;
}

} // namespace

std::string upstream_body(const Request& req, const std::string& upstream_model) {
    using json = nlohmann::ordered_json; // the schema's key order is kept
    json messages = json::array();
    if (req.system) messages.push_back({{"role", "system"}, {"content", *req.system}});
    if (req.prompt) {
        messages.push_back({{"role", "user"}, {"content", *req.prompt}});
    } else {
        for (const auto& m : req.messages) {
            json jm = {{"role", m.role}, {"content", m.content}};
            if (!m.tool_calls.empty()) { // OpenAI's shape: arguments as JSON text, content null when only calls
                if (m.content.empty()) jm["content"] = nullptr;
                jm["tool_calls"] = json::array();
                for (const auto& c : m.tool_calls)
                    jm["tool_calls"].push_back({{"id", c.id},
                                                {"type", "function"},
                                                {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
            }
            if (!m.tool_call_id.empty()) jm["tool_call_id"] = m.tool_call_id;
            if (!m.name.empty() && m.role == "tool") jm["name"] = m.name;
            messages.push_back(std::move(jm));
        }
    }
    json body = {{"model", upstream_model},
                 {"messages", std::move(messages)},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}}};
    // The settings the local model would use (the server's defaults where the client gave none).
    if (req.max_tokens > 0) body["max_tokens"] = req.max_tokens;
    body["temperature"] = req.sampling.temperature;
    body["top_p"] = req.sampling.top_p;
    if (req.sampling.presence_penalty != 0) body["presence_penalty"] = req.sampling.presence_penalty;
    if (req.sampling.frequency_penalty != 0) body["frequency_penalty"] = req.sampling.frequency_penalty;
    if (req.seed_set) body["seed"] = req.sampling.seed;
    if (!req.stop.empty()) body["stop"] = req.stop;
    // Tools as the client gave them (key order kept), and how the model may use them.
    if (!req.tools.empty()) {
        body["tools"] = json::parse(req.tools, nullptr, false);
        switch (req.tool_choice) {
        case engine::ToolChoice::Auto:
            break;
        case engine::ToolChoice::None:
            body["tool_choice"] = "none";
            break;
        case engine::ToolChoice::Required:
            body["tool_choice"] = "required";
            break;
        case engine::ToolChoice::Named:
            body["tool_choice"] = {{"type", "function"}, {"function", {{"name", req.tool_choice_name}}}};
            break;
        }
        if (!req.parallel_tool_calls) body["parallel_tool_calls"] = false;
    }
    // Structured output (a GBNF grammar is answered locally: see Router::generate). The schema keeps the
    // client's key order: OpenAI writes properties in it.
    if (req.format == engine::OutputFormat::JsonObject) body["response_format"] = {{"type", "json_object"}};
    if (req.format == engine::OutputFormat::JsonSchema)
        body["response_format"] = {{"type", "json_schema"},
                                   {"json_schema",
                                    {{"name", "response"},
                                     {"strict", true},
                                     {"schema", nlohmann::ordered_json::parse(req.format_spec, nullptr, false)}}}};
    return body.dump();
}

struct Router::Impl {
    privacy::Scanner scanner;
    std::optional<AuditLog> audit;
    mutable std::mutex mu; // guards everything below
    RouterStats stats;
    std::string day = utc_today();
    std::map<std::string, double> spent_today; // upstream name -> USD
    std::mutex capture_mu;

    explicit Impl(privacy::Scanner s) : scanner(std::move(s)) {}
};

Router::Router(Config cfg, engine::Engine& local, RouterOptions opts)
    : cfg_(std::move(cfg)), local_(local), opts_(std::move(opts)) {}
Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::create(Config cfg, engine::Engine& local, RouterOptions opts) {
    auto scanner = privacy::Scanner::create(cfg.scanner);
    if (!scanner) return scanner.status();
    if (opts.capture_dir.empty()) opts.capture_dir = cfg.capture_dir;
    std::unique_ptr<Router> r(new Router(std::move(cfg), local, std::move(opts)));
    r->impl_ = std::make_unique<Impl>(std::move(*scanner));
    if (!r->cfg_.upstreams.empty()) {
        auto log = AuditLog::open(r->cfg_.audit_log);
        if (!log) return log.status();
        r->impl_->audit.emplace(std::move(*log));
        for (const auto& [name, usd] : spend_today(r->cfg_.audit_log))
            r->impl_->spent_today[name] += usd;
    }
    if (!r->opts_.capture_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(r->opts_.capture_dir, ec);
        if (ec) return error("router: cannot create the capture folder " + r->opts_.capture_dir + ": " + ec.message());
    }
    return r;
}

bool Router::is_alias(const std::string& model) const {
    return std::find(cfg_.aliases.begin(), cfg_.aliases.end(), model) != cfg_.aliases.end();
}

std::vector<std::string> Router::aliases() const {
    if (cfg_.local_model.empty()) return {};
    return cfg_.aliases;
}

RouterStats Router::router_stats() const {
    std::lock_guard lock(impl_->mu);
    RouterStats s = impl_->stats;
    if (impl_->day == utc_today())
        for (const auto& [name, usd] : impl_->spent_today)
            s.cloud_spend_today_usd += usd;
    return s;
}

namespace {

// What one routed request is doing; lives on the caller's stack.
struct Turn {
    const Request& client; // as the client sent it (model = the alias)
    Request local;         // for the local engine
    RouteInfo info;
    const std::function<bool(const TokenEvent&)>& on_event;
    const std::atomic<bool>* cancel;
    bool sent_route = false; // the first event (with RouteInfo) reached the client
    bool client_gone = false;

    bool emit(TokenEvent ev) {
        if (!sent_route) {
            ev.route = info;
            sent_route = true;
        }
        if (!on_event(ev)) {
            client_gone = true;
            return false;
        }
        return true;
    }
};

// Keeps what the client asked for of the logprobs the router requested for itself.
TokenEvent for_client(TokenEvent ev, const Request& client) {
    if (!client.sampling.logprobs) {
        ev.logprob = 0;
        ev.top.clear();
    } else if (ev.top.size() > static_cast<size_t>(client.sampling.top_logprobs)) {
        ev.top.resize(static_cast<size_t>(client.sampling.top_logprobs));
    }
    return ev;
}

TokenSignal signal_of(const TokenEvent& ev) {
    TokenSignal s;
    s.logprob = ev.logprob;
    s.top.reserve(ev.top.size());
    for (const auto& t : ev.top)
        s.top.push_back(t.logprob);
    return s;
}

} // namespace

std::variant<Completion, Status> Router::generate(const Request& req,
                                                  const std::function<bool(const TokenEvent&)>& on_event,
                                                  const std::atomic<bool>* cancel) {
    if (!is_alias(req.model)) return local_.generate(req, on_event, cancel);

    const std::string route = req.route.empty() ? cfg_.default_route : req.route;
    if (route != "auto" && route != "local" && route != "cloud")
        return bad_field("route", "route must be one of auto, local, cloud; got '" + req.route + "'");
    if (cfg_.local_model.empty())
        return Status::error(Code::NotFound,
                             "model '" + req.model + "' is the router, and router.toml names no [router] local_model",
                             "model");

    Turn t{req, req, {}, on_event, cancel};
    t.local.model = cfg_.local_model;
    t.local.route.clear();

    auto count_local = [&](const std::variant<Completion, Status>& r) {
        std::lock_guard lock(impl_->mu);
        if (const auto* c = std::get_if<Completion>(&r)) {
            impl_->stats.requests_local++;
            impl_->stats.local_prompt_tokens += static_cast<uint64_t>(c->prompt_tokens);
            impl_->stats.local_completion_tokens += static_cast<uint64_t>(c->completion_tokens);
            if (!cfg_.upstreams.empty()) {
                const auto& u = cfg_.upstreams.front();
                const double usd =
                    (c->prompt_tokens * u.price_input_per_mtok + c->completion_tokens * u.price_output_per_mtok) / 1e6;
                impl_->stats.spend_avoided_usd += usd;
                impl_->stats.always_cloud_usd += usd;
            }
        }
    };
    // Answers locally from the start (nothing was held back or it was discarded).
    auto run_local = [&](std::string reason) -> std::variant<Completion, Status> {
        t.info.route = "local";
        t.info.reason = std::move(reason);
        auto r = local_.generate(
            t.local, [&](const TokenEvent& ev) { return t.emit(for_client(ev, req)); }, cancel);
        if (auto* c = std::get_if<Completion>(&r)) c->route = t.info;
        count_local(r);
        return r;
    };

    // 1. Local only.
    if (opts_.offline) return run_local("offline (HEARTH_OFFLINE)");
    if (cfg_.upstreams.empty()) return run_local("no upstream configured");
    if (route == "local") return run_local("route pinned to local");
    if (req.prompt && req.raw) return run_local("raw prompt: only the local model takes it");
    if (req.sampling.logprobs) return run_local("logprobs requested: answered where token ids exist");
    if (req.format == engine::OutputFormat::Grammar) return run_local("GBNF grammar: only the local model takes it");
    if (req.think == true) return run_local("think: the upstream body does not carry it; answered locally");
    if (const std::string s = local_only_sampling(req.sampling); !s.empty())
        return run_local("sampling option " + s + " has no upstream equivalent");
    if (!req.sampling.logit_bias.empty()) return run_local("logit_bias refers to local token ids");

    const UpstreamConfig* up = nullptr;
    {
        std::lock_guard lock(impl_->mu);
        if (const std::string d = utc_today(); d != impl_->day) {
            impl_->day = d;
            impl_->spent_today.clear();
        }
        for (const auto& u : cfg_.upstreams)
            if (u.daily_budget <= 0 || impl_->spent_today[u.endpoint.name] < u.daily_budget) {
                up = &u;
                break;
            }
    }
    if (!up) return run_local("daily budget spent on every upstream");

    // 2. Privacy guard: scan everything that could leave.
    privacy::Pseudonymizer pseudo;
    Request outgoing = req;
    std::map<std::string, int> pseudonymized; // entity -> count
    {
        std::vector<std::string*> texts;
        if (outgoing.system) texts.push_back(&*outgoing.system);
        if (outgoing.prompt) texts.push_back(&*outgoing.prompt);
        for (auto& m : outgoing.messages) {
            texts.push_back(&m.content);
            for (auto& c : m.tool_calls) // earlier calls' arguments leave too
                texts.push_back(&c.arguments);
        }
        if (!outgoing.tools.empty()) texts.push_back(&outgoing.tools); // names, descriptions, schemas
        std::vector<std::vector<privacy::Finding>> found(texts.size());
        for (size_t i = 0; i < texts.size(); ++i) { // a scanner failure keeps the request here (fail closed)
            auto f = impl_->scanner.scan(*texts[i]);
            if (!f) return run_local("privacy: the scanner failed (" + f.message() + "), kept local");
            found[i] = std::move(*f);
        }
        std::map<std::string, int> kept;
        for (const auto& fs : found)
            for (const auto& f : fs) {
                const privacy::Action a = cfg_.policy.action(f.entity);
                if (a == privacy::Action::KeepLocal) kept[privacy::entity_name(f.entity)]++;
            }
        if (!kept.empty()) {
            std::string what;
            for (const auto& [name, n] : kept)
                what += (what.empty() ? "" : ", ") + name + " x" + std::to_string(n);
            {
                std::lock_guard lock(impl_->mu);
                impl_->stats.kept_local_privacy++;
            }
            return run_local("privacy: " + what + " must stay local");
        }
        for (size_t i = 0; i < texts.size(); ++i) {
            std::vector<privacy::Finding> to_replace;
            for (const auto& f : found[i])
                if (cfg_.policy.action(f.entity) == privacy::Action::Pseudonymize) {
                    to_replace.push_back(f);
                    pseudonymized[privacy::entity_name(f.entity)]++;
                }
            if (!to_replace.empty()) *texts[i] = pseudo.apply(*texts[i], to_replace);
        }
    }

    // 3./4. Decide.
    std::string why;
    double score = -1;
    if (route == "cloud") {
        why = "route pinned to cloud";
        std::lock_guard lock(impl_->mu);
        impl_->stats.escalations_pinned++;
    } else {
        const DecisionModel& dm = cfg_.decision;
        const PromptInfo pinfo = [&] {
            std::string all;
            if (req.system) all += *req.system + "\n";
            if (req.prompt) all += *req.prompt;
            for (const auto& m : req.messages)
                if (m.role == "user") all += m.content + "\n";
            return prompt_info(all);
        }();
        t.local.sampling.logprobs = true;
        t.local.sampling.top_logprobs = std::max(req.sampling.top_logprobs, dm.top_logprobs);
        std::vector<TokenEvent> held;
        std::vector<TokenSignal> signals;
        bool decided_local = false, escalate = false;
        double decide_s = 0;
        auto decide_cascade = [&] {
            const auto t0 = Clock::now();
            score = cascade_score(dm, pinfo, signals);
            decide_s += std::chrono::duration<double>(Clock::now() - t0).count();
            if (score > dm.cascade.threshold) {
                escalate = true;
                why = "cascade: score " + fixed(score) + " > " + fixed(dm.cascade.threshold) + " after " +
                      std::to_string(signals.size()) + " tokens";
            } else {
                decided_local = true;
                t.info.route = "local";
                t.info.reason = "cascade: score " + fixed(score) + " <= " + fixed(dm.cascade.threshold);
                t.info.score = score;
            }
        };
        auto flush = [&] {
            for (auto& ev : held)
                if (!t.emit(for_client(std::move(ev), req))) return false;
            held.clear();
            return true;
        };
        auto r = local_.generate(
            t.local,
            [&](const TokenEvent& ev) {
                if (decided_local) return t.emit(for_client(ev, req));
                held.push_back(ev);
                if (!ev.text.empty() || ev.token >= 0) signals.push_back(signal_of(ev));
                if (signals.size() == 1 && held.size() == 1) {
                    const auto t0 = Clock::now();
                    score = pre_score(dm, pinfo, signals.front());
                    decide_s += std::chrono::duration<double>(Clock::now() - t0).count();
                    if (score > dm.pre.threshold) {
                        escalate = true;
                        why = "pre-generation: score " + fixed(score) + " > " + fixed(dm.pre.threshold);
                        return false;
                    }
                }
                if (static_cast<int32_t>(signals.size()) >= dm.window) {
                    decide_cascade();
                    if (escalate) return false;
                    return flush();
                }
                return true;
            },
            cancel);
        if (!escalate && !decided_local && std::holds_alternative<Completion>(r) &&
            std::get<Completion>(r).finish != Finish::Cancelled) {
            decide_cascade(); // the answer ended inside the window: judge what there is
            if (decided_local && !flush()) {
                // client gone while flushing: the answer ends here
            }
        }
        {
            std::lock_guard lock(impl_->mu);
            impl_->stats.decisions++;
            impl_->stats.decision_seconds += decide_s;
        }
        if (!escalate) {
            if (auto* c = std::get_if<Completion>(&r)) {
                if (!decided_local) { // failed or cancelled before a decision
                    t.info.route = "local";
                    t.info.reason = "answered locally before the decision";
                }
                c->route = t.info;
            }
            count_local(r);
            return r;
        }
        if (t.client_gone || (cancel && cancel->load())) {
            Completion c;
            c.finish = Finish::Cancelled;
            return c;
        }
        std::lock_guard lock(impl_->mu);
        if (why.starts_with("pre"))
            impl_->stats.escalations_pre++;
        else
            impl_->stats.escalations_cascade++;
    }

    // Escalation. Anything that stops it before text reached the client answers locally instead.
    t.info = RouteInfo{};
    t.info.score = score;
    t.info.upstream = up->endpoint.name;
    t.local = req;
    t.local.model = cfg_.local_model;
    t.local.route.clear();
    auto fall_back = [&](const std::string& what) {
        t.info.score = score;
        t.info.upstream = up->endpoint.name;
        return run_local(why + "; " + what + ", answered locally");
    };

    const std::string body = upstream_body(outgoing, up->endpoint.model);
    const std::vector<std::string> originals = pseudo.originals();
    if (!privacy::egress_clean(body, originals)) {
        {
            std::lock_guard lock(impl_->mu);
            impl_->stats.egress_blocked++;
        }
        return fall_back("egress check found an original sensitive value in the outgoing bytes");
    }
    json rec = {{"kind", "egress"},
                {"upstream", up->endpoint.name},
                {"model", up->endpoint.model},
                {"reason", why},
                {"bytes", body.size()},
                {"sha256",
                 [&] {
                     Sha256 h;
                     h.update(body.data(), body.size());
                     return h.hex();
                 }()},
                {"pseudonymized", pseudonymized}};
    auto egress_hash = impl_->audit->append(rec);
    if (!egress_hash) {
        if (opts_.log) opts_.log("router: " + egress_hash.message());
        return fall_back("the audit log cannot be written");
    }
    if (!pseudonymized.empty()) {
        std::lock_guard lock(impl_->mu);
        impl_->stats.pseudonymized++;
    }

    t.info.route = "cloud";
    t.info.reason = why;
    for (const auto& [entity, n] : pseudonymized)
        t.info.pseudonymized.push_back(entity);
    privacy::StreamRestorer restorer(pseudo);
    std::string text;     // restored, as the client saw it
    std::string raw_text; // as the upstream sent it (placeholders), for capture
    bool emitted = false;
    const auto t0 = Clock::now();
    auto res = upstream::chat(
        up->endpoint, body, true,
        [&](const upstream::Delta& d) {
            if (d.content.empty()) return true;
            raw_text += d.content;
            std::string out = restorer.feed(d.content);
            if (out.empty()) return true;
            text += out;
            if (!req.stream) return true; // held until the upstream is done: a failure can still go local
            emitted = true;
            TokenEvent ev;
            ev.text = std::move(out);
            return t.emit(std::move(ev));
        },
        cancel);
    if (res) {
        const std::string tail = restorer.finish();
        text += tail;
        TokenEvent ev;
        ev.text = req.stream ? tail : text;
        if (!ev.text.empty()) {
            emitted = true;
            t.emit(std::move(ev));
        }
    }
    // The result record: what came of the egress.
    double cost = 0;
    int64_t in_tok = -1, out_tok = -1;
    bool estimated = false;
    if (res) {
        in_tok = res->prompt_tokens;
        out_tok = res->completion_tokens;
        if (in_tok < 0 || out_tok < 0) { // no usage sent: estimate at 4 bytes a token
            estimated = true;
            in_tok = static_cast<int64_t>(body.size() / 4);
            out_tok = static_cast<int64_t>(raw_text.size() / 4);
        }
        cost = (static_cast<double>(in_tok) * up->price_input_per_mtok +
                static_cast<double>(out_tok) * up->price_output_per_mtok) /
               1e6;
    }
    json result = {{"kind", "result"},
                   {"upstream", up->endpoint.name},
                   {"egress", egress_hash ? *egress_hash : ""},
                   {"outcome", res ? "ok" : code_name(res.status().code())},
                   {"seconds", std::chrono::duration<double>(Clock::now() - t0).count()},
                   {"cost_usd", cost}};
    if (res) {
        result["prompt_tokens"] = in_tok;
        result["completion_tokens"] = out_tok;
        if (estimated) result["estimated"] = true;
    }
    if (auto w = impl_->audit->append(result); !w && opts_.log) opts_.log("router: " + w.message());
    {
        std::lock_guard lock(impl_->mu);
        impl_->spent_today[up->endpoint.name] += cost;
        impl_->stats.cloud_spend_usd += cost;
        impl_->stats.always_cloud_usd += cost;
        if (res) {
            impl_->stats.requests_cloud++;
            impl_->stats.cloud_prompt_tokens += static_cast<uint64_t>(std::max<int64_t>(in_tok, 0));
            impl_->stats.cloud_completion_tokens += static_cast<uint64_t>(std::max<int64_t>(out_tok, 0));
        }
    }

    if (!res) {
        if (res.status().code() == Code::Cancelled || t.client_gone) {
            Completion c;
            c.finish = Finish::Cancelled;
            c.text = text;
            c.route = t.info;
            return c;
        }
        if (!emitted) {
            {
                std::lock_guard lock(impl_->mu);
                impl_->stats.fallbacks++;
            }
            return fall_back("upstream " + up->endpoint.name + " failed (" + res.message() + ")");
        }
        return Status::error(Code::Internal, "upstream " + up->endpoint.name +
                                                 " failed after part of the answer was sent: " + res.message());
    }

    if (!opts_.capture_dir.empty()) {
        json line = {{"messages", json::array()}};
        if (outgoing.system) line["messages"].push_back({{"role", "system"}, {"content", *outgoing.system}});
        if (outgoing.prompt) line["messages"].push_back({{"role", "user"}, {"content", *outgoing.prompt}});
        for (const auto& m : outgoing.messages)
            line["messages"].push_back({{"role", m.role}, {"content", m.content}});
        line["messages"].push_back({{"role", "assistant"}, {"content", raw_text}});
        const std::string s = line.dump() + "\n";
        std::lock_guard lock(impl_->capture_mu);
        const std::string path = opts_.capture_dir + "/capture-" + utc_today() + ".jsonl";
        const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
            const bool ok = ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
            ::close(fd);
            if (!ok && opts_.log) opts_.log("router: capture write failed: " + path);
        }
    }

    Completion c;
    c.text = std::move(text);
    c.prompt_tokens = static_cast<int32_t>(std::max<int64_t>(in_tok, 0));
    c.completion_tokens = static_cast<int32_t>(std::max<int64_t>(out_tok, 0));
    c.finish = finish_of(res->finish_reason);
    // The model's calls, with pseudonyms in their arguments restored (as in the text).
    for (const auto& tc : res->tool_calls) {
        privacy::StreamRestorer args(pseudo);
        std::string restored = args.feed(tc.arguments);
        restored += args.finish();
        c.tool_calls.push_back({tc.id, tc.name, std::move(restored)});
    }
    c.first_token_s = res->first_byte_s;
    c.total_s = res->total_s;
    c.generate_s = res->total_s;
    c.route = t.info;
    return c;
}

} // namespace hearth::router
