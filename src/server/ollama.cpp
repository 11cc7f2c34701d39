// server/ollama.cpp: Ollama's REST API. Inference routes (/api/generate, /api/chat) map Ollama's fields
// and `options` onto engine::Request and stream NDJSON; management routes call the store (list, show,
// pull, delete, copy, create) the way `hearth list/show/pull/rm/cp/create` do.
#include "server/ollama.h"

#include "gguf/gguf.h"
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
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Ollama's "keep forever": 100 years, finite so the engine can do arithmetic with it.
constexpr double kForeverS = 100.0 * 365 * 24 * 3600;

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

HttpResponse failure_response(const engine::Failure& f) {
    return error_response(failure_status(f.kind), f.message);
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

bool is_not_found(const std::string& message) {
    return message.find("not found") != std::string::npos;
}

std::optional<ApiError> need_store(const ApiContext& ctx) {
    if (!ctx.store) return ApiError{503, "this server has no model store", ""};
    return std::nullopt;
}

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
    if (const json* fmt = f.get("format")) {
        if (!(fmt->is_string() && fmt->get<std::string>().empty()))
            return ApiError{400, "format: structured output (\"json\" or a schema) is not supported yet", "format"};
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
    if (const json* tools = f.get("tools"); tools && !(tools->is_array() && tools->empty()))
        return ApiError{400, "tools are not supported yet", "tools"};
    if (!f.ok()) return f.error();
    return std::nullopt;
}

std::optional<ApiError> parse_generate(const ApiContext& ctx, const json& body, InferenceArgs& a) {
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
    if (suffix && !suffix->empty()) return ApiError{400, "suffix (fill-in-the-middle) is not supported yet", "suffix"};
    if (tmpl && !tmpl->empty()) return ApiError{400, "template overrides are not supported yet", "template"};
    a.req.prompt = prompt.value_or("");
    a.req.raw = raw.value_or(false);
    if (system) a.req.system = *system;
    a.empty = a.req.prompt->empty();
    return std::nullopt;
}

std::optional<ApiError> parse_chat(const ApiContext& ctx, const json& body, InferenceArgs& a) {
    a.chat = true;
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
            a.req.messages.push_back({*role, content.value_or("")});
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

json chunk(const InferenceArgs& a, const std::string& text) {
    json j = {{"model", a.model}, {"created_at", now_rfc3339()}};
    if (a.chat)
        j["message"] = {{"role", "assistant"}, {"content", text}};
    else
        j["response"] = text;
    j["done"] = false;
    return j;
}

json final_chunk(const InferenceArgs& a, const engine::Completion& c, const std::string& text) {
    json j = chunk(a, text);
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
        if (auto* f = std::get_if<engine::Failure>(&r)) return failure_response(*f);
        const auto& c = std::get<engine::Completion>(r);
        return json_response(200, final_chunk(a, c, c.text));
    }
    auto pump = std::make_shared<GenerationPump>(ctx.engine, std::vector<engine::Request>{a.req});
    if (auto first = pump->peek(); first && first->end)
        if (auto* f = std::get_if<engine::Failure>(&*first->end)) return failure_response(*f);
    HttpResponse r;
    r.content_type = "application/x-ndjson";
    r.stream = [pump, a = std::move(a)](Stream& out) {
        while (auto item = pump->next()) {
            std::string line;
            if (item->event) {
                if (item->event->text.empty()) continue;
                line = ndjson(chunk(a, item->event->text));
            } else if (auto* f = std::get_if<engine::Failure>(&*item->end)) {
                line = ndjson({{"error", f->message}});
            } else {
                line = ndjson(final_chunk(a, std::get<engine::Completion>(*item->end), ""));
            }
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
    return run_inference(ctx, std::move(a));
}

// ---- store views ----------------------------------------------------------------------------------

json details_json(const store::Manifest& m) {
    const json& c = m.config;
    const std::string arch = c.value("architecture", std::string());
    const uint64_t n_params = c.contains("parameter_count") && c["parameter_count"].is_number_unsigned()
                                  ? c["parameter_count"].get<uint64_t>()
                                  : 0;
    return {{"parent_model", c.value("from", std::string())},
            {"format", c.value("format", std::string("gguf"))},
            {"family", arch},
            {"families", arch.empty() ? json(nullptr) : json::array({arch})},
            {"parameter_size", n_params ? store::human_count(n_params) : std::string()},
            {"quantization_level", c.value("file_type", std::string())}};
}

std::string hex_of(const std::string& digest) {
    return digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
}

HttpResponse handle_tags(const ApiContext& ctx) {
    json models = json::array();
    if (ctx.store) {
        auto list = store::list_models(*ctx.store);
        if (!list) return error_response(500, list.message());
        for (const auto& e : *list) {
            auto m = store::read_manifest(*ctx.store, e.name);
            json details = m ? details_json(*m) : json::object();
            if (details.is_object() && details.value("quantization_level", std::string()).empty())
                details["quantization_level"] = e.quant;
            models.push_back({{"name", e.name.display()},
                              {"model", e.name.display()},
                              {"modified_at", file_time_rfc3339(e.modified)},
                              {"size", e.size},
                              {"digest", hex_of(e.model_digest)},
                              {"details", details}});
        }
    }
    return json_response(200, {{"models", models}});
}

std::string parameters_text(const json& params) {
    std::string s;
    auto value = [](const json& v) { return v.is_string() ? dump_json(v) : v.dump(); };
    for (const auto& [k, v] : params.items()) {
        if (v.is_array())
            for (const auto& item : v)
                s += k + " " + value(item) + "\n";
        else
            s += k + " " + value(v) + "\n";
    }
    return s;
}

json gguf_value(const gguf::Value& v, bool verbose) {
    using gguf::ValueType;
    switch (v.type) {
    case ValueType::U8:
    case ValueType::U16:
    case ValueType::U32:
    case ValueType::U64:
        return v.u;
    case ValueType::BOOL:
        return v.u != 0;
    case ValueType::I8:
    case ValueType::I16:
    case ValueType::I32:
    case ValueType::I64:
        return v.i;
    case ValueType::F32:
    case ValueType::F64:
        return std::isfinite(v.f) ? json(v.f) : json(nullptr);
    case ValueType::STRING:
        return v.str;
    case ValueType::ARRAY: {
        if (!verbose) return nullptr; // as Ollama: large arrays only with "verbose": true
        json arr = json::array();
        for (const auto& item : v.arr)
            arr.push_back(gguf_value(item, verbose));
        return arr;
    }
    }
    return nullptr;
}

HttpResponse handle_show(const ApiContext& ctx, const HttpRequest& http) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    std::string model;
    if (auto e = model_field(body, model)) return error_response(*e);
    Fields f(body);
    const bool verbose = f.boolean("verbose").value_or(false);
    if (!f.ok()) return error_response(*f.error());
    if (auto e = need_store(ctx)) return error_response(*e);
    store::ModelName name;
    if (auto e = store_name(model, "model", name)) return error_response(*e);
    auto r = store::resolve(*ctx.store, name);
    if (!r) {
        if (is_not_found(r.message())) return error_response(404, "model '" + model + "' not found");
        return error_response(500, r.message());
    }
    auto file = gguf::File::open(r->model_path.string());
    if (!file) return error_response(500, "model '" + r->name.display() + "': " + file.message());
    json info = json::object();
    for (const auto& kv : file->metadata())
        info[kv.key] = gguf_value(kv.value, verbose);
    if (!info.contains("general.parameter_count") && r->manifest.config.contains("parameter_count"))
        info["general.parameter_count"] = r->manifest.config["parameter_count"];
    std::optional<std::string> tmpl = r->template_text;
    if (!tmpl)
        if (auto t = file->get_string("tokenizer.chat_template")) tmpl = *t;
    json j = {{"modelfile", store::format_modelfile(*r)},
              {"parameters", parameters_text(r->params)},
              {"template", tmpl.value_or("")},
              {"details", details_json(r->manifest)},
              {"model_info", info},
              {"capabilities", json::array({"completion"})}};
    if (r->system) j["system"] = *r->system;
    if (r->license) j["license"] = *r->license;
    if (!r->messages.empty()) j["messages"] = r->messages;
    if (auto p = store::manifest_path(*ctx.store, r->name)) {
        std::error_code ec;
        const auto t = fs::last_write_time(*p, ec);
        if (!ec) j["modified_at"] = file_time_rfc3339(t);
    }
    return json_response(200, j);
}

HttpResponse handle_ps(const ApiContext& ctx) {
    json models = json::array();
    const auto now = std::chrono::system_clock::now();
    for (const auto& m : ctx.engine.loaded()) {
        json entry = {{"name", m.name}, {"model", m.name},           {"size", m.size_bytes},
                      {"digest", ""},   {"details", json::object()}, {"size_vram", 0}};
        const double secs = std::min(m.expires_in_s, kForeverS);
        entry["expires_at"] = rfc3339(now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                std::chrono::duration<double>(std::max(0.0, secs))),
                                      true);
        if (ctx.store)
            if (auto n = store::parse_name(m.name))
                if (auto man = store::read_manifest(*ctx.store, *n)) {
                    entry["details"] = details_json(*man);
                    for (const auto& l : man->layers)
                        if (l.media_type == store::kMediaModel) entry["digest"] = hex_of(l.digest);
                }
        models.push_back(entry);
    }
    return json_response(200, {{"models", models}});
}

// ---- management -----------------------------------------------------------------------------------

HttpResponse handle_delete(const ApiContext& ctx, const HttpRequest& http) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    std::string model;
    if (auto e = model_field(body, model)) return error_response(*e);
    if (auto e = need_store(ctx)) return error_response(*e);
    store::ModelName name;
    if (auto e = store_name(model, "model", name)) return error_response(*e);
    if (Status s = store::remove_model(*ctx.store, name); !s)
        return is_not_found(s.message()) ? error_response(404, "model '" + model + "' not found")
                                         : error_response(500, s.message());
    HttpResponse r;
    r.body.clear();
    return r;
}

HttpResponse handle_copy(const ApiContext& ctx, const HttpRequest& http) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    Fields f(body);
    const auto source = f.string("source");
    const auto destination = f.string("destination");
    if (!f.ok()) return error_response(*f.error());
    if (!source || source->empty()) return error_response(400, "source is required");
    if (!destination || destination->empty()) return error_response(400, "destination is required");
    if (auto e = need_store(ctx)) return error_response(*e);
    store::ModelName from, to;
    if (auto e = store_name(*source, "source", from)) return error_response(*e);
    if (auto e = store_name(*destination, "destination", to)) return error_response(*e);
    if (Status s = store::copy_model(*ctx.store, from, to); !s)
        return is_not_found(s.message()) ? error_response(404, "model '" + *source + "' not found")
                                         : error_response(500, s.message());
    HttpResponse r;
    r.body.clear();
    return r;
}

HttpResponse handle_pull(const ApiContext& ctx, const HttpRequest& http) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    std::string model;
    if (auto e = model_field(body, model)) return error_response(*e);
    Fields f(body);
    const bool insecure = f.boolean("insecure").value_or(false);
    const bool stream = f.boolean("stream").value_or(true);
    if (!f.ok()) return error_response(*f.error());
    if (auto e = need_store(ctx)) return error_response(*e);
    store::PullOptions opts;
    opts.allow_insecure = insecure;
    if (auto ref = store::parse_pull_ref(model, opts); !ref) return error_response(400, ref.message());
    const store::Store st = *ctx.store;
    if (!stream) {
        auto name = store::pull(st, model, opts);
        if (!name) return error_response(is_not_found(name.message()) ? 404 : 500, name.message());
        return json_response(200, {{"status", "success"}});
    }
    HttpResponse r;
    r.content_type = "application/x-ndjson";
    r.stream = [st, model, opts](Stream& out) mutable {
        // The download runs to its end even if the client leaves (pull has no cancel), but stops writing.
        bool alive = out.write(ndjson({{"status", "pulling manifest"}}));
        opts.on_progress = [&](const store::Progress& p) {
            if (!alive) return;
            json j = {{"status", "pulling " + model}, {"completed", p.done}};
            if (p.total) j["total"] = p.total;
            alive = out.write(ndjson(j));
        };
        auto name = store::pull(st, model, opts);
        if (!alive) return;
        if (!name) {
            out.write(ndjson({{"error", name.message()}}));
            return;
        }
        out.write(ndjson({{"status", "success"}}));
    };
    return r;
}

// Builds the Modelfile of a create request: the legacy "modelfile" text, then the JSON fields over it.
std::optional<ApiError> create_modelfile(const ApiContext& ctx, const json& body, store::Modelfile& mf) {
    Fields f(body);
    const auto text = f.string("modelfile");
    const auto from = f.string("from");
    const auto system = f.string("system");
    const auto tmpl = f.string("template");
    const auto quantize = f.string("quantize");
    if (!f.ok()) return f.error();
    if (quantize && !quantize->empty()) return ApiError{400, "quantize is not supported yet", "quantize"};
    for (const char* k : {"files", "adapters"})
        if (const json* v = f.get(k); v && !v->empty())
            return ApiError{400,
                            std::string(k) + ": uploading blobs is not supported; use \"from\" with a model in "
                                             "the store",
                            k};
    if (text) {
        auto parsed = store::parse_modelfile(*text, "modelfile");
        if (!parsed) return ApiError{400, parsed.message(), "modelfile"};
        mf = std::move(*parsed);
    }
    if (from) mf.from = *from;
    if (system) mf.system = *system;
    if (tmpl) mf.template_text = *tmpl;
    if (const json* lic = f.get("license")) {
        if (lic->is_string()) {
            mf.license = lic->get<std::string>();
        } else if (lic->is_array()) {
            std::string joined;
            for (const auto& l : *lic) {
                if (!l.is_string()) return ApiError{400, "license must be a string or a list of strings", "license"};
                joined += (joined.empty() ? "" : "\n\n") + l.get<std::string>();
            }
            mf.license = joined;
        } else {
            return ApiError{400, "license must be a string or a list of strings", "license"};
        }
    }
    if (const json* params = f.get("parameters")) {
        if (!params->is_object()) return ApiError{400, "parameters must be an object", "parameters"};
        for (const auto& [k, v] : params->items()) {
            const std::string field = "parameters." + k;
            const store::ParameterKey* key = store::find_parameter_key(k);
            if (!key) {
                if (std::find(std::begin(store::kIgnoredParameterKeys), std::end(store::kIgnoredParameterKeys), k) !=
                    std::end(store::kIgnoredParameterKeys))
                    continue;
                return ApiError{400, field + " is not a known parameter", field};
            }
            std::vector<json> values;
            if (k == "stop" && v.is_array())
                values.assign(v.begin(), v.end());
            else
                values.push_back(v);
            json parsed_values = json::array();
            for (const auto& item : values) {
                if (!item.is_string() && !item.is_number())
                    return ApiError{400, field + " must be a number or a string", field};
                auto p = store::parse_parameter(*key, item.is_string() ? item.get<std::string>() : item.dump());
                if (!p) return ApiError{400, field + ": " + p.message(), field};
                parsed_values.push_back(*p);
            }
            mf.params[k] = k == "stop" ? parsed_values : parsed_values[0];
        }
    }
    if (const json* msgs = f.get("messages")) {
        if (!msgs->is_array()) return ApiError{400, "messages must be a list", "messages"};
        json out = json::array();
        for (size_t i = 0; i < msgs->size(); ++i) {
            const std::string at = "messages[" + std::to_string(i) + "].";
            Fields mf_fields((*msgs)[i], at);
            auto role = mf_fields.string("role");
            auto content = mf_fields.string("content");
            if (!mf_fields.ok()) return mf_fields.error();
            if (!role || (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool"))
                return ApiError{400, at + "role must be system, user, assistant or tool", at + "role"};
            out.push_back({{"role", *role}, {"content", content.value_or("")}});
        }
        mf.messages = out;
    }
    if (mf.from.empty()) return ApiError{400, "from is required (the model to build on)", "from"};
    // Over HTTP, FROM names a model in the store: a path would read files on the server.
    auto base = store::parse_name(mf.from);
    if (!base) return ApiError{400, "from must name a model in the store: " + base.message(), "from"};
    auto resolved = store::resolve(*ctx.store, *base);
    if (!resolved) {
        if (is_not_found(resolved.message())) return ApiError{404, "model '" + mf.from + "' not found", "from"};
        return ApiError{500, resolved.message(), "from"};
    }
    return std::nullopt;
}

HttpResponse handle_create(const ApiContext& ctx, const HttpRequest& http) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    std::string model;
    if (auto e = model_field(body, model)) return error_response(*e);
    Fields f(body);
    const bool stream = f.boolean("stream").value_or(true);
    if (!f.ok()) return error_response(*f.error());
    if (auto e = need_store(ctx)) return error_response(*e);
    store::ModelName name;
    if (auto e = store_name(model, "model", name)) return error_response(*e);
    store::Modelfile mf;
    if (auto e = create_modelfile(ctx, body, mf)) return error_response(*e);
    auto m = store::create_model(*ctx.store, name, mf, ctx.store->root);
    if (!m) return error_response(500, m.message());
    if (!stream) return json_response(200, {{"status", "success"}});
    HttpResponse r;
    r.content_type = "application/x-ndjson";
    r.body = ndjson({{"status", "writing manifest"}}) + ndjson({{"status", "success"}});
    return r;
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

std::optional<ApiError> apply_ollama_options(const json& options, engine::Request& req, const std::string& prefix) {
    if (!options.is_object()) return ApiError{400, prefix + " must be an object", prefix};
    for (const auto& [k, v] : options.items()) {
        const store::ParameterKey* key = store::find_parameter_key(k);
        if (!key || v.is_null()) continue; // unknown options are ignored, as Ollama does
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

std::vector<Route> ollama_routes(ApiContext& ctx) {
    ApiContext* c = &ctx;
    return {
        {"POST", "/api/generate", Access::Inference,
         [c](const HttpRequest& r) { return handle_inference(*c, r, false); }},
        {"POST", "/api/chat", Access::Inference, [c](const HttpRequest& r) { return handle_inference(*c, r, true); }},
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
