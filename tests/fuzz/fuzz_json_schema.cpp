// libFuzzer target for JSON Schema -> grammar: JSON text taken as a schema. Every input must end in a
// grammar or an error (no crash, hang or leak); a schema that converts must give GBNF the parser accepts
// (or refuses only for left recursion or a root that cannot complete, which the converter cannot see), and a
// short random walk of the grammar that can end there must be well-formed JSON.
#include "base/utf8.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auto schema = nlohmann::ordered_json::parse(input, nullptr, /*allow_exceptions=*/false);
    if (schema.is_discarded()) return 0;
    hearth::grammar::SchemaLimits sl;
    sl.max_json_depth = 64;
    sl.max_depth = 16;
    sl.max_schemas = 500;
    sl.max_enum = 200;
    sl.max_pattern_bytes = 500;
    sl.max_repeat = 200;
    sl.max_grammar_bytes = 1 << 16;
    auto text = hearth::grammar::json_schema_to_gbnf(schema, sl);
    if (!text) {
        if (text.message().empty()) __builtin_trap();
        return 0;
    }
    hearth::grammar::GbnfLimits gl;
    gl.max_input_bytes = sl.max_grammar_bytes;
    gl.max_repeat = sl.max_repeat;
    auto g = hearth::grammar::parse_gbnf(*text, gl);
    if (!g) {
        const std::string& msg = g.message();
        bool expected =
            msg.find("left recursion") != std::string::npos || msg.find("can never complete") != std::string::npos ||
            msg.find("too many rules") != std::string::npos || msg.find("grammar too large") != std::string::npos;
        if (!expected) __builtin_trap(); // the converter wrote GBNF its own parser refuses
        return 0;
    }
    hearth::grammar::MatcherLimits ml;
    ml.max_stacks = 256;
    ml.max_closure_steps = 1 << 14;
    auto m = hearth::grammar::Matcher::create(std::move(g.value()), ml);
    if (!m) return 0;
    // A deterministic walk: the lowest allowed code point at each step (printable ASCII when possible).
    std::string out;
    for (int step = 0; step < 64 && !m->must_end(); step++) {
        if (m->can_end() && !out.empty() && step > 8) break;
        std::vector<hearth::grammar::CharRange> next = m->next_chars();
        if (next.empty()) break;
        uint32_t cp = next[size_t(step) % next.size()].lo;
        for (auto r : next)
            if (r.hi >= 0x21 && r.lo <= 0x7E) cp = std::max<uint32_t>(r.lo, 0x21);
        std::string b;
        hearth::append_utf8(b, cp);
        if (!m->accept_bytes(b).is_ok()) break;
        out += b;
    }
    if (m->can_end() && !nlohmann::ordered_json::accept(out)) __builtin_trap();
    return 0;
}
