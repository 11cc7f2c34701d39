// libFuzzer target for the Ollama Go-template interpreter (a Modelfile's TEMPLATE is untrusted): parser
// and renderer on arbitrary template text with small limits; every input ends in output or an error.
#include "template/gotmpl.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view tmpl(reinterpret_cast<const char*>(data), size);
    static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(
        R"({"System": "sys", "Prompt": "hi", "Response": "", "Messages": [{"Role": "system", "Content": "sys"},
            {"Role": "user", "Content": "hi <b>"}, {"Role": "assistant", "Content": "ok",
            "ToolCalls": [{"Function": {"Name": "f", "Arguments": {"x": 1}}}]}],
            "Tools": [{"Type": "function", "Function": {"Name": "f", "Parameters": {"type": "object"}}}]})");
    hearth::GoTemplateOptions opts;
    opts.limits.max_output = 1 << 16;
    opts.limits.max_depth = 16;
    opts.limits.max_loop_iterations = 10'000;
    opts.limits.max_range = 1'000;
    opts.now = [] { return std::tm{}; };
    opts.objects_as_json = size % 2 == 0;
    (void)hearth::looks_like_go_template(tmpl);
    (void)hearth::render_go_template(tmpl, ctx, opts);
    return 0;
}
