// template/chat_template.h: render a model's Jinja2 chat template (`tokenizer.chat_template`).
//
// A sandboxed Jinja2 interpreter that renders like Python jinja2 with the environment transformers uses
// for chat templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, a
// `generation` tag, globals raise_exception/strftime_now, tojson = json.dumps(ensure_ascii=False)).
// Templates come from model files, so they are untrusted: only data values and a fixed list of string
// and dict methods are reachable (no `__class__` walks), lists and dicts are immutable (`.append` is a
// SecurityError as in transformers), include/import/extends do not exist, and TemplateLimits bound
// output size, loop iterations, range() size and recursion. Every failure is an error Result, never
// an exception, a hang or a crash.
//
// Context keys a chat template expects: messages, tools, add_generation_prompt, bos_token, eos_token
// (plus anything else the template reads). Object key order is kept (ordered_json), as Python does.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hearth {

struct TemplateLimits {
    size_t max_output = 1 << 20;              // bytes of output, and of any string built on the way
    int max_depth = 64;                       // nested macro calls
    uint64_t max_loop_iterations = 1'000'000; // loop iterations in one render, all loops together
    int64_t max_range = 100'000;              // elements of range() and of any list built on the way
    // Work, whatever shape it takes (exponential macros, nested loops that stay under the other limits):
    // every statement and expression evaluated is a step. Real chat templates take well under 100k steps
    // for a long conversation with tools; 5M is about half a second.
    // Builtins that walk long strings or lists (comparisons, sorting, searching) count their work in steps too.
    uint64_t max_steps = 5'000'000;
    double max_seconds = 1.0; // wall clock for one render (0..1e6), checked every 64 steps
    // Memory: bytes of the strings and lists a render holds at once (Jinja; a Go template cannot build
    // collections, its strings are bounded by max_output). Values share their text and items, so copies are
    // free; with max_output and max_range this keeps a hostile render well under 256 MB.
    uint64_t max_memory = 128 << 20;
};

struct TemplateOptions {
    TemplateLimits limits;
    // The clock behind strftime_now(fmt); empty means the local time now.
    std::function<std::tm()> now;
};

// transformers' historical default (ChatML): used when a model has no chat template.
inline constexpr std::string_view kChatMlTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

namespace tmpl {
struct Stmt;
}

// A parsed template: compile once, render many times (rendering is const and thread-compatible).
class CompiledTemplate {
public:
    static Result<CompiledTemplate> compile(std::string_view source);
    Result<std::string> render(const nlohmann::ordered_json& context, const TemplateOptions& options = {}) const;

    CompiledTemplate(CompiledTemplate&&) noexcept;
    CompiledTemplate& operator=(CompiledTemplate&&) noexcept;
    ~CompiledTemplate();

private:
    CompiledTemplate();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// compile + render. Errors read like Python's: "TemplateError: Conversation roles must alternate...".
Result<std::string> render_chat_template(std::string_view tmpl, const nlohmann::ordered_json& context,
                                         const TemplateLimits& limits = {});
Result<std::string> render_chat_template(std::string_view tmpl, const nlohmann::ordered_json& context,
                                         const TemplateOptions& options);

} // namespace hearth
