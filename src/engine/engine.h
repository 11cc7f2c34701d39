// engine/engine.h: the Engine interface the server (and later the router) calls. A request names a model
// and carries a conversation (or a raw prompt) and sampling settings; the engine streams token events
// back and returns a summary. LocalEngine (local_engine.h) runs models on this machine; a CloudEngine
// will implement the same interface over HTTP.
//
// Threading: generate() may be called from many threads at once (one per HTTP request); it blocks the
// calling thread until the request is done, calling on_event on that thread as tokens arrive. The prompt
// is rendered and tokenized on the calling thread; all model work happens on the engine's own inference
// thread.
#pragma once

#include "base/status.h"
#include "hearth/finish.h"
#include "hearth/runtime.h"
#include "sampling/sampling.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hearth::engine {

// A call of one of the request's tools, as the model wrote it (or, in a message, as an earlier turn did).
struct ToolCall {
    std::string id;        // "call_..." (made by the engine for the model's calls)
    std::string name;      // one of the request's tools
    std::string arguments; // a JSON object, compact text
};

struct Message {
    std::string role; // system, user, assistant, tool
    std::string content;
    std::vector<ToolCall> tool_calls = {}; // assistant: the calls it made
    std::string tool_call_id = {};         // tool: the call this result answers
    std::string name = {};                 // tool: the function's name
};

// tool_choice: whether and which tools the model may call.
enum class ToolChoice { Auto, None, Required, Named };

enum class OutputFormat { Text, JsonObject, JsonSchema, Grammar };

struct Request {
    std::string model;                 // store name, path to a .gguf, or HF reference (as `hearth run` takes)
    std::vector<Message> messages;     // chat: rendered with the model's template (or `template_override`)
    std::optional<std::string> prompt; // completion: this text instead of messages
    bool raw = false;                  // completion: no template at all (else the prompt is one user turn)
    // Fill-in-the-middle: the text after the gap; `prompt` is the text before it. The model's FIM tokens frame
    // them (prefix, suffix, middle; no template) and the answer is the middle. A model without them refuses.
    std::optional<std::string> suffix;
    // Fill-in-the-middle with other files of the project as context (llama.cpp's /infill input_extra): each
    // as <|file_sep|>NAME\nTEXT after <|repo_name|>, before the prefix. Needs the model's file-separator token.
    struct FimFile {
        std::string name, text;
    };
    std::vector<FimFile> fim_files;
    std::optional<std::string> system; // replaces the model's SYSTEM (chat and templated prompts)
    SamplingParams sampling;           // validated by the engine (errors name the field)
    bool seed_set = false;             // else a random seed per request
    int32_t max_tokens = -1;           // -1: until end of turn or a full context
    std::vector<std::string> stop;     // at most kMaxStop strings
    int32_t num_ctx = 0;               // 0: the model's PARAMETER num_ctx, else its training context (<= 4096)
    double keep_alive_s = -1;          // < 0: the engine's default; 0: unload after this request; inf: never
    bool add_generation_prompt = true;
    // Completion from token ids (local engines; `hearth generate`): fed as they are, no template, no BOS.
    std::vector<int32_t> prompt_tokens;
    bool end_at_eog = true; // false: an end-of-generation token does not end the answer (`hearth generate`)
    // Ollama names of the sampling settings the client gave ("temperature", "top_k", "top_p", "min_p",
    // "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty"): the model's PARAMETER
    // values (ModelSpec::params_json) replace the others. max_tokens < 0, num_ctx 0, an empty stop list
    // and !seed_set likewise take the model's num_predict, num_ctx, stop and seed.
    std::vector<std::string> sampling_set;
    // Tools the model may call: a JSON array of OpenAI tool objects ({"type": "function", "function": {"name",
    // "description", "parameters"}}), checked by the engine; "" for none. The model's chat template must teach a
    // tool-call syntax (toolcall/toolcall.h); its calls come back in Completion::tool_calls, not as text.
    std::string tools;
    ToolChoice tool_choice = ToolChoice::Auto;
    std::string tool_choice_name;    // Named: the function
    bool parallel_tool_calls = true; // false: at most one call per answer
    // Structured output: the answer must match a format (constrained decoding, grammar/). JsonObject: any JSON
    // object; JsonSchema: a document valid against the schema in `format_spec` (JSON text; its key order is the
    // order properties come out in); Grammar: the GBNF grammar in `format_spec`. The engine compiles it before
    // queueing; a fault is a BadField naming `format_field` (the client's name for the field, e.g.
    // "response_format.json_schema.schema") and the place in it. Not with tool_choice required or named
    // (which constrain the answer to a call themselves).
    OutputFormat format = OutputFormat::Text;
    std::string format_spec;
    std::string format_field = "format";
    // Thinking (reasoning models: toolcall/reasoning.h): unset, the model's default (it thinks if it can); true
    // asks a model that can think to (a model without a thinking mode refuses); false asks it not to (a model
    // that always thinks refuses). The thinking comes back apart from the answer: TokenEvent::reasoning,
    // Completion::reasoning.
    std::optional<bool> think;
    // Where a request to a router may be answered (see router/router.h): "" or "auto" lets the router
    // decide, "local" keeps it on this machine, "cloud" asks for the configured upstream (policy may still
    // keep it local). An engine that is not a router refuses "cloud".
    std::string route;
    // The client reads the answer as it comes (SSE, NDJSON). When false, a router holds an upstream's
    // answer until it is complete, so a failure half-way can still be answered locally.
    bool stream = false;
};
inline constexpr size_t kMaxStop = 16;

// Where a routed request was answered and why (routers only; see router/router.h).
struct RouteInfo {
    std::string route = "local";            // "local" or "cloud"
    std::string reason;                     // e.g. "cascade: score 0.71 >= 0.55", "privacy: email kept local"
    double score = -1;                      // the decision score when one was computed, else -1
    std::string upstream;                   // the upstream's name when cloud (or when a cloud attempt fell back)
    std::vector<std::string> pseudonymized; // cloud: the entity types replaced by pseudonyms before sending
};

struct TokenEvent {
    std::string text; // valid UTF-8, possibly empty (a token that completes no character yet)
    int32_t token = -1;
    float logprob = 0;                 // when sampling.logprobs
    std::vector<TokenLogprob> top;     // when sampling.top_logprobs > 0
    std::vector<std::string> top_text; // (top.size()) the bytes each alternative stands for (local engines)
    std::string reasoning;             // a thinking model's reasoning (then `text` is the answer's part)
    std::optional<RouteInfo> route;    // routers: on the first event of a request
};

using hearth::Finish; // hearth/finish.h: one end-reason type for the decode step, engines, CLI and server
using hearth::finish_name;

struct Completion {
    std::string text;
    int32_t prompt_tokens = 0, completion_tokens = 0;
    int32_t cached_tokens = 0;  // of prompt_tokens, reused from an earlier request's cache (not fed again)
    int32_t context_tokens = 0; // the context the request ran in (local engines; 0 when unknown)
    Finish finish = Finish::Stop;
    double load_s = 0, prompt_s = 0, generate_s = 0, first_token_s = 0, total_s = 0;
    std::optional<RouteInfo> route;   // routers only
    std::vector<ToolCall> tool_calls; // the model's calls of the request's tools (the text holds the rest)
    std::string reasoning;            // a thinking model's reasoning (not in `text`)
};

// Embeddings (the server's /v1/embeddings, /api/embed, /api/embeddings; `hearth embed`): one vector per input,
// the model's final hidden states pooled as its metadata says (hearth/embedding.h: mean, CLS or last token; a
// generative model without a declared pooling gets its last token's, after the final norm). The inputs of one
// request share batched passes on the engine's inference thread, queued with the generation requests.
struct EmbedRequest {
    std::string model;
    std::vector<std::string> texts;                 // tokenized with the model's tokenizer (its BOS/EOS/SEP)
    std::vector<std::vector<int32_t>> token_inputs; // or token ids, fed as they are (not both)
    bool truncate = true;  // an input longer than the context is cut to it; false: Code::ContextFull
    bool normalize = true; // L2-normalize each vector (Ollama's legacy /api/embeddings does not)
    // > 0: vectors cut to this many dimensions, then normalized: only for Matryoshka-trained models
    // (ModelInfo::matryoshka) or the model's own width; otherwise a BadField error naming `dimensions`.
    int32_t dimensions = 0;
    int32_t num_ctx = 0;      // 0: the model's PARAMETER num_ctx, else its training context (<= max_default_ctx)
    double keep_alive_s = -1; // as Request::keep_alive_s
};
inline constexpr size_t kMaxEmbedInputs = 2048;

struct Embeddings {
    std::vector<std::vector<float>> vectors; // (n_inputs, n_embd)
    int32_t prompt_tokens = 0;               // every input's tokens (after truncation)
    Pooling pooling = Pooling::Last;
    bool matryoshka = false; // the model was trained so that a prefix of its vector is an embedding too
    double load_s = 0, total_s = 0;
};

// What a model name resolves to (the server builds this from the store; see store/resolve.h).
struct ModelSpec {
    std::string name; // display name
    std::string path; // the GGUF file
    std::optional<std::string> template_text, system;
    std::string params_json = "{}"; // PARAMETER values (Ollama names)
    std::vector<Message> messages;  // MESSAGE history
};
using Resolver = std::function<hearth::Result<ModelSpec>(const std::string& name)>;

struct LoadedModel {
    std::string name; // as requested
    std::string path;
    uint64_t size_bytes = 0; // weights + sessions (host and GPU memory)
    double expires_in_s = 0;
    hearth::ModelInfo info = {}; // local models: architecture, sizes
    std::string kernels = {};    // local models: the kernels' instruction set
    int n_threads = 0;
    int32_t gpu_layers = 0;  // local models: layers on a GPU
    uint64_t vram_bytes = 0; // local models: of size_bytes, what is in the GPU's memory (Ollama's size_vram)
};

// Counters for /metrics (monotonic totals since start, plus current gauges).
struct Stats {
    uint64_t requests = 0, failures = 0, rejected_busy = 0;
    uint64_t prompt_tokens = 0, completion_tokens = 0;
    double prompt_seconds = 0, generate_seconds = 0;
    std::vector<double> ttft_buckets_s = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}; // upper bounds
    std::vector<uint64_t> ttft_counts;                                          // cumulative, one per bucket + inf
    double ttft_sum_s = 0;
    uint64_t ttft_count = 0;
    int queue_depth = 0;       // waiting requests
    int active = 0;            // requests being decoded
    uint64_t memory_bytes = 0; // loaded models' weights + sessions
    // Continuous batching: forward passes run and the requests they carried (sequences / passes is the
    // mean batch), and the most requests one pass has carried.
    uint64_t forward_passes = 0, forward_sequences = 0;
    int max_batch_sequences = 0;
};

class Engine {
public:
    virtual ~Engine() = default;
    // Runs one request; on_event returning false stops it (as does `cancel`). Returns the summary or why it
    // failed: a Status that is not ok, whose code picks the transport's status code and whose field() names
    // the request field at fault, when there is one. Thread-safe.
    virtual std::variant<Completion, Status> generate(const Request& req,
                                                      const std::function<bool(const TokenEvent&)>& on_event,
                                                      const std::atomic<bool>* cancel) = 0;
    // Embeds the request's inputs. Errors as generate()'s (a field at fault is named). Thread-safe. Engines
    // without embeddings (cloud upstreams) say so.
    virtual std::variant<Embeddings, Status> embed(const EmbedRequest& req, const std::atomic<bool>* cancel) {
        (void)cancel;
        return Status::error(Code::BadField, "model '" + req.model + "' does not compute embeddings here", "model");
    }
    virtual std::vector<LoadedModel> loaded() const = 0;
    virtual void unload(const std::string& model) = 0;
    virtual Stats stats() const = 0;
    // Model names this engine answers that name no file or store model (the router's aliases, e.g. "auto"),
    // for model lists (/v1/models). Only names a request can use now.
    virtual std::vector<std::string> aliases() const { return {}; }
};

} // namespace hearth::engine
