// server/ollama_store.cpp: the Ollama API's views of the model store (/api/tags, /api/show, /api/ps) and its
// management routes (/api/delete, /api/copy, /api/pull, /api/create), done the way `hearth list/show/rm/cp/
// pull/create` do them.
#include "gguf/gguf.h"
#include "server/ollama_internal.h"
#include "store/human.h"
#include "store/modelfile.h"
#include "store/pull/pull.h"
#include "template/conversation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace hearth::server::ollama_internal {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

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

// `message` with every absolute path ("/home/u/.hearth/blobs/sha256-...") replaced by "<server path>". A
// path starts with '/' at the start of the text or after a space, bracket, quote or '='; it ends at
// whitespace, a quote, a closing bracket, ',' or ';', or a ':' that ends the text or precedes a space.
// URLs ("https://h/p") and model names ("org/model") do not start that way and are kept.
std::string without_paths(const std::string& message) {
    auto starts_path = [&](size_t i) {
        return message[i] == '/' &&
               (i == 0 || std::string_view(" \t\n([{'\"=").find(message[i - 1]) != std::string_view::npos);
    };
    auto ends_path = [&](size_t i) {
        const char c = message[i];
        if (std::string_view(" \t\n'\")]},;").find(c) != std::string_view::npos) return true;
        return c == ':' && (i + 1 == message.size() || message[i + 1] == ' ');
    };
    std::string out;
    for (size_t i = 0; i < message.size();) {
        if (!starts_path(i)) {
            out += message[i++];
            continue;
        }
        while (i < message.size() && !ends_path(i))
            ++i;
        out += "<server path>";
    }
    return out;
}

// A store failure for an HTTP client: store messages name files under $HEARTH_HOME, so the whole message
// goes to the server's log (stderr) and the client gets it without paths.
std::string for_client(const std::string& message) {
    std::fprintf(stderr, "hearth: store error: %s\n", message.c_str());
    return without_paths(message);
}

HttpResponse store_error(int status, const std::string& message) {
    return error_response(status, for_client(message));
}

} // namespace

HttpResponse handle_tags(const ApiContext& ctx) {
    json models = json::array();
    if (ctx.store) {
        auto list = store::list_models(*ctx.store);
        if (!list) return store_error(500, list.message());
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

namespace {

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

} // namespace

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
        if (is_not_found(r.code())) return error_response(404, "model '" + model + "' not found");
        return store_error(500, r.message());
    }
    auto file = gguf::File::open(r->model_path.string());
    if (!file) return store_error(500, "model '" + r->name.display() + "': " + file.message());
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
                      {"digest", ""},   {"details", json::object()}, {"size_vram", m.vram_bytes}};
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
        return is_not_found(s.code()) ? error_response(404, "model '" + model + "' not found")
                                      : store_error(500, s.message());
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
        return is_not_found(s.code()) ? error_response(404, "model '" + *source + "' not found")
                                      : store_error(500, s.message());
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
        if (!name) return store_error(is_not_found(name.code()) ? 404 : 500, name.message());
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
            out.write(ndjson({{"error", for_client(name.message())}}));
            return;
        }
        out.write(ndjson({{"status", "success"}}));
    };
    return r;
}

namespace {

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
        if (is_not_found(resolved.code())) return ApiError{404, "model '" + mf.from + "' not found", "from"};
        return ApiError{500, for_client(resolved.message()), "from"};
    }
    return std::nullopt;
}

} // namespace

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
    // The chat template it will use (its own, inherited, or its GGUF's) must render a sample conversation
    // within the rendering budget: a hostile one is refused before anything is written.
    if (auto t = store::created_template(*ctx.store, mf, ctx.store->root))
        if (Status s = validate_chat_template(t->text, t->from_gguf); !s) return error_response(400, s.message());
    auto m = store::create_model(*ctx.store, name, mf, ctx.store->root);
    if (!m) return store_error(500, m.message());
    if (!stream) return json_response(200, {{"status", "success"}});
    HttpResponse r;
    r.content_type = "application/x-ndjson";
    r.body = ndjson({{"status", "writing manifest"}}) + ndjson({{"status", "success"}});
    return r;
}

} // namespace hearth::server::ollama_internal
