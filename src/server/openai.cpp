// server/openai.cpp: the OpenAI-compatible API. Request fields are type- and range-checked (errors name
// the field, as OpenAI's do) and mapped onto engine::Request; responses use OpenAI's exact object shapes
// (chat.completion, chat.completion.chunk, text_completion, list/model) and SSE framing.
#include "server/openai.h"

#include "server/embeddings.h"
#include "server/ollama.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <random>

namespace hearth::server {
namespace {

using nlohmann::json;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

const char* error_type(int status) {
    switch (status) {
    case 400:
    case 404:
    case 413:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 503:
        return "server_error";
    default:
        return "server_error";
    }
}

json error_json(int status, const std::string& message, const std::string& param) {
    json code = nullptr;
    if (status == 404) code = "model_not_found";
    if (status == 503) code = "server_busy";
    if (status == 413) code = "context_length_exceeded";
    return {{"error",
             {{"message", message},
              {"type", error_type(status)},
              {"param", param.empty() ? json(nullptr) : json(param)},
              {"code", code}}}};
}

HttpResponse json_response(int status, const json& j) {
    HttpResponse r;
    r.status = status;
    r.body = dump_json(j);
    return r;
}

HttpResponse error_response(const ApiError& e) {
    HttpResponse r = json_response(e.status, error_json(e.status, e.message, e.field));
    if (e.status == 503) r.headers.emplace_back("Retry-After", kRetryAfterSeconds);
    return r;
}

ApiError failure_error(const Status& f) {
    return {failure_status(f.code()), f.message(), f.field()};
}

std::string sse(const json& j) {
    return "data: " + dump_json(j) + "\n\n";
}

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string random_id(const char* prefix) {
    std::random_device rd;
    std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string id = prefix;
    for (int i = 0; i < 24; ++i)
        id += kAlphabet[rng() % (sizeof kAlphabet - 1)];
    return id;
}

// ---- requests -----------------------------------------------------------------------------------

struct Parsed {
    bool chat = true;
    std::string model;
    engine::Request base;             // every choice's request, before the per-choice seed
    std::vector<std::string> prompts; // completions: one request per prompt (times n)
    int n = 1;
    bool stream = false;
    bool include_usage = false;
    bool logprobs = false;
    int top_logprobs = 0;
    bool echo = false;
};

std::optional<ApiError> parse_logit_bias(Fields& f, std::vector<std::pair<int32_t, float>>& out) {
    const json* v = f.get("logit_bias");
    if (!v) return std::nullopt;
    if (!v->is_object()) return ApiError{400, "logit_bias must be an object of token id -> bias", "logit_bias"};
    std::vector<std::pair<int32_t, float>> biases;
    for (const auto& [k, b] : v->items()) {
        int64_t id = -1;
        const bool digits = !k.empty() && k.size() <= 10 &&
                            std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits) id = std::stoll(k);
        if (!digits || id > kInt32Max) return ApiError{400, "logit_bias: '" + k + "' is not a token id", "logit_bias"};
        if (!b.is_number() || !std::isfinite(b.get<double>()) || b.get<double>() < -100 || b.get<double>() > 100)
            return ApiError{400, "logit_bias: the bias of token " + k + " must be a number in [-100, 100]",
                            "logit_bias"};
        biases.emplace_back(static_cast<int32_t>(id), b.get<float>());
    }
    out = std::move(biases);
    return std::nullopt;
}

// Chat message content: a string, null, or a list of {"type": "text", "text": ...} parts.
std::optional<ApiError> parse_content(const json& c, const std::string& at, std::string& out) {
    if (c.is_null()) return std::nullopt;
    if (c.is_string()) {
        out = c.get<std::string>();
        return std::nullopt;
    }
    if (!c.is_array()) return ApiError{400, at + " must be a string or a list of content parts", at};
    for (size_t j = 0; j < c.size(); ++j) {
        const std::string pat = at + "[" + std::to_string(j) + "]";
        const json& part = c[j];
        if (!part.is_object()) return ApiError{400, pat + " must be an object", pat};
        Fields pf(part, pat + ".");
        auto type = pf.string("type");
        auto text = pf.string("text");
        if (!pf.ok()) return pf.error();
        if (!type) return ApiError{400, pat + ".type is required", pat + ".type"};
        if (*type != "text")
            return ApiError{400, pat + ".type '" + *type + "' is not supported (only text parts are)", pat + ".type"};
        if (!text) return ApiError{400, pat + ".text is required", pat + ".text"};
        out += *text;
    }
    return std::nullopt;
}

// OpenAI's tool_calls: [{id, type: "function", function: {name, arguments}}]; in stream deltas each has its index.
json tool_calls_json(const std::vector<engine::ToolCall>& calls, bool delta) {
    json out = json::array();
    for (size_t k = 0; k < calls.size(); ++k) {
        json c = {{"id", calls[k].id},
                  {"type", "function"},
                  {"function", {{"name", calls[k].name}, {"arguments", calls[k].arguments}}}};
        if (delta) c["index"] = k;
        out.push_back(std::move(c));
    }
    return out;
}

// An assistant message's tool_calls ([{id, type: "function", function: {name, arguments: "<JSON text>"}}]), a
// tool message's tool_call_id (and name).
std::optional<ApiError> parse_message_tools(const json& m, const std::string& at, engine::Message& msg) {
    Fields mf(m, at + ".");
    if (auto id = mf.string("tool_call_id")) msg.tool_call_id = *id;
    if (auto name = mf.string("name")) msg.name = *name;
    if (!mf.ok()) return mf.error();
    const json* calls = mf.get("tool_calls");
    if (!calls) return std::nullopt;
    const std::string cat = at + ".tool_calls";
    if (msg.role != "assistant") return ApiError{400, cat + " is only allowed in assistant messages", cat};
    if (!calls->is_array()) return ApiError{400, cat + " must be a list", cat};
    for (size_t k = 0; k < calls->size(); ++k) {
        const std::string kat = cat + "[" + std::to_string(k) + "]";
        const json& c = (*calls)[k];
        const json* fn = c.is_object() ? Fields(c).get("function") : nullptr;
        if (!fn || !fn->is_object()) return ApiError{400, kat + ".function is required", kat + ".function"};
        Fields ff(*fn, kat + ".function.");
        auto name = ff.string("name");
        auto args = ff.string("arguments");
        if (!ff.ok()) return ff.error();
        if (!name) return ApiError{400, kat + ".function.name is required", kat + ".function.name"};
        const json parsed = json::parse(args.value_or("{}"), nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object())
            return ApiError{400, kat + ".function.arguments must be a JSON object as a string",
                            kat + ".function.arguments"};
        msg.tool_calls.push_back({c.value("id", std::string()), *name, parsed.dump()});
    }
    return std::nullopt;
}

std::optional<ApiError> parse_messages(const json& body, std::vector<engine::Message>& out) {
    auto it = body.find("messages");
    if (it == body.end() || it->is_null()) return ApiError{400, "messages is required", "messages"};
    if (!it->is_array() || it->empty()) return ApiError{400, "messages must be a non-empty list", "messages"};
    for (size_t i = 0; i < it->size(); ++i) {
        const std::string at = "messages[" + std::to_string(i) + "]";
        const json& m = (*it)[i];
        if (!m.is_object()) return ApiError{400, at + " must be an object", at};
        Fields mf(m, at + ".");
        auto role = mf.string("role");
        if (!mf.ok()) return mf.error();
        if (!role) return ApiError{400, at + ".role is required", at + ".role"};
        if (*role == "developer") role = "system";
        if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool")
            return ApiError{400, at + ".role must be system, developer, user, assistant or tool, got '" + *role + "'",
                            at + ".role"};
        engine::Message msg{*role, ""};
        if (auto c = m.find("content"); c != m.end())
            if (auto e = parse_content(*c, at + ".content", msg.content)) return e;
        if (auto e = parse_message_tools(m, at, msg)) return e;
        out.push_back(std::move(msg));
    }
    return std::nullopt;
}

std::optional<ApiError> parse_prompts(const json& body, std::vector<std::string>& out) {
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null()) return ApiError{400, "prompt is required", "prompt"};
    if (it->is_string()) {
        out.push_back(it->get<std::string>());
        return std::nullopt;
    }
    if (it->is_array() && !it->empty()) {
        for (const auto& p : *it) {
            if (!p.is_string())
                return ApiError{400, "prompt must be a string or a list of strings (token ids are not supported)",
                                "prompt"};
            out.push_back(p.get<std::string>());
        }
        return std::nullopt;
    }
    return ApiError{400, "prompt must be a string or a non-empty list of strings", "prompt"};
}

// response_format: {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name",
// "schema", "strict"?, "description"?}}. The schema's text is taken again from the raw body by the handler,
// in the client's key order (ordered_value). The answer is always held to the schema, whatever `strict` says.
std::optional<ApiError> parse_response_format(const json& rf, engine::Request& req) {
    if (!rf.is_object()) return ApiError{400, "response_format must be an object", "response_format"};
    if (auto e = refuse_unknown_fields(rf, {"type", "json_schema"}, "response_format.")) return e;
    Fields f(rf, "response_format.");
    const auto type = f.string("type");
    if (!f.ok()) return f.error();
    if (!type) return ApiError{400, "response_format.type is required", "response_format.type"};
    if (*type == "text") return std::nullopt;
    if (*type == "json_object") {
        req.format = engine::OutputFormat::JsonObject;
        req.format_field = "response_format";
        return std::nullopt;
    }
    if (*type != "json_schema")
        return ApiError{400, "response_format.type must be one of text, json_object, json_schema; got '" + *type + "'",
                        "response_format.type"};
    const json* js = f.get("json_schema");
    if (!js || !js->is_object())
        return ApiError{400, "response_format.json_schema must be an object with name and schema",
                        "response_format.json_schema"};
    const std::string at = "response_format.json_schema.";
    if (auto e = refuse_unknown_fields(*js, {"name", "schema", "strict", "description"}, at)) return e;
    Fields jf(*js, at);
    const auto name = jf.string("name");
    (void)jf.boolean("strict");
    (void)jf.string("description");
    if (!jf.ok()) return jf.error();
    if (!name || name->empty() || name->size() > 64 || !std::all_of(name->begin(), name->end(), [](char c) {
            return std::isalnum((unsigned char)c) || c == '_' || c == '-';
        }))
        return ApiError{400, at + "name is required: 1-64 of a-z, A-Z, 0-9, _ and -", at + "name"};
    const json* schema = jf.get("schema");
    if (!schema || !(schema->is_object() || schema->is_boolean()))
        return ApiError{400, at + "schema must be a JSON Schema object", at + "schema"};
    req.format = engine::OutputFormat::JsonSchema;
    req.format_spec = schema->dump();
    req.format_field = at + "schema";
    return std::nullopt;
}

// Thinking: OpenAI's reasoning_effort ("none"/"minimal": off, "medium": on; hearth's thinking models think or
// not, so "low" and "high" are refused) and chat_template_kwargs {"enable_thinking": bool} (vLLM, llama.cpp).
std::optional<ApiError> parse_thinking(Fields& f, engine::Request& req) {
    if (auto effort = f.string("reasoning_effort")) {
        if (*effort == "none" || *effort == "minimal")
            req.think = false;
        else if (*effort == "medium")
            req.think = true;
        else
            return ApiError{400,
                            "reasoning_effort '" + *effort +
                                "' is not supported: hearth's thinking models think or not ('medium') or not "
                                "('none'), with no levels between",
                            "reasoning_effort"};
    }
    if (!f.ok()) return f.error();
    if (const json* kw = f.get("chat_template_kwargs")) {
        if (!kw->is_object()) return ApiError{400, "chat_template_kwargs must be an object", "chat_template_kwargs"};
        if (auto e = refuse_unknown_fields(*kw, {"enable_thinking"}, "chat_template_kwargs.")) return e;
        Fields kf(*kw, "chat_template_kwargs.");
        if (auto on = kf.boolean("enable_thinking")) {
            if (req.think && *req.think != *on)
                return ApiError{400, "chat_template_kwargs.enable_thinking contradicts reasoning_effort",
                                "chat_template_kwargs.enable_thinking"};
            req.think = *on;
        }
        if (!kf.ok()) return kf.error();
    }
    return std::nullopt;
}

// llama.cpp's extensions: `grammar` (GBNF text) and `json_schema` (a bare schema), one format per request.
std::optional<ApiError> parse_grammar_fields(Fields& f, engine::Request& req) {
    const auto grammar = f.string("grammar");
    if (!f.ok()) return f.error();
    const json* schema = f.get("json_schema");
    const bool has_grammar = grammar && !grammar->empty(), has_schema = schema && !schema->is_null();
    if (int(has_grammar) + int(has_schema) + int(req.format != engine::OutputFormat::Text) > 1)
        return ApiError{400, "give one of response_format, grammar and json_schema",
                        has_grammar ? "grammar" : "json_schema"};
    if (has_grammar) {
        req.format = engine::OutputFormat::Grammar;
        req.format_spec = *grammar;
        req.format_field = "grammar";
    } else if (has_schema) {
        if (!schema->is_object() && !schema->is_boolean())
            return ApiError{400, "json_schema must be a JSON Schema object", "json_schema"};
        req.format = engine::OutputFormat::JsonSchema;
        req.format_spec = schema->dump();
        req.format_field = "json_schema";
    }
    return std::nullopt;
}

// The fields each endpoint honours (README: "What the OpenAI endpoints accept"); `route`, and llama.cpp's
// `grammar` and `json_schema`, are extensions.
constexpr std::string_view kSharedFields[] = {
    "model",   "max_tokens",     "temperature", "top_p", "seed",     "n",    "presence_penalty", "frequency_penalty",
    "stream",  "stream_options", "user",        "route", "logprobs", "stop", "logit_bias",       "response_format",
    "grammar", "json_schema"};
constexpr std::string_view kChatFields[] = {"reasoning_effort",      "chat_template_kwargs", "messages",
                                            "max_completion_tokens", "top_logprobs",         "tools",
                                            "tool_choice",           "parallel_tool_calls"};
constexpr std::string_view kCompletionFields[] = {"prompt", "echo", "best_of", "suffix"};

std::optional<ApiError> parse_request(const ApiContext& ctx, const json& body, bool chat, Parsed& p) {
    p.chat = chat;
    // The fields each endpoint honours (README: "What the OpenAI endpoints accept"); `route` is hearth's own.
    if (auto e = refuse_unknown_fields(body, kSharedFields,
                                       chat ? std::span<const std::string_view>(kChatFields) : kCompletionFields))
        return e;
    Fields f(body);
    auto model = f.string("model");
    if (!f.ok()) return f.error();
    if (!model || model->empty()) return ApiError{400, "model is required", "model"};
    p.model = *model;
    engine::Request& req = p.base;
    req.model = *model;
    apply_model_defaults(ctx, req);
    if (chat) {
        if (auto e = parse_messages(body, req.messages)) return e;
    } else {
        if (auto e = parse_prompts(body, p.prompts)) return e;
    }

    auto max_tokens = f.integer("max_tokens", 1, kInt32Max);
    if (chat)
        if (auto m = f.integer("max_completion_tokens", 1, kInt32Max)) max_tokens = m;
    auto temperature = f.number("temperature", 0, 2);
    auto top_p = f.number("top_p", 0, 1);
    auto seed = f.integer("seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    auto n = f.integer("n", 1, ctx.max_n);
    auto presence = f.number("presence_penalty", -2, 2);
    auto frequency = f.number("frequency_penalty", -2, 2);
    auto stream = f.boolean("stream");
    auto user = f.string("user"); // accepted, never used or logged
    (void)user;
    if (auto route = f.string("route")) req.route = *route; // hearth: auto | local | cloud (router models)
    std::optional<bool> logprobs;
    std::optional<int64_t> top_logprobs;
    if (chat) {
        logprobs = f.boolean("logprobs");
        top_logprobs = f.integer("top_logprobs", 0, kMaxLogprobs);
    } else {
        top_logprobs = f.integer("logprobs", 0, 5); // legacy: the number of alternatives
        if (top_logprobs) logprobs = true;
    }
    std::optional<bool> echo;
    std::optional<int64_t> best_of;
    std::optional<std::string> suffix;
    if (!chat) {
        echo = f.boolean("echo");
        best_of = f.integer("best_of", 1, ctx.max_n);
        suffix = f.string("suffix");
    }
    if (!f.ok()) return f.error();
    if (const json* so = f.get("stream_options")) {
        if (!so->is_object()) return ApiError{400, "stream_options must be an object", "stream_options"};
        Fields sf(*so, "stream_options.");
        p.include_usage = sf.boolean("include_usage").value_or(false);
        if (!sf.ok()) return sf.error();
    }
    if (chat)
        if (auto e = parse_thinking(f, req)) return e;
    if (const json* rf = f.get("response_format"))
        if (auto e = parse_response_format(*rf, req)) return e;
    if (auto e = parse_grammar_fields(f, req)) return e;
    if (const json* tools = f.get("tools"); tools && !(tools->is_array() && tools->empty())) {
        if (!chat) return ApiError{400, "tools are for /v1/chat/completions", "tools"};
        req.tools = tools->dump();
    }
    if (const json* tc = f.get("tool_choice")) {
        if (tc->is_string() && (*tc == "auto" || *tc == "none" || *tc == "required")) {
            req.tool_choice = *tc == "auto"   ? engine::ToolChoice::Auto
                              : *tc == "none" ? engine::ToolChoice::None
                                              : engine::ToolChoice::Required;
        } else if (tc->is_object() && tc->value("type", std::string()) == "function" && tc->contains("function") &&
                   (*tc)["function"].is_object() && (*tc)["function"].value("name", std::string()) != "") {
            req.tool_choice = engine::ToolChoice::Named;
            req.tool_choice_name = (*tc)["function"]["name"].get<std::string>();
        } else {
            return ApiError{400,
                            "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", "
                            "\"function\": {\"name\": ...}}",
                            "tool_choice"};
        }
    }
    if (auto ptc = f.boolean("parallel_tool_calls")) req.parallel_tool_calls = *ptc;
    if (!f.ok()) return f.error();
    if (suffix && !suffix->empty()) {
        if (p.prompts.size() != 1) return ApiError{400, "suffix takes one prompt (the text before the gap)", "suffix"};
        req.suffix = *suffix;
        if (echo.value_or(false)) return ApiError{400, "echo with suffix is not supported", "echo"};
    }
    if (auto e = parse_stop(f, req.stop)) return e;
    if (auto e = parse_logit_bias(f, req.sampling.logit_bias)) return e;
    if (top_logprobs && *top_logprobs > 0 && chat && !logprobs.value_or(false))
        return ApiError{400, "top_logprobs requires logprobs to be true", "top_logprobs"};

    if (max_tokens) req.max_tokens = static_cast<int32_t>(*max_tokens);
    if (temperature) req.sampling.temperature = static_cast<float>(*temperature);
    if (top_p) req.sampling.top_p = *top_p > 0 ? static_cast<float>(*top_p) : 1e-6f; // 0: only the top token
    if (seed) {
        req.seed_set = true;
        req.sampling.seed = static_cast<uint64_t>(*seed);
    }
    if (presence) req.sampling.presence_penalty = static_cast<float>(*presence);
    if (frequency) req.sampling.frequency_penalty = static_cast<float>(*frequency);
    p.logprobs = logprobs.value_or(false);
    p.top_logprobs = static_cast<int>(top_logprobs.value_or(0));
    req.sampling.logprobs = p.logprobs;
    req.sampling.top_logprobs = p.logprobs ? p.top_logprobs : 0;
    p.n = static_cast<int>(n.value_or(1));
    if (best_of && *best_of != p.n) return ApiError{400, "best_of other than n is not supported", "best_of"};
    p.stream = stream.value_or(false);
    req.stream = p.stream;
    p.echo = echo.value_or(false);
    if (p.include_usage && !p.stream)
        return ApiError{400, "stream_options is only allowed when stream is true", "stream_options"};
    return std::nullopt;
}

// One engine request per choice: for completions, each prompt n times; choice i uses seed + i.
std::vector<engine::Request> choice_requests(const Parsed& p) {
    std::vector<engine::Request> out;
    const size_t n_prompts = p.chat ? 1 : p.prompts.size();
    for (size_t k = 0; k < n_prompts; ++k)
        for (int i = 0; i < p.n; ++i) {
            engine::Request r = p.base;
            if (!p.chat) {
                r.prompt = p.prompts[k]; // completions: the text as it is, no chat template (as OpenAI, llama.cpp)
                r.raw = true;
            }
            if (r.seed_set) r.sampling.seed += static_cast<uint64_t>(out.size());
            out.push_back(std::move(r));
        }
    return out;
}

// ---- responses ----------------------------------------------------------------------------------

json bytes_of(const std::string& s) {
    json b = json::array();
    for (unsigned char c : s)
        b.push_back(static_cast<int>(c));
    return b;
}

// The text of alternative k: the sampled token's text as shown, else the bytes the engine says it stands for.
std::string alt_text(const engine::TokenEvent& ev, size_t k) {
    if (ev.top[k].token == ev.token) return ev.text;
    return k < ev.top_text.size() ? ev.top_text[k] : std::string();
}

// Chat: {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}.
json chat_logprob(const engine::TokenEvent& ev) {
    json top = json::array();
    for (size_t k = 0; k < ev.top.size(); ++k) {
        const std::string text = alt_text(ev, k);
        top.push_back({{"token", text}, {"logprob", ev.top[k].logprob}, {"bytes", bytes_of(text)}});
    }
    return {{"token", ev.text}, {"logprob", ev.logprob}, {"bytes", bytes_of(ev.text)}, {"top_logprobs", top}};
}

// Completions (legacy): parallel lists tokens / token_logprobs / top_logprobs / text_offset.
struct LegacyLogprobs {
    json tokens = json::array(), token_logprobs = json::array(), top = json::array(), offsets = json::array();
    void add(const engine::TokenEvent& ev, size_t offset) {
        tokens.push_back(ev.text);
        token_logprobs.push_back(ev.logprob);
        json alts = json::object();
        for (size_t k = 0; k < ev.top.size(); ++k)
            alts[alt_text(ev, k)] = ev.top[k].logprob;
        top.push_back(alts);
        offsets.push_back(offset);
    }
    json to_json() const {
        return {
            {"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
    }
};

json usage_json(int64_t prompt, int64_t completion) {
    return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

// Accumulates one choice of a non-streamed answer.
struct ChoiceState {
    std::string text;
    json chat_logprobs = json::array();
    LegacyLogprobs legacy;
};

HttpResponse run_blocking(ApiContext& ctx, const Parsed& p) {
    const auto reqs = choice_requests(p);
    json choices = json::array();
    int64_t prompt_tokens = 0, completion_tokens = 0;
    std::optional<engine::RouteInfo> route; // the first choice's, for routed requests
    for (size_t i = 0; i < reqs.size(); ++i) {
        ChoiceState st;
        const std::string prefix = p.echo && reqs[i].prompt ? *reqs[i].prompt : std::string();
        auto on_event = [&](const engine::TokenEvent& ev) {
            if (p.logprobs) {
                if (p.chat)
                    st.chat_logprobs.push_back(chat_logprob(ev));
                else
                    st.legacy.add(ev, prefix.size() + st.text.size());
            }
            st.text += ev.text;
            return true;
        };
        auto r = ctx.engine.generate(reqs[i], on_event, nullptr);
        if (auto* f = std::get_if<Status>(&r)) return error_response(failure_error(*f));
        const auto& c = std::get<engine::Completion>(r);
        if (i % static_cast<size_t>(p.n) == 0) prompt_tokens += c.prompt_tokens;
        completion_tokens += c.completion_tokens;
        if (!route && c.route) route = c.route;
        json choice = {{"index", i}};
        if (p.chat) {
            choice["message"] = {{"role", "assistant"},
                                 {"content", c.text.empty() && !c.tool_calls.empty() ? json(nullptr) : json(c.text)},
                                 {"refusal", nullptr}};
            if (!c.tool_calls.empty()) choice["message"]["tool_calls"] = tool_calls_json(c.tool_calls, false);
            if (!c.reasoning.empty()) choice["message"]["reasoning_content"] = c.reasoning;
            choice["logprobs"] = p.logprobs ? json{{"content", st.chat_logprobs}, {"refusal", nullptr}} : json(nullptr);
        } else {
            choice["text"] = prefix + c.text;
            choice["logprobs"] = p.logprobs ? st.legacy.to_json() : json(nullptr);
        }
        choice["finish_reason"] = c.tool_calls.empty() ? finish_reason(c.finish) : "tool_calls";
        choices.push_back(std::move(choice));
    }
    json j = {{"id", random_id(p.chat ? "chatcmpl-" : "cmpl-")},
              {"object", p.chat ? "chat.completion" : "text_completion"},
              {"created", unix_now()},
              {"model", p.model},
              {"system_fingerprint", nullptr},
              {"choices", choices},
              {"usage", usage_json(prompt_tokens, completion_tokens)}};
    if (route) j["hearth"] = route_json(*route);
    HttpResponse r = json_response(200, j);
    if (route) r.headers.emplace_back("x-hearth-route", route->route);
    return r;
}

// Streams chunks as SSE; every chunk of one response shares its id and created time.
class ChunkWriter {
public:
    ChunkWriter(const Parsed& p, std::optional<engine::RouteInfo> route)
        : p_(p), id_(random_id(p.chat ? "chatcmpl-" : "cmpl-")), created_(unix_now()) {
        if (route) hearth_ = route_json(*route);
    }

    // The first chunk of a routed response carries the `hearth` object (where and why).
    json chunk(json choices) const {
        json j = {{"id", id_},
                  {"object", p_.chat ? "chat.completion.chunk" : "text_completion"},
                  {"created", created_},
                  {"model", p_.model},
                  {"system_fingerprint", nullptr},
                  {"choices", std::move(choices)}};
        if (p_.include_usage) j["usage"] = nullptr;
        if (hearth_) j["hearth"] = std::move(*hearth_), hearth_.reset();
        return j;
    }
    // The first chunk of a chat choice: the role, no content yet.
    std::string role(size_t index) const {
        return sse(chunk(json::array({{{"index", index},
                                       {"delta", {{"role", "assistant"}, {"content", ""}}},
                                       {"logprobs", nullptr},
                                       {"finish_reason", nullptr}}})));
    }
    std::string token(size_t index, const engine::TokenEvent& ev, size_t offset) const {
        json choice = {{"index", index}};
        if (p_.chat) {
            choice["delta"] = {{"content", ev.text}};
            if (!ev.reasoning.empty()) { // a thinking model's reasoning, as llama.cpp and vLLM send it
                choice["delta"]["reasoning_content"] = ev.reasoning;
                if (ev.text.empty()) choice["delta"].erase("content");
            }
            choice["logprobs"] =
                p_.logprobs ? json{{"content", json::array({chat_logprob(ev)})}, {"refusal", nullptr}} : json(nullptr);
        } else {
            choice["text"] = ev.text;
            LegacyLogprobs lp;
            if (p_.logprobs) lp.add(ev, offset);
            choice["logprobs"] = p_.logprobs ? lp.to_json() : json(nullptr);
        }
        choice["finish_reason"] = nullptr;
        return sse(chunk(json::array({choice})));
    }
    std::string text(size_t index, const std::string& t) const { // completions: echoed prompt
        return sse(
            chunk(json::array({{{"index", index}, {"text", t}, {"logprobs", nullptr}, {"finish_reason", nullptr}}})));
    }
    // A chat choice's tool calls, whole, in one delta (the model's calls are read once complete).
    std::string tool_calls(size_t index, const std::vector<engine::ToolCall>& calls) const {
        return sse(chunk(json::array({{{"index", index},
                                       {"delta", {{"tool_calls", tool_calls_json(calls, true)}}},
                                       {"logprobs", nullptr},
                                       {"finish_reason", nullptr}}})));
    }
    std::string finish(size_t index, engine::Finish f, bool called_tools = false) const {
        json choice = {{"index", index}};
        if (p_.chat)
            choice["delta"] = json::object();
        else
            choice["text"] = "";
        choice["logprobs"] = nullptr;
        choice["finish_reason"] = called_tools ? "tool_calls" : finish_reason(f);
        return sse(chunk(json::array({choice})));
    }
    std::string usage(int64_t prompt, int64_t completion) const {
        json j = chunk(json::array());
        j["usage"] = usage_json(prompt, completion);
        return sse(j);
    }

private:
    const Parsed& p_;
    mutable std::optional<json> hearth_;
    std::string id_;
    int64_t created_;
};

HttpResponse run_streaming(ApiContext& ctx, Parsed p) {
    auto reqs = choice_requests(p);
    auto pump = std::make_shared<GenerationPump>(ctx.engine, std::move(reqs));
    // A failure before the first token gets a real status (404, 503, 400), not an error inside a 200 stream.
    std::optional<engine::RouteInfo> route;
    if (auto first = pump->peek(); first) {
        if (first->end)
            if (auto* f = std::get_if<Status>(&*first->end)) return error_response(failure_error(*f));
        if (first->event && first->event->route) route = first->event->route;
        if (first->end)
            if (auto* c = std::get_if<engine::Completion>(&*first->end); c && c->route) route = c->route;
    }
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-cache");
    if (route) r.headers.emplace_back("x-hearth-route", route->route);
    auto parsed = std::make_shared<const Parsed>(std::move(p));
    r.stream = [pump, parsed, route](Stream& out) {
        const Parsed& p = *parsed;
        ChunkWriter w(p, route);
        int64_t prompt_tokens = 0, completion_tokens = 0;
        size_t started = SIZE_MAX; // the choice whose opening chunk was sent last
        size_t offset = 0;         // completions: text offset within the current choice
        auto send = [&](const std::string& s) {
            if (out.write(s)) return true;
            pump->cancel();
            return false;
        };
        while (auto item = pump->next()) {
            const size_t index = item->index;
            if (started != index) {
                started = index;
                offset = 0;
                if (p.chat && !send(w.role(index))) return;
                if (!p.chat && p.echo && parsed->prompts.size() > index / static_cast<size_t>(p.n)) {
                    const std::string& prompt = p.prompts[index / static_cast<size_t>(p.n)];
                    offset = prompt.size();
                    if (!send(w.text(index, prompt))) return;
                }
            }
            if (item->event) {
                if (item->event->text.empty() && item->event->reasoning.empty() && !p.logprobs) continue;
                if (!send(w.token(index, *item->event, offset))) return;
                offset += item->event->text.size();
            } else if (auto* f = std::get_if<Status>(&*item->end)) {
                const ApiError e = failure_error(*f);
                send(sse(error_json(e.status, e.message, e.field)));
                return;
            } else {
                const auto& c = std::get<engine::Completion>(*item->end);
                if (index % static_cast<size_t>(p.n) == 0) prompt_tokens += c.prompt_tokens;
                completion_tokens += c.completion_tokens;
                if (!c.tool_calls.empty() && !send(w.tool_calls(index, c.tool_calls))) return;
                if (!send(w.finish(index, c.finish, !c.tool_calls.empty()))) return;
            }
        }
        if (p.include_usage && !send(w.usage(prompt_tokens, completion_tokens))) return;
        send("data: [DONE]\n\n");
    };
    return r;
}

HttpResponse handle_completion(ApiContext& ctx, const HttpRequest& http, bool chat) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    Parsed p;
    if (auto e = parse_request(ctx, body, chat, p)) return error_response(*e);
    // Schemas and tools in the client's key order (properties come out in it).
    if (!p.base.tools.empty()) p.base.tools = ordered_value(http.body, "/tools");
    if (p.base.format == engine::OutputFormat::JsonSchema)
        p.base.format_spec = ordered_value(
            http.body, p.base.format_field == "json_schema" ? "/json_schema" : "/response_format/json_schema/schema");
    if (!p.stream) return run_blocking(ctx, p);
    return run_streaming(ctx, std::move(p));
}

HttpResponse handle_embeddings(ApiContext& ctx, const HttpRequest& http) {
    json body;
    if (auto e = parse_body(http.body, body)) return error_response(*e);
    engine::EmbedRequest req;
    bool base64 = false;
    if (auto e = parse_openai_embeddings(body, req, base64)) return error_response(*e);
    auto r = run_embed(ctx, req);
    if (auto* e = std::get_if<ApiError>(&r)) return error_response(*e);
    return json_response(200, openai_embeddings_json(req.model, std::get<engine::Embeddings>(r), base64));
}

HttpResponse handle_models(const ApiContext& ctx) {
    json data = json::array();
    std::vector<std::string> seen;
    auto add = [&](const std::string& id, int64_t created) {
        if (std::find(seen.begin(), seen.end(), id) != seen.end()) return;
        seen.push_back(id);
        data.push_back({{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "hearth"}});
    };
    if (ctx.store)
        if (auto list = store::list_models(*ctx.store))
            for (const auto& m : *list) {
                const auto sys = std::chrono::file_clock::to_sys(m.modified);
                add(m.name.display(), std::chrono::duration_cast<std::chrono::seconds>(sys.time_since_epoch()).count());
            }
    for (const auto& m : ctx.engine.loaded())
        add(m.name, unix_now());
    for (const auto& alias : ctx.engine.aliases()) // the router's names ("auto"): usable as any model id
        add(alias, unix_now());
    return json_response(200, {{"object", "list"}, {"data", data}});
}

} // namespace

std::vector<Route> openai_routes(ApiContext& ctx) {
    ApiContext* c = &ctx;
    return {
        {"POST", "/v1/chat/completions", Access::Inference,
         [c](const HttpRequest& r) { return handle_completion(*c, r, true); }},
        {"POST", "/v1/completions", Access::Inference,
         [c](const HttpRequest& r) { return handle_completion(*c, r, false); }},
        {"POST", "/v1/embeddings", Access::Inference, [c](const HttpRequest& r) { return handle_embeddings(*c, r); }},
        {"GET", "/v1/models", Access::Inference, [c](const HttpRequest&) { return handle_models(*c); }},
    };
}

} // namespace hearth::server
