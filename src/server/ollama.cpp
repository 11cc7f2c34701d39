// server/ollama.cpp: Ollama's REST API. Inference routes (/api/generate, /api/chat) map Ollama's fields
// and `options` onto engine::Request and stream NDJSON; the store's views and management routes are in
// ollama_store.cpp; the helpers both use are declared in ollama_internal.h.
#include "server/ollama.h"

#include "gguf/gguf.h"
#include "server/embeddings.h"
#include "server/ollama_internal.h"
#include "store/human.h"
#include "store/modelfile.h"
#include "store/pull/pull.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

namespace hearth::server {
namespace ollama_internal {

using nlohmann::json;
namespace fs = std::filesystem;

std::string rfc3339(std::chrono::system_clock::time_point t, bool nanos) {
    const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
    const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string s = buf;
    if (nanos) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
        std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(ns));
        s += buf;
    }
    return s + "Z";
}

std::string now_rfc3339() {
    return rfc3339(std::chrono::system_clock::now(), true);
}

std::string file_time_rfc3339(fs::file_time_type t) {
    return rfc3339(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(t)), false);
}

HttpResponse json_response(int status, const json& j) {
    HttpResponse r;
    r.status = status;
    r.body = dump_json(j);
    return r;
}

HttpResponse error_response(int status, const std::string& message) {
    HttpResponse r = json_response(status, {{"error", message}});
    if (status == 503) r.headers.emplace_back("Retry-After", kRetryAfterSeconds);
    return r;
}

HttpResponse error_response(const ApiError& e) {
    return error_response(e.status, e.message);
}

HttpResponse failure_response(const Status& f) {
    return error_response(failure_status(f.code()), f.message());
}

std::string ndjson(const json& j) {
    return dump_json(j) + "\n";
}

// The model name of a request: "model", or the older "name".
std::optional<ApiError> model_field(const json& body, std::string& out) {
    Fields f(body);
    auto m = f.string("model");
    if (!m) m = f.string("name");
    if (!f.ok()) return f.error();
    if (!m || m->empty()) return ApiError{400, "model is required", "model"};
    out = *m;
    return std::nullopt;
}

std::optional<ApiError> store_name(const std::string& text, const std::string& field, store::ModelName& out) {
    auto n = store::parse_name(text);
    if (!n) return ApiError{400, field + ": " + n.message(), field};
    out = *n;
    return std::nullopt;
}

bool is_not_found(Code c) {
    return c == Code::NotFound;
}

std::optional<ApiError> need_store(const ApiContext& ctx) {
    if (!ctx.store) return ApiError{503, "this server has no model store", ""};
    return std::nullopt;
}

} // namespace ollama_internal

namespace {

using namespace ollama_internal;

// ---- keep_alive ---------------------------------------------------------------------------------

// Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+, or "0".
std::optional<double> parse_go_duration(const std::string& s) {
    size_t i = 0;
    double sign = 1;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) sign = s[i++] == '-' ? -1 : 1;
    if (s.substr(i) == "0") return 0.0;
    if (i == s.size()) return std::nullopt;
    double total = 0;
    while (i < s.size()) {
        const size_t start = i;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
            ++i;
        const std::string digits = s.substr(start, i - start);
        if (digits.empty() || digits == "." || std::count(digits.begin(), digits.end(), '.') > 1) return std::nullopt;
        const double v = std::strtod(digits.c_str(), nullptr);
        const size_t ustart = i;
        while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.')
            ++i;
        const std::string unit = s.substr(ustart, i - ustart);
        double scale = 0;
        if (unit == "ns")
            scale = 1e-9;
        else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
            scale = 1e-6;
        else if (unit == "ms")
            scale = 1e-3;
        else if (unit == "s")
            scale = 1;
        else if (unit == "m")
            scale = 60;
        else if (unit == "h")
            scale = 3600;
        else
            return std::nullopt;
        total += v * scale;
    }
    if (!std::isfinite(total)) return std::nullopt;
    return sign * total;
}

// ---- options ------------------------------------------------------------------------------------

std::optional<ApiError> option_error(const std::string& prefix, std::string_view key, const std::string& what) {
    const std::string field = prefix + std::string(key);
    return ApiError{400, field + " " + what, field};
}

// Ollama's option values as numbers: ints may come as JSON floats (truncated, as Ollama does).
std::optional<ApiError> option_number(const store::ParameterKey& key, const json& v, const std::string& prefix,
                                      double& out) {
    if (!v.is_number()) return option_error(prefix, key.name, "must be a number, got " + dump_json(v));
    double x = v.get<double>();
    if (v.is_number_unsigned())
        x = static_cast<double>(v.get<uint64_t>());
    else if (v.is_number_integer())
        x = static_cast<double>(v.get<int64_t>());
    if (key.type == "int") x = std::trunc(x);
    if (!std::isfinite(x) || x < key.min || x > key.max) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "must be in [%g, %g], got ", key.min, key.max);
        return option_error(prefix, key.name, buf + dump_json(v));
    }
    out = x;
    return std::nullopt;
}

std::optional<ApiError> option_stop(const json& v, const std::string& prefix, std::vector<std::string>& out) {
    std::vector<std::string> stops;
    if (v.is_string()) {
        stops.push_back(v.get<std::string>());
    } else if (v.is_array()) {
        for (const auto& s : v) {
            if (!s.is_string()) return option_error(prefix, "stop", "must be a string or a list of strings");
            stops.push_back(s.get<std::string>());
        }
    } else {
        return option_error(prefix, "stop", "must be a string or a list of strings");
    }
    std::erase(stops, std::string());
    if (stops.size() > engine::kMaxStop)
        return option_error(prefix, "stop",
                            "has " + std::to_string(stops.size()) + " strings; at most " +
                                std::to_string(engine::kMaxStop) + " are allowed");
    out = std::move(stops);
    return std::nullopt;
}

// ---- inference ----------------------------------------------------------------------------------

struct InferenceArgs {
    std::string model;
    engine::Request req;
    bool stream = true;
    bool chat = false;
    bool empty = false; // no prompt / no messages: load or unload only
};

// Fields /api/generate and /api/chat share: model, options, keep_alive, stream, format.
std::optional<ApiError> parse_common(const ApiContext& ctx, const json& body, InferenceArgs& a) {
    if (auto e = model_field(body, a.model)) return e;
    a.req.model = a.model;
    apply_model_defaults(ctx, a.req);
    Fields f(body);
    if (auto s = f.boolean("stream")) a.stream = *s;
    a.req.stream = a.stream;
    if (auto route = f.string("route")) a.req.route = *route; // hearth: auto | local | cloud (router models)
    if (const json* fmt = f.get("format")) { // "" or null: text; "json": any JSON object; an object: a JSON Schema
        a.req.format_field = "format";
        if (fmt->is_string() && *fmt == "json") {
            a.req.format = engine::OutputFormat::JsonObject;
        } else if (fmt->is_object() || fmt->is_boolean()) {
            a.req.format = engine::OutputFormat::JsonSchema;
            a.req.format_spec = fmt->dump(); // again in the client's key order by the handler
        } else if (!fmt->is_null() && !(fmt->is_string() && fmt->get<std::string>().empty())) {
            return ApiError{400, "format must be \"json\" or a JSON Schema object", "format"};
        }
    }
    if (const json* think = f.get("think")) { // true / false; the levels are gpt-oss's ("medium" is on)
        if (think->is_boolean())
            a.req.think = think->get<bool>();
        else if (think->is_string() && *think == "medium")
            a.req.think = true;
        else
            return ApiError{400,
                            "think must be true or false (hearth's thinking models have no levels; \"medium\" is "
                            "true)",
                            "think"};
    }
    if (const json* opts = f.get("options")) {
        if (!opts->is_object()) return ApiError{400, "options must be an object", "options"};
        if (auto e = apply_ollama_options(*opts, a.req)) return e;
    }
    if (const json* ka = f.get("keep_alive")) {
        std::string why;
        auto s = parse_keep_alive(*ka, &why);
        if (!s) return ApiError{400, "keep_alive " + why, "keep_alive"};
        a.req.keep_alive_s = *s;
    }
    if (const json* tools = f.get("tools"); tools && !(tools->is_array() && tools->empty())) {
        if (!a.chat) return ApiError{400, "tools are for /api/chat", "tools"};
        a.req.tools = tools->dump();
    }
    if (!f.ok()) return f.error();
    return std::nullopt;
}

// Ollama's tool calls: [{"function": {"name", "arguments": {...}}}] (arguments an object, not text).
json ollama_tool_calls(const std::vector<engine::ToolCall>& calls) {
    json out = json::array();
    for (size_t k = 0; k < calls.size(); ++k)
        out.push_back(
            {{"function", {{"index", k}, {"name", calls[k].name}, {"arguments", json::parse(calls[k].arguments)}}}});
    return out;
}

// An assistant message's tool_calls, a tool message's tool_name (or name).
std::optional<ApiError> parse_message_tools(const json& m, const std::string& at, engine::Message& msg) {
    Fields mf(m, at);
    if (auto n = mf.string("tool_name")) msg.name = *n;
    if (auto n = mf.string("name"); n && msg.name.empty()) msg.name = *n;
    if (!mf.ok()) return mf.error();
    const json* calls = mf.get("tool_calls");
    if (!calls) return std::nullopt;
    if (!calls->is_array()) return ApiError{400, at + "tool_calls must be a list", at + "tool_calls"};
    for (size_t k = 0; k < calls->size(); ++k) {
        const std::string kat = at + "tool_calls[" + std::to_string(k) + "].function";
        const json& c = (*calls)[k];
        const json* fn = c.is_object() ? Fields(c).get("function") : nullptr;
        if (!fn || !fn->is_object()) return ApiError{400, kat + " is required", kat};
        Fields ff(*fn, kat + ".");
        auto name = ff.string("name");
        if (!ff.ok()) return ff.error();
        if (!name) return ApiError{400, kat + ".name is required", kat + ".name"};
        json args = json::object();
        if (const json* a = ff.get("arguments")) {
            args = a->is_string() ? json::parse(a->get<std::string>(), nullptr, false) : *a;
            if (args.is_discarded() || !args.is_object())
                return ApiError{400, kat + ".arguments must be an object", kat + ".arguments"};
        }
        msg.tool_calls.push_back({"", *name, args.dump()});
    }
    return std::nullopt;
}

std::optional<ApiError> parse_generate(const ApiContext& ctx, const json& body, InferenceArgs& a) {
    // The fields /api/generate honours (README: "What the Ollama endpoints accept"); `route` is hearth's own.
    if (auto e = refuse_unknown_fields(body, {"model", "prompt", "suffix", "system", "template", "stream", "raw",
                                              "format", "images", "options", "keep_alive", "route", "think"}))
        return e;
    if (const json* ctx_tokens = Fields(body).get("context");
        ctx_tokens && !(ctx_tokens->is_array() && ctx_tokens->empty()))
        return ApiError{400,
                        "context (the deprecated token context of an earlier answer) is not supported; send the "
                        "conversation to /api/chat",
                        "context"};
    if (auto e = parse_common(ctx, body, a)) return e;
    Fields f(body);
    const auto prompt = f.string("prompt");
    const auto system = f.string("system");
    const auto raw = f.boolean("raw");
    const auto suffix = f.string("suffix");
    const auto tmpl = f.string("template");
    if (!f.ok()) return f.error();
    if (const json* images = f.get("images"); images && !(images->is_array() && images->empty()))
        return ApiError{400, "images are not supported: no vision models yet", "images"};
    if (suffix && !suffix->empty()) a.req.suffix = *suffix; // fill-in-the-middle with the model's FIM tokens
    if (tmpl && !tmpl->empty()) return ApiError{400, "template overrides are not supported yet", "template"};
    a.req.prompt = prompt.value_or("");
    a.req.raw = raw.value_or(false);
    if (system) a.req.system = *system;
    a.empty = a.req.prompt->empty();
    return std::nullopt;
}

std::optional<ApiError> parse_chat(const ApiContext& ctx, const json& body, InferenceArgs& a) {
    a.chat = true;
    if (auto e = refuse_unknown_fields(
            body, {"model", "messages", "stream", "format", "options", "keep_alive", "tools", "route", "think"}))
        return e;
    if (auto e = parse_common(ctx, body, a)) return e;
    Fields f(body);
    const json* msgs = f.get("messages");
    if (msgs && !msgs->is_array()) return ApiError{400, "messages must be a list", "messages"};
    if (msgs) {
        for (size_t i = 0; i < msgs->size(); ++i) {
            const json& m = (*msgs)[i];
            const std::string at = "messages[" + std::to_string(i) + "].";
            if (!m.is_object()) return ApiError{400, "messages[" + std::to_string(i) + "] must be an object", at};
            Fields mf(m, at);
            auto role = mf.string("role");
            auto content = mf.string("content");
            if (!mf.ok()) return mf.error();
            if (!role) return ApiError{400, at + "role is required", at + "role"};
            if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool")
                return ApiError{400, at + "role must be system, user, assistant or tool, got '" + *role + "'",
                                at + "role"};
            if (const json* im = mf.get("images"); im && !(im->is_array() && im->empty()))
                return ApiError{400, at + "images are not supported: no vision models yet", at + "images"};
            engine::Message msg{*role, content.value_or("")};
            if (auto e = parse_message_tools(m, at, msg)) return e;
            a.req.messages.push_back(std::move(msg));
        }
    }
    a.empty = a.req.messages.empty();
    return std::nullopt;
}

json timings(const engine::Completion& c) {
    auto ns = [](double s) { return static_cast<int64_t>(std::llround(s * 1e9)); };
    return {{"total_duration", ns(c.total_s)},      {"load_duration", ns(c.load_s)},
            {"prompt_eval_count", c.prompt_tokens}, {"prompt_eval_duration", ns(c.prompt_s)},
            {"eval_count", c.completion_tokens},    {"eval_duration", ns(c.generate_s)}};
}

// A line of the answer; a thinking model's reasoning goes in message.thinking (chat) or thinking (generate).
json chunk(const InferenceArgs& a, const std::string& text, const std::string& thinking = {}) {
    json j = {{"model", a.model}, {"created_at", now_rfc3339()}};
    if (a.chat) {
        j["message"] = {{"role", "assistant"}, {"content", text}};
        if (!thinking.empty()) j["message"]["thinking"] = thinking;
    } else {
        j["response"] = text;
        if (!thinking.empty()) j["thinking"] = thinking;
    }
    j["done"] = false;
    return j;
}

json final_chunk(const InferenceArgs& a, const engine::Completion& c, const std::string& text, bool with_calls = true) {
    json j = chunk(a, text, with_calls ? c.reasoning : std::string());
    if (a.chat && with_calls && !c.tool_calls.empty()) j["message"]["tool_calls"] = ollama_tool_calls(c.tool_calls);
    j["done"] = true;
    j["done_reason"] = finish_reason(c.finish);
    j.update(timings(c));
    return j;
}

HttpResponse run_inference(ApiContext& ctx, InferenceArgs a) {
    if (a.empty) {
        // As Ollama: nothing to generate. keep_alive 0 unloads; otherwise the model loads on first use.
        const bool unload = a.req.keep_alive_s == 0;
        if (unload) ctx.engine.unload(a.model);
        json j = {{"model", a.model}, {"created_at", now_rfc3339()}};
        if (a.chat)
            j["message"] = {{"role", "assistant"}, {"content", ""}};
        else
            j["response"] = "";
        j["done"] = true;
        j["done_reason"] = unload ? "unload" : "load";
        return json_response(200, j);
    }
    if (!a.stream) {
        auto r = ctx.engine.generate(
            a.req, [](const engine::TokenEvent&) { return true; }, nullptr);
        if (auto* f = std::get_if<Status>(&r)) return failure_response(*f);
        const auto& c = std::get<engine::Completion>(r);
        json j = final_chunk(a, c, c.text);
        if (c.route) j["hearth"] = route_json(*c.route);
        HttpResponse resp = json_response(200, j);
        if (c.route) resp.headers.emplace_back("x-hearth-route", c.route->route);
        return resp;
    }
    auto pump = std::make_shared<GenerationPump>(ctx.engine, std::vector<engine::Request>{a.req});
    std::optional<engine::RouteInfo> route;
    if (auto first = pump->peek(); first) {
        if (first->end)
            if (auto* f = std::get_if<Status>(&*first->end)) return failure_response(*f);
        if (first->event && first->event->route) route = first->event->route;
        if (first->end)
            if (auto* c = std::get_if<engine::Completion>(&*first->end); c && c->route) route = c->route;
    }
    HttpResponse r;
    r.content_type = "application/x-ndjson";
    if (route) r.headers.emplace_back("x-hearth-route", route->route);
    r.stream = [pump, a = std::move(a), route](Stream& out) {
        bool first_line = true; // a routed answer's first line carries the `hearth` object
        while (auto item = pump->next()) {
            json j;
            if (item->event) {
                if (item->event->text.empty() && item->event->reasoning.empty()) continue;
                j = chunk(a, item->event->text, item->event->reasoning);
            } else if (auto* f = std::get_if<Status>(&*item->end)) {
                j = {{"error", f->message()}};
            } else {
                const auto& c = std::get<engine::Completion>(*item->end);
                if (a.chat && !c.tool_calls.empty()) { // the calls in a chunk of their own, as Ollama sends them
                    json calls = chunk(a, "");
                    calls["message"]["tool_calls"] = ollama_tool_calls(c.tool_calls);
                    if (first_line && route) calls["hearth"] = route_json(*route);
                    first_line = false;
                    if (!out.write(ndjson(calls))) {
                        pump->cancel();
                        return;
                    }
                }
                j = final_chunk(a, c, "", false);
            }
            if (first_line && route) j["hearth"] = route_json(*route);
            first_line = false;
            const std::string line = ndjson(j);
            if (!out.write(line)) {
                pump->cancel();
                return;
            }
        }
    };
    return r;
}

HttpResponse handle_inference(ApiContext& ctx, const HttpRequest& http, bool chat) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    InferenceArgs a;
    if (auto e = chat ? parse_chat(ctx, body, a) : parse_generate(ctx, body, a)) return error_response(*e);
    // Schemas and tools in the client's key order (properties come out in it).
    if (a.req.format == engine::OutputFormat::JsonSchema) a.req.format_spec = ordered_value(http.body, "/format");
    if (!a.req.tools.empty()) a.req.tools = ordered_value(http.body, "/tools");
    return run_inference(ctx, std::move(a));
}

} // namespace

// ---- public -----------------------------------------------------------------------------------------

std::optional<double> parse_keep_alive(const json& value, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<double> {
        if (error) *error = why;
        return std::nullopt;
    };
    double s = 0;
    if (value.is_number()) {
        s = value.get<double>();
        if (!std::isfinite(s)) return fail("must be a finite number of seconds");
    } else if (value.is_string()) {
        auto d = parse_go_duration(value.get<std::string>());
        if (!d)
            return fail("must be a duration like \"5m\", \"1h30m\", \"0\" or a number of seconds, got " +
                        dump_json(value));
        s = *d;
    } else {
        return fail("must be a duration string or a number of seconds");
    }
    return s < 0 || s > kForeverS ? kForeverS : s;
}

namespace {
// An option hearth has no setting for: fine when it cannot change the answer (hardware and memory hints, or
// a sampler left at its neutral value), else refused naming it. Ollama ignores unknown options; hearth does not
// pretend to honour them.
std::optional<ApiError> option_not_honoured(const json& options, const std::string& k, const json& v,
                                            const std::string& prefix) {
    static constexpr std::string_view kNoEffect[] = {"numa",     "num_batch", "num_gpu",   "main_gpu",
                                                     "low_vram", "use_mmap",  "use_mlock", "f16_kv"};
    if (std::find(std::begin(kNoEffect), std::end(kNoEffect), k) != std::end(kNoEffect)) return std::nullopt;
    auto is = [&](double neutral) { return v.is_number() && v.get<double>() == neutral; };
    if ((k == "mirostat" && is(0)) || (k == "typical_p" && is(1)) || (k == "tfs_z" && is(1))) return std::nullopt;
    const bool mirostat_on =
        options.contains("mirostat") && options["mirostat"].is_number() && options["mirostat"].get<double>() != 0;
    if ((k == "mirostat_tau" || k == "mirostat_eta") && !mirostat_on) return std::nullopt; // only used by mirostat
    const std::string field = prefix + k;
    return ApiError{400, field + " is not supported: hearth does not implement it (it would change the answer)", field};
}
} // namespace

std::optional<ApiError> apply_ollama_options(const json& options, engine::Request& req, const std::string& prefix) {
    if (!options.is_object()) return ApiError{400, prefix + " must be an object", prefix};
    for (const auto& [k, v] : options.items()) {
        const store::ParameterKey* key = store::find_parameter_key(k);
        if (v.is_null()) continue;
        if (!key) {
            if (auto e = option_not_honoured(options, k, v, prefix)) return e;
            continue;
        }
        if (k == "stop") {
            if (auto e = option_stop(v, prefix, req.stop)) return e;
            continue;
        }
        double x = 0;
        if (auto e = option_number(*key, v, prefix, x)) return e;
        if (set_sampling_parameter(req.sampling, k, x)) continue;
        if (k == "num_ctx")
            req.num_ctx = static_cast<int32_t>(x);
        else if (k == "num_predict")
            req.max_tokens = x < 0 ? -1 : static_cast<int32_t>(x);
        else if (k == "seed") {
            // Ollama: a negative seed means a random one. JSON integers keep full precision here.
            const int64_t seed =
                v.is_number_integer()
                    ? (v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>())
                    : static_cast<int64_t>(x);
            req.seed_set = seed >= 0;
            if (seed >= 0) req.sampling.seed = static_cast<uint64_t>(seed);
        }
        // num_thread: the engine owns its threads.
    }
    return std::nullopt;
}

void apply_model_defaults(const ApiContext& ctx, engine::Request& req) {
    // The adapters merge the model's PARAMETERs here, before the client's own fields; the engine must not
    // apply them again over what the client sent, so every sampling setting counts as given.
    req.sampling_set.assign(std::begin(kSamplingParameterNames), std::end(kSamplingParameterNames));
    if (!ctx.store) return;
    auto name = store::parse_name(req.model);
    if (!name) return;
    auto r = store::resolve(*ctx.store, *name);
    if (!r || !r->params.is_object()) return;
    // Stored parameters were checked when the model was created; one that no longer passes is skipped.
    for (const auto& [k, v] : r->params.items()) {
        engine::Request trial = req;
        if (!apply_ollama_options(json{{k, v}}, trial, "")) req = std::move(trial);
    }
}

namespace {

using namespace ollama_internal;

// /api/embed (legacy: /api/embeddings, one vector under "embedding", not normalized).
HttpResponse handle_embed(ApiContext& ctx, const HttpRequest& http, bool legacy) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    engine::EmbedRequest req;
    if (auto e = legacy ? parse_ollama_legacy(body, req) : parse_ollama_embed(body, req)) return error_response(*e);
    auto r = run_embed(ctx, req);
    if (auto* e = std::get_if<ApiError>(&r)) return error_response(*e);
    const auto& emb = std::get<engine::Embeddings>(r);
    if (legacy) return json_response(200, {{"embedding", emb.vectors.at(0)}});
    return json_response(200, ollama_embed_json(req.model, emb));
}

} // namespace

std::vector<Route> ollama_routes(ApiContext& ctx) {
    ApiContext* c = &ctx;
    return {
        {"POST", "/api/generate", Access::Inference,
         [c](const HttpRequest& r) { return handle_inference(*c, r, false); }},
        {"POST", "/api/chat", Access::Inference, [c](const HttpRequest& r) { return handle_inference(*c, r, true); }},
        {"POST", "/api/embed", Access::Inference, [c](const HttpRequest& r) { return handle_embed(*c, r, false); }},
        {"POST", "/api/embeddings", Access::Inference, [c](const HttpRequest& r) { return handle_embed(*c, r, true); }},
        {"GET", "/api/tags", Access::Inference, [c](const HttpRequest&) { return handle_tags(*c); }},
        {"POST", "/api/show", Access::Inference, [c](const HttpRequest& r) { return handle_show(*c, r); }},
        {"GET", "/api/ps", Access::Inference, [c](const HttpRequest&) { return handle_ps(*c); }},
        {"GET", "/api/version", Access::Inference,
         [c](const HttpRequest&) {
             return json_response(200, {{"version", c->version}});
         }},
        {"POST", "/api/pull", Access::Management, [c](const HttpRequest& r) { return handle_pull(*c, r); }},
        {"DELETE", "/api/delete", Access::Management, [c](const HttpRequest& r) { return handle_delete(*c, r); }},
        {"POST", "/api/copy", Access::Management, [c](const HttpRequest& r) { return handle_copy(*c, r); }},
        {"POST", "/api/create", Access::Management, [c](const HttpRequest& r) { return handle_create(*c, r); }},
    };
}

} // namespace hearth::server
