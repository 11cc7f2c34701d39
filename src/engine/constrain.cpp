// engine/constrain.cpp: see constrain.h.
#include "engine/constrain.h"

#include "grammar/gbnf.h"
#include "grammar/json_schema.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace hearth::engine {
namespace {

using ojson = nlohmann::ordered_json;

// A compile error as the client's field: "response_format.json_schema.schema" + "/properties/x/multipleOf".
Status refused(const std::string& field, const Status& s) {
    return bad_field(field + s.field(), field + ": " + s.message());
}

// The schema of one call of `tool` (an OpenAI tool object, checked by check_tools()).
ojson call_schema(const ojson& tool) {
    const ojson& fn = tool["function"];
    ojson args = fn.contains("parameters") ? fn["parameters"] : ojson{{"type", "object"}};
    return ojson{{"type", "object"},
                 {"properties", {{"name", {{"const", fn["name"]}}}, {"arguments", std::move(args)}}},
                 {"required", {"name", "arguments"}},
                 {"additionalProperties", false}};
}

Result<grammar::Grammar> tool_grammar(const Request& r) {
    const ojson tools = ojson::parse(r.tools, nullptr, false); // checked by check_tools()
    ojson one;
    if (r.tool_choice == ToolChoice::Named) {
        for (const auto& t : tools)
            if (t["function"]["name"] == r.tool_choice_name) one = call_schema(t);
    } else {
        ojson any = ojson::array();
        for (const auto& t : tools)
            any.push_back(call_schema(t));
        one = any.size() == 1 ? any[0] : ojson{{"anyOf", std::move(any)}};
    }
    ojson schema = one;
    if (r.tool_choice == ToolChoice::Required && r.parallel_tool_calls)
        schema = ojson{{"anyOf", {one, {{"type", "array"}, {"items", one}, {"minItems", 1}}}}};
    auto g = grammar::compile_json_schema(schema);
    if (!g) {
        // The call wrapper is ours; a fault is in a tool's parameters: /anyOf/0/anyOf/2/properties/arguments/...
        return bad_field("tools", "a tool's parameters cannot constrain the call: " + g.status().message() + " (at " +
                                      g.status().field() + " of the call schema)");
    }
    return g;
}

bool forces_call(const Request& r) {
    return !r.tools.empty() && (r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Named);
}

} // namespace

bool constrained(const Request& r) {
    return r.format != OutputFormat::Text || forces_call(r);
}

Result<std::optional<grammar::Matcher>> output_matcher(const Request& r) {
    const bool forced_call = forces_call(r);
    if (r.format != OutputFormat::Text && forced_call)
        return bad_field(r.format_field, r.format_field + " cannot be combined with tool_choice 'required' or a named "
                                                          "function (the answer is then a tool call)");
    if (r.format == OutputFormat::Text && !forced_call) return std::optional<grammar::Matcher>();
    auto compile = [&]() -> Result<grammar::Grammar> {
        switch (r.format) {
        case OutputFormat::Text:
            return tool_grammar(r);
        case OutputFormat::JsonObject:
            return grammar::parse_gbnf(grammar::json_object_gbnf());
        case OutputFormat::JsonSchema: {
            const ojson schema = ojson::parse(r.format_spec, nullptr, false);
            if (schema.is_discarded()) return bad_field(r.format_field, r.format_field + " is not valid JSON");
            auto g = grammar::compile_json_schema(schema);
            if (!g) return refused(r.format_field, g.status());
            return g;
        }
        case OutputFormat::Grammar: {
            auto g = grammar::parse_gbnf(r.format_spec);
            if (!g)
                return bad_field(r.format_field,
                                 r.format_field + ": the GBNF grammar is refused: " + g.status().message());
            return g;
        }
        }
        return bad_field(r.format_field, "unknown output format");
    };
    auto g = compile();
    if (!g) return g.status();
    auto m = grammar::Matcher::create(std::move(g).value());
    if (!m) return bad_field(forced_call ? std::string("tools") : r.format_field, m.status().message());
    return std::optional<grammar::Matcher>(std::move(m).value());
}

} // namespace hearth::engine
