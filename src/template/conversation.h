// template/conversation.h: a conversation through a chat template of either kind, and the check a template
// must pass before a model is created with it.
//
// A Jinja2 chat template (a model's tokenizer.chat_template, or a user's) gets transformers' context
// (messages, add_generation_prompt, bos_token, eos_token); an Ollama Go template (a Modelfile TEMPLATE) gets
// Ollama's data: .System and .Messages in its current form, or one rendering per (.Prompt, .Response) turn
// in the legacy form. Rendering is bounded by ChatFormat::limits for the whole conversation (the legacy
// form's turns share one deadline), so a hostile template costs at most about max_seconds of one thread.
// Nothing here knows tokens: ChatFormat carries the text of BOS and EOS, chat_format_for (runtime/chat.h)
// fills it from a tokenizer.
#pragma once

#include "base/status.h"
#include "template/chat_template.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

// A tool call an assistant made earlier in the conversation.
struct ChatToolCall {
    std::string id;
    std::string name;
    std::string arguments; // a JSON object, as text
};

struct ChatMessage {
    std::string role; // system, user, assistant, tool
    std::string content;
    std::vector<ChatToolCall> tool_calls = {}; // assistant: the calls it made
    std::string tool_call_id = {};             // tool: the call this result answers
    std::string name = {};                     // tool: the function's name
};

// How a model turns messages into a prompt: a Jinja2 chat template (the model's own, or a user's) or an
// Ollama Go template (TEMPLATE of a Modelfile).
struct ChatFormat {
    enum class Kind { Jinja, Go };
    Kind kind = Kind::Jinja;
    std::string source;    // the template text
    std::string origin;    // where it came from: "model", "ChatML default", "Gemma default", "Modelfile", a path
    std::string bos_token; // text of BOS ("" if none)
    std::string eos_token; // text of EOS ("" if none)
    bool add_bos = false;  // prepend BOS when the rendered text does not already start with it
    TemplateLimits limits; // for the whole conversation
};

// A TEMPLATE given by a user (Modelfile, --template, /api/create) is a Go template when it looks like one;
// a model's own tokenizer.chat_template is always Jinja.
ChatFormat::Kind template_kind(std::string_view source);

// The prompt text for `messages`; `add_generation_prompt` opens the assistant's turn. Errors start with
// "chat template (<origin>): " and are at most about 2 KiB (a template's own message can be longer).
// `tools_json`: the tools offered (a JSON array of OpenAI tool objects, {"type": "function", "function":
// {name, description, parameters}}), given to a Jinja template as `tools`, as transformers does; messages'
// tool calls go in as transformers' {"id", "type": "function", "function": {"name", "arguments": {...}}}.
// A Go template with tools is an error (Ollama's .Tools is not supported). `enable_thinking`, when set, goes
// to a Jinja template as the variable of that name (Qwen3's switch; a Go template ignores it).
Result<std::string> render_chat(const ChatFormat& fmt, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt, std::string_view tools_json = {},
                                std::optional<bool> enable_thinking = std::nullopt);

// Whether a template can serve as a model's chat template: it must render a sample conversation (system,
// user, assistant, user, with the generation prompt) within fmt.limits. A template that refuses a system
// message (raise_exception, as Gemma 2's does) is tried again without it, then with one user message alone;
// all tries share one deadline. Errors name the template and say why: "template exceeds the rendering
// budget (5000000 steps / 1 s): ..." when a limit ended it, else "template does not render a sample
// conversation: ...". With `budget_only` only the first is an error: for a model's own template, which
// came with the weights and may fail for reasons a raw completion does not care about.
Status validate_chat_template(const ChatFormat& fmt, bool budget_only = false);
// The same for a template's text with the default limits: a model's own tokenizer.chat_template (always
// Jinja; budget_only) or a user's TEMPLATE (template_kind; any failure is an error).
Status validate_chat_template(std::string_view source, bool is_model_template);

} // namespace hearth
