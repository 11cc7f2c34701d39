// server/embeddings.cpp: the embedding routes of both APIs on Engine::embed.
//
//   POST /v1/embeddings  (OpenAI)  model, input (a string, a list of strings, a list of token ids or a list of
//                                  token-id lists), encoding_format ("float" | "base64": little-endian float32),
//                                  dimensions (Matryoshka models only). Vectors L2-normalized, as OpenAI's.
//   POST /api/embed      (Ollama)  model, input (a string or a list of strings), truncate (default true),
//                                  dimensions, options (num_ctx), keep_alive. Vectors L2-normalized.
//   POST /api/embeddings (Ollama's legacy route) model, prompt, options, keep_alive: one vector, not normalized.
// Every other field is refused with a 400 naming it (nothing is silently ignored).
#include "server/embeddings.h"

#include "server/ollama.h"

#include <algorithm>
#include <cstring>

namespace hearth::server {
namespace {

using nlohmann::json;

std::string base64_floats(const std::vector<float>& v) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes(v.size() * 4, '\0');
    for (size_t i = 0; i < v.size(); ++i) { // little-endian float32, as OpenAI (numpy.frombuffer(..., float32))
        uint32_t u;
        std::memcpy(&u, &v[i], 4);
        for (int b = 0; b < 4; ++b)
            bytes[4 * i + size_t(b)] = char((u >> (8 * b)) & 0xff);
    }
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (size_t i = 0; i < bytes.size(); i += 3) {
        const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) |
                           (i + 1 < bytes.size() ? uint32_t(uint8_t(bytes[i + 1])) << 8 : 0) |
                           (i + 2 < bytes.size() ? uint32_t(uint8_t(bytes[i + 2])) : 0);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
    }
    return out;
}

// `input` as strings or token-id lists. `tokens_ok`: OpenAI's token-id forms are accepted.
std::optional<ApiError> parse_input(const json* in, bool tokens_ok, engine::EmbedRequest& req) {
    const std::string want = tokens_ok ? "a string, a list of strings, a list of token ids or a list of token-id lists"
                                       : "a string or a list of strings";
    if (!in) return ApiError{400, "input is required", "input"};
    if (in->is_string()) {
        req.texts.push_back(in->get<std::string>());
        return std::nullopt;
    }
    if (!in->is_array() || in->empty()) return ApiError{400, "input must be " + want + " (not empty)", "input"};
    auto ids = [](const json& a, std::vector<int32_t>& out) {
        for (const auto& t : a) {
            if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX) return false;
            out.push_back(t.get<int32_t>());
        }
        return !out.empty();
    };
    if (tokens_ok && (*in)[0].is_number()) { // one token-id list
        req.token_inputs.emplace_back();
        if (!ids(*in, req.token_inputs.back())) return ApiError{400, "input must be " + want, "input"};
        return std::nullopt;
    }
    for (const auto& item : *in) {
        if (item.is_string()) {
            req.texts.push_back(item.get<std::string>());
        } else if (tokens_ok && item.is_array()) {
            req.token_inputs.emplace_back();
            if (!ids(item, req.token_inputs.back())) return ApiError{400, "input must be " + want, "input"};
        } else {
            return ApiError{400, "input must be " + want, "input"};
        }
    }
    if (!req.texts.empty() && !req.token_inputs.empty())
        return ApiError{400, "input mixes strings and token ids", "input"};
    return std::nullopt;
}

// options (num_ctx counts; other known options are checked and have no effect on embeddings) and keep_alive.
std::optional<ApiError> parse_ollama_common(const json& body, engine::EmbedRequest& req) {
    if (auto it = body.find("options"); it != body.end() && !it->is_null()) {
        engine::Request gen;
        if (auto e = apply_ollama_options(*it, gen)) return e;
        req.num_ctx = gen.num_ctx;
    }
    if (auto it = body.find("keep_alive"); it != body.end() && !it->is_null()) {
        std::string why;
        auto s = parse_keep_alive(*it, &why);
        if (!s) return ApiError{400, "keep_alive " + why, "keep_alive"};
        req.keep_alive_s = *s;
    }
    return std::nullopt;
}

int64_t nanos(double s) {
    return int64_t(s * 1e9);
}

} // namespace

std::variant<engine::Embeddings, ApiError> run_embed(ApiContext& ctx, const engine::EmbedRequest& req) {
    auto r = ctx.engine.embed(req, nullptr);
    if (auto* st = std::get_if<Status>(&r)) return ApiError{failure_status(st->code()), st->message(), st->field()};
    return std::get<engine::Embeddings>(std::move(r));
}

std::optional<ApiError> parse_openai_embeddings(const json& body, engine::EmbedRequest& req, bool& base64) {
    if (auto e = refuse_unknown_fields(body, {"model", "input", "encoding_format", "dimensions"})) return e;
    Fields f(body);
    auto model = f.string("model");
    auto format = f.string("encoding_format");
    auto dims = f.integer("dimensions", 1, 1 << 20);
    if (!f.ok()) return f.error();
    if (!model || model->empty()) return ApiError{400, "model is required", "model"};
    req.model = *model;
    if (format && *format != "float" && *format != "base64")
        return ApiError{400, "encoding_format must be \"float\" or \"base64\", got \"" + *format + "\"",
                        "encoding_format"};
    base64 = format && *format == "base64";
    if (dims) req.dimensions = int32_t(*dims);
    if (auto e = parse_input(f.get("input"), true, req)) return e;
    for (const auto& t : req.texts)
        if (t.empty()) return ApiError{400, "input must not contain empty strings", "input"};
    return std::nullopt;
}

json openai_embeddings_json(const std::string& model, const engine::Embeddings& e, bool base64) {
    json data = json::array();
    for (size_t i = 0; i < e.vectors.size(); ++i)
        data.push_back({{"object", "embedding"},
                        {"index", i},
                        {"embedding", base64 ? json(base64_floats(e.vectors[i])) : json(e.vectors[i])}});
    return {{"object", "list"},
            {"data", std::move(data)},
            {"model", model},
            {"usage", {{"prompt_tokens", e.prompt_tokens}, {"total_tokens", e.prompt_tokens}}}};
}

std::optional<ApiError> parse_ollama_embed(const json& body, engine::EmbedRequest& req) {
    if (auto e = refuse_unknown_fields(body, {"model", "input", "truncate", "dimensions", "options", "keep_alive"}))
        return e;
    Fields f(body);
    auto model = f.string("model");
    auto truncate = f.boolean("truncate");
    auto dims = f.integer("dimensions", 1, 1 << 20);
    if (!f.ok()) return f.error();
    if (!model || model->empty()) return ApiError{400, "model is required", "model"};
    req.model = *model;
    if (truncate) req.truncate = *truncate;
    if (dims) req.dimensions = int32_t(*dims);
    if (auto e = parse_input(f.get("input"), false, req)) return e;
    return parse_ollama_common(body, req);
}

json ollama_embed_json(const std::string& model, const engine::Embeddings& e) {
    return {{"model", model},
            {"embeddings", e.vectors},
            {"total_duration", nanos(e.total_s)},
            {"load_duration", nanos(e.load_s)},
            {"prompt_eval_count", e.prompt_tokens}};
}

std::optional<ApiError> parse_ollama_legacy(const json& body, engine::EmbedRequest& req) {
    if (auto e = refuse_unknown_fields(body, {"model", "prompt", "options", "keep_alive"})) return e;
    Fields f(body);
    auto model = f.string("model");
    auto prompt = f.string("prompt");
    if (!f.ok()) return f.error();
    if (!model || model->empty()) return ApiError{400, "model is required", "model"};
    if (!prompt) return ApiError{400, "prompt is required", "prompt"};
    req.model = *model;
    req.texts.push_back(*prompt);
    req.normalize = false; // as Ollama's legacy route
    return parse_ollama_common(body, req);
}

} // namespace hearth::server
