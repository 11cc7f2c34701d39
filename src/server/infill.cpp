// server/infill.cpp: see infill.h.
#include "server/infill.h"

#include "server/ollama.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace hearth::server {
namespace {

using json = nlohmann::json;

// The fields /infill honours (README: "What the llama.cpp endpoints accept"). `model` is hearth's (llama-server
// serves one model); `cache_prompt` is accepted as the behaviour it names (a request's prefix is always reused).
constexpr std::string_view kFields[] = {"model",
                                        "input_prefix",
                                        "input_suffix",
                                        "input_extra",
                                        "prompt",
                                        "n_predict",
                                        "temperature",
                                        "top_k",
                                        "top_p",
                                        "min_p",
                                        "seed",
                                        "stop",
                                        "stream",
                                        "cache_prompt",
                                        "repeat_penalty",
                                        "repeat_last_n",
                                        "presence_penalty",
                                        "frequency_penalty",
                                        "keep_alive"};

json error_json(const ApiError& e) {
    return {{"error",
             {{"code", e.status},
              {"message", e.message},
              {"type", e.status == 400 ? "invalid_request_error" : "server_error"}}}};
}

HttpResponse respond(int status, const json& j) {
    HttpResponse r;
    r.status = status;
    r.body = j.dump();
    return r;
}

std::optional<ApiError> parse(const ApiContext& ctx, const json& body, engine::Request& req, bool& stream) {
    if (auto e = refuse_unknown_fields(body, kFields, std::span<const std::string_view>())) return e;
    Fields f(body);
    const auto model = f.string("model");
    const auto prefix = f.string("input_prefix");
    const auto suffix = f.string("input_suffix");
    const auto prompt = f.string("prompt");
    const auto n_predict = f.integer("n_predict", -1, std::numeric_limits<int32_t>::max());
    const auto seed = f.integer("seed", -1, std::numeric_limits<int64_t>::max());
    (void)f.boolean("cache_prompt");
    stream = f.boolean("stream").value_or(false);
    if (!f.ok()) return f.error();
    if (!model || model->empty()) return ApiError{400, "model is required (the model to complete with)", "model"};
    if (!prefix) return ApiError{400, "input_prefix is required (the text before the cursor)", "input_prefix"};
    if (!suffix) return ApiError{400, "input_suffix is required (the text after the cursor)", "input_suffix"};
    req.model = *model;
    apply_model_defaults(ctx, req);
    req.prompt = *prefix + prompt.value_or(""); // llama.cpp puts `prompt` right after the prefix
    req.suffix = *suffix;
    req.stream = stream;
    if (const json* extra = f.get("input_extra")) {
        if (!extra->is_array())
            return ApiError{400, "input_extra must be a list of {\"filename\", \"text\"}", "input_extra"};
        for (size_t i = 0; i < extra->size(); ++i) {
            const std::string at = "input_extra[" + std::to_string(i) + "].";
            const json& c = (*extra)[i];
            if (!c.is_object()) return ApiError{400, at + " must be an object", "input_extra"};
            if (auto e = refuse_unknown_fields(c, {"filename", "text"}, at)) return e;
            Fields cf(c, at);
            const auto name = cf.string("filename");
            const auto text = cf.string("text");
            if (!cf.ok()) return cf.error();
            if (!text) return ApiError{400, at + "text is required", at + "text"};
            req.fim_files.push_back({name.value_or("file"), *text});
        }
    }
    if (auto e = parse_stop(f, req.stop)) return e;
    // The sampling settings by their Ollama names (the same as llama.cpp's): they replace the model's PARAMETERs.
    for (std::string_view name : kSamplingParameterNames) {
        const json* v = f.get(std::string(name));
        if (!v) continue;
        if (!v->is_number()) return ApiError{400, std::string(name) + " must be a number", std::string(name)};
        set_sampling_parameter(req.sampling, name, v->get<double>());
        req.sampling_set.emplace_back(name);
    }
    if (n_predict && *n_predict >= 0) req.max_tokens = int32_t(*n_predict);
    if (seed && *seed >= 0) {
        req.seed_set = true;
        req.sampling.seed = uint64_t(*seed);
    }
    return std::nullopt;
}

// llama.cpp's stop_type: "eos", "word" (a stop string), "limit" (n_predict or the context), "none".
const char* stop_type(engine::Finish f) {
    switch (f) {
    case engine::Finish::Stop:
        return "eos";
    case engine::Finish::StopString:
        return "word";
    case engine::Finish::Length:
    case engine::Finish::ContextFull:
        return "limit";
    default:
        return "none";
    }
}

json final_json(const engine::Request& req, const engine::Completion& c, const std::string& content) {
    const double gen_ms = c.generate_s * 1000, prompt_ms = c.prompt_s * 1000;
    return {{"content", content},
            {"stop", true},
            {"model", req.model},
            {"tokens_predicted", c.completion_tokens},
            {"tokens_evaluated", c.prompt_tokens},
            {"tokens_cached", c.cached_tokens},
            {"stop_type", stop_type(c.finish)},
            {"truncated", false},
            {"timings",
             {{"prompt_n", c.prompt_tokens - c.cached_tokens},
              {"prompt_ms", prompt_ms},
              {"predicted_n", c.completion_tokens},
              {"predicted_ms", gen_ms},
              {"predicted_per_second", gen_ms > 0 ? c.completion_tokens * 1000.0 / gen_ms : 0.0}}}};
}

HttpResponse handle_infill(ApiContext& ctx, const HttpRequest& http) {
    json body;
    if (auto e = parse_body(http.body, body)) return respond(e->status, error_json(*e));
    engine::Request req;
    bool stream = false;
    if (auto e = parse(ctx, body, req, stream)) return respond(e->status, error_json(*e));
    if (!stream) {
        auto r = ctx.engine.generate(
            req, [](const engine::TokenEvent&) { return true; }, nullptr);
        if (auto* f = std::get_if<Status>(&r))
            return respond(failure_status(f->code()),
                           error_json({failure_status(f->code()), f->message(), f->field()}));
        const auto& c = std::get<engine::Completion>(r);
        return respond(200, final_json(req, c, c.text));
    }
    auto pump = std::make_shared<GenerationPump>(ctx.engine, std::vector<engine::Request>{req});
    if (auto first = pump->peek(); first && first->end)
        if (auto* f = std::get_if<Status>(&*first->end))
            return respond(failure_status(f->code()),
                           error_json({failure_status(f->code()), f->message(), f->field()}));
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.stream = [pump, req](Stream& out) {
        while (auto item = pump->next()) {
            json j;
            if (item->event) {
                if (item->event->text.empty()) continue;
                j = {{"content", item->event->text}, {"stop", false}};
            } else if (auto* f = std::get_if<Status>(&*item->end)) {
                j = error_json({failure_status(f->code()), f->message(), f->field()});
            } else {
                j = final_json(req, std::get<engine::Completion>(*item->end), "");
            }
            if (!out.write("data: " + j.dump() + "\n\n")) {
                pump->cancel();
                return;
            }
        }
    };
    return r;
}

} // namespace

std::vector<Route> infill_routes(ApiContext& ctx) {
    ApiContext* c = &ctx;
    return {{"POST", "/infill", Access::Inference, [c](const HttpRequest& r) { return handle_infill(*c, r); }}};
}

} // namespace hearth::server
