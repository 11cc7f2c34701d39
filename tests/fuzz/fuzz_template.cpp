// libFuzzer target for the chat-template engine: lexer, parser and renderer on arbitrary template text
// with small limits, so every input ends quickly in output or an error (never a crash, hang or leak).
// Input: template bytes, optionally followed by "\0" and a JSON object used as the context.
#include "template/chat_template.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view tmpl = input.substr(0, input.find('\0'));
    nlohmann::ordered_json ctx;
    if (tmpl.size() < input.size()) {
        ctx = nlohmann::ordered_json::parse(input.substr(tmpl.size() + 1), nullptr, /*allow_exceptions=*/false);
    }
    if (!ctx.is_object()) {
        ctx = nlohmann::ordered_json::parse(
            R"({"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi <b>"},
                {"role": "assistant", "content": null, "tool_calls": [{"type": "function",
                 "function": {"name": "f", "arguments": {"x": 1}}}]}, {"role": "tool", "content": "42"}],
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
                "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
    }
    hearth::TemplateOptions opts;
    opts.limits.max_output = 1 << 16;
    opts.limits.max_depth = 16;
    opts.limits.max_loop_iterations = 10'000;
    opts.limits.max_range = 1'000;
    opts.now = [] { return std::tm{}; };
    auto compiled = hearth::CompiledTemplate::compile(tmpl);
    if (!compiled) {
        if (compiled.message().empty()) __builtin_trap(); // every error must say something
        return 0;
    }
    auto out = compiled->render(ctx, opts);
    if (!out && out.message().empty()) __builtin_trap();
    if (out && out->size() > opts.limits.max_output) __builtin_trap();
    return 0;
}
