// Tests for the Go text/template interpreter (template/gotmpl.h): real Ollama templates with exact
// outputs worked out from Go's semantics, each construct, trim markers, errors, limits, and a seeded
// random/mutation run that must never crash.
#include "template/gotmpl.h"

#include <gtest/gtest.h>
#include <random>

namespace {

using nlohmann::ordered_json;

std::string render(std::string_view tmpl, const ordered_json& data = ordered_json::object(),
                   hearth::GoTemplateOptions options = {}) {
    auto r = hearth::render_go_template(tmpl, data, options);
    return r.is_ok() ? *r : "ERROR: " + r.message();
}

ordered_json msg(const char* role, const char* content) {
    return {{"Role", role}, {"Content", content}};
}

ordered_json data() {
    return {{"System", "sys"}, {"Messages", {msg("user", "Hi"), msg("assistant", "Hello")}},
            {"L", {1, 2, 3}},  {"M", {{"b", 2}, {"a", 1}}},
            {"S", "str"},      {"Empty", ordered_json::array()},
            {"Null", nullptr}};
}

// --- real Ollama templates ---

constexpr std::string_view kChatMl = "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
                                     "{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
                                     "<|im_start|>assistant\n";

TEST(GoTemplate, ChatMl) {
    ordered_json d = {{"System", "You are helpful."},
                      {"Messages", {msg("user", "Hi"), msg("assistant", "Hello!"), msg("user", "How are you?")}}};
    EXPECT_EQ(render(kChatMl, d), "<|im_start|>system\nYou are helpful.<|im_end|>\n"
                                  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                                  "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n");
    ordered_json no_system = {{"Messages", {msg("user", "Hi")}}};
    EXPECT_EQ(render(kChatMl, no_system), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    no_system["System"] = "";
    EXPECT_EQ(render(kChatMl, no_system), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(GoTemplate, Llama3Messages) {
    constexpr std::string_view t =
        "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
        "{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}"
        "<|start_header_id|>assistant<|end_header_id|>\n\n";
    ordered_json d = {{"System", "Be brief."},
                      {"Messages", {msg("user", "Hi"), msg("assistant", "Yo"), msg("user", "?")}}};
    EXPECT_EQ(render(t, d), "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                            "<|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>"
                            "<|start_header_id|>user<|end_header_id|>\n\n?<|eot_id|>"
                            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(GoTemplate, LegacyPromptResponse) {
    constexpr std::string_view t =
        "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
        "{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}"
        "<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>";
    EXPECT_EQ(render(t, {{"System", "S"}, {"Prompt", "P"}, {"Response", ""}}),
              "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
              "P<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|>");
    // Keys the caller leaves out render as nothing (hearth's choice for missing keys).
    EXPECT_EQ(render(t, {{"Prompt", "P"}}),
              "<|start_header_id|>user<|end_header_id|>\n\nP<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
              "<|eot_id|>");
    constexpr std::string_view alpaca = "{{ if .System }}{{ .System }}\n\n{{ end }}### Instruction:\n{{ .Prompt }}\n\n"
                                        "### Response:\n{{ .Response }}";
    EXPECT_EQ(render(alpaca, {{"System", ""}, {"Prompt", "Add 2+2"}, {"Response", ""}}),
              "### Instruction:\nAdd 2+2\n\n### Response:\n");
}

constexpr std::string_view kGemma =
    "{{- range $i, $_ := .Messages }}{{- $last := eq (len (slice $.Messages $i)) 1 }}"
    "{{- if or (eq .Role \"user\") (eq .Role \"system\") }}<start_of_turn>user\n{{ .Content }}<end_of_turn>\n"
    "{{ if $last }}<start_of_turn>model\n{{ end }}{{- else if eq .Role \"assistant\" }}<start_of_turn>model\n"
    "{{ .Content }}{{ if not $last }}<end_of_turn>\n{{ end }}{{- end }}{{- end }}";

TEST(GoTemplate, Gemma) {
    ordered_json d = {{"Messages", {msg("user", "Hi"), msg("assistant", "Hello"), msg("user", "Bye")}}};
    EXPECT_EQ(render(kGemma, d), "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
                                 "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
    // A final assistant message is continued, not closed.
    ordered_json prefill = {{"Messages", {msg("system", "S"), msg("user", "Hi"), msg("assistant", "Hel")}}};
    EXPECT_EQ(render(kGemma, prefill), "<start_of_turn>user\nS<end_of_turn>\n<start_of_turn>user\nHi<end_of_turn>\n"
                                       "<start_of_turn>model\nHel");
    EXPECT_EQ(render(kGemma, {{"Messages", ordered_json::array()}}), "");
}

// Ollama's llama3.1 template (tools), as published in its model library.
constexpr std::string_view kLlama31 = R"({{- if or .System .Tools }}<|start_header_id|>system<|end_header_id|>
{{- if .System }}

{{ .System }}
{{- end }}
{{- if .Tools }}

Cutting Knowledge Date: December 2023

When you receive a tool call response, use the output to format an answer to the orginal user question.

You are a helpful assistant with tool calling capabilities.
{{- end }}<|eot_id|>
{{- end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>
{{- if and $.Tools $last }}

Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.

Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.

{{ range $.Tools }}
{{- . }}
{{ end }}
{{ .Content }}<|eot_id|>
{{- else }}

{{ .Content }}<|eot_id|>
{{- end }}{{ if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>
{{- if .ToolCalls }}

{{ range .ToolCalls }}
{"name": "{{ .Function.Name }}", "parameters": {{ .Function.Arguments }}}{{ end }}
{{- else }}

{{ .Content }}
{{- end }}{{ if not $last }}<|eot_id|>{{ end }}
{{- else if eq .Role "tool" }}<|start_header_id|>ipython<|end_header_id|>

{{ .Content }}<|eot_id|>{{ if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- end }}
{{- end }})";

TEST(GoTemplate, Llama31Tools) {
    ordered_json tool = ordered_json::parse(
        R"({"type":"function","function":{"name":"get_weather","description":"Get <weather>",)"
        R"("parameters":{"type":"object","required":["city"],"properties":{"city":{"type":"string"}}}}})");
    const std::string tool_json = R"({"type":"function","function":{"name":"get_weather","description":)"
                                  R"("Get \u003cweather\u003e","parameters":{"type":"object","required":["city"],)"
                                  R"("properties":{"city":{"type":"string"}}}}})";
    const std::string system =
        "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n\nWhen you receive a "
        "tool "
        "call response, use the output to format an answer to the orginal user question.\n\nYou are a helpful "
        "assistant with tool calling capabilities.<|eot_id|>";
    hearth::GoTemplateOptions opts;
    opts.objects_as_json = true; // Ollama's Tool and arguments types print as JSON

    ordered_json d = {{"Tools", {tool}}, {"Messages", {msg("user", "Weather in Paris?")}}};
    EXPECT_EQ(
        render(kLlama31, d, opts),
        system +
            "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON "
            "for a function call with its proper arguments that best answers the given prompt.\n\nRespond in the "
            "format {\"name\": function name, \"parameters\": dictionary of argument name and its value}. Do not "
            "use variables.\n\n" +
            tool_json + "\n\nWeather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");

    ordered_json call = msg("assistant", "");
    call["ToolCalls"] = ordered_json::parse(R"([{"Function":{"Name":"get_weather","Arguments":{"city":"Paris"}}}])");
    d["Messages"] = {msg("user", "Weather in Paris?"), call, msg("tool", "22C")};
    EXPECT_EQ(render(kLlama31, d, opts),
              system + "<|start_header_id|>user<|end_header_id|>\n\nWeather in Paris?<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n\n{\"name\": \"get_weather\", \"parameters\": "
                       "{\"city\":\"Paris\"}}<|eot_id|>"
                       "<|start_header_id|>ipython<|end_header_id|>\n\n22C<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n");

    // No tools, with a system prompt: the plain chat path.
    ordered_json plain = {{"System", "Be nice."}, {"Messages", {msg("user", "Hi"), msg("assistant", "Hey")}}};
    EXPECT_EQ(render(kLlama31, plain), "<|start_header_id|>system<|end_header_id|>\n\nBe nice.<|eot_id|>"
                                       "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                                       "<|start_header_id|>assistant<|end_header_id|>\n\nHey");
}

// --- constructs ---

TEST(GoTemplate, TrimMarkers) {
    EXPECT_EQ(render("a \n\t {{- 1 -}} \n b"), "a1b");
    EXPECT_EQ(render("a  {{- 1 }}  b"), "a1  b");
    EXPECT_EQ(render("a  {{ 1 -}}  b"), "a  1b");
    EXPECT_EQ(render("x {{-3}}"), "x -3"); // "{{-3" is the number -3, not a trim marker
    EXPECT_EQ(render("x {{- 3}}"), "x3");
    EXPECT_EQ(render("{{ 1 }} {{ 2 }}"), "1 2");
    EXPECT_EQ(render("a\n{{- /* comment */ -}}\nb"), "ab");
    EXPECT_EQ(render("a{{/* multi\nline */}}b"), "ab");
    EXPECT_EQ(render("a {{/* c */ -}} b"), "a b");
}

TEST(GoTemplate, FieldsAndVariables) {
    auto d = data();
    d["A"] = {{"B", {{"C", "deep"}}}};
    EXPECT_EQ(render("{{ .A.B.C }}|{{ $.A.B.C }}|{{ (.A.B).C }}", d), "deep|deep|deep");
    EXPECT_EQ(render("[{{ .Nope }}][{{ .Nope.Deeper }}][{{ .A.Nope }}]", d), "[][][]");
    EXPECT_EQ(render("{{ .Null }}", d), "<no value>");
    EXPECT_EQ(render("{{ $x := \"a\" }}{{ $x }}{{ $x = \"b\" }}{{ $x }}"), "ab");
    EXPECT_EQ(render("{{ $n := 0 }}{{ range .L }}{{ $n = . }}{{ end }}{{ $n }}", d), "3");
    EXPECT_EQ(render("{{ with $x := .S }}{{ $x }}{{ . }}{{ end }}", d), "strstr");
    EXPECT_EQ(render("{{ range .Messages }}{{ $.System }}:{{ .Role }} {{ end }}", d), "sys:user sys:assistant ");
    EXPECT_EQ(render("{{ .S.X }}", d), "ERROR: template: 1:3: can't evaluate field X in type string");
    EXPECT_EQ(render("{{ .Null.X }}", d), "ERROR: template: 1:3: nil pointer evaluating interface {}.X");
    EXPECT_EQ(render("{{ .S 1 }}", d), "ERROR: template: 1:3: S is not a method but has arguments");
}

TEST(GoTemplate, IfWithElse) {
    auto d = data();
    constexpr std::string_view chain = "{{ if eq .S \"a\" }}A{{ else if eq .S \"str\" }}STR{{ else }}other{{ end }}";
    EXPECT_EQ(render(chain, d), "STR");
    d["S"] = "zzz";
    EXPECT_EQ(render(chain, d), "other");
    EXPECT_EQ(render("{{ with .Nope }}x{{ else with .S }}{{ . }}{{ end }}", d), "zzz");
    EXPECT_EQ(render("{{ with .Empty }}x{{ else }}empty{{ end }}", d), "empty");
    // Go truthiness: empty string, 0, false, nil, empty list/map are false.
    EXPECT_EQ(render("{{ if 0 }}t{{ else }}f{{ end }}{{ if \"\" }}t{{ else }}f{{ end }}{{ if .M }}t{{ end }}"
                     "{{ if .Null }}t{{ else }}f{{ end }}{{ if 0.5 }}t{{ end }}{{ if false }}t{{ else }}f{{ end }}",
                     d),
              "fftftf");
}

TEST(GoTemplate, Range) {
    auto d = data();
    EXPECT_EQ(render("{{ range $i, $m := .Messages }}{{ $i }}:{{ $m.Role }} {{ end }}", d), "0:user 1:assistant ");
    EXPECT_EQ(render("{{ range .Empty }}x{{ else }}none{{ end }}|{{ range .Nope }}x{{ else }}nil{{ end }}", d),
              "none|nil");
    EXPECT_EQ(render("{{ range $k, $v := .M }}{{ $k }}={{ $v }};{{ end }}", d), "a=1;b=2;");
    EXPECT_EQ(render("{{ range 3 }}{{ . }}{{ end }}"), "012");
    EXPECT_EQ(render("{{ range .L }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}"
                     "{{ end }}",
                     ordered_json{{"L", {1, 2, 3, 4}}}),
              "1");
    EXPECT_EQ(render("{{ range .L }}{{ range $.L }}{{ if gt . 1 }}{{ break }}{{ end }}{{ . }}{{ end }}-{{ end }}", d),
              "1-1-1-");
    EXPECT_EQ(render("{{ range $x := .L }}{{ end }}{{ $x }}", d), "ERROR: template: 1:32: undefined variable \"$x\"");
    EXPECT_EQ(render("{{ range .S }}{{ end }}", d), "ERROR: template: 1:3: range can't iterate over str");
}

TEST(GoTemplate, Literals) {
    EXPECT_EQ(render("{{ \"a\\tb\\u00e9\\x41\\101\" }}"), "a\tb\xC3\xA9"
                                                          "AA");
    EXPECT_EQ(render("{{ `raw\\n` }}"), "raw\\n");
    EXPECT_EQ(render("{{ 'a' }} {{ '\\n' }} {{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 1_000 }} {{ -5 }}"),
              "97 10 31 15 15 1000 -5");
    EXPECT_EQ(render("{{ 1.5 }} {{ 1.0 }} {{ 1e6 }} {{ 123456.0 }} {{ 1e-5 }} {{ 0.0001 }}"),
              "1.5 1 1e+06 123456 1e-05 0.0001");
    EXPECT_EQ(render("{{ true }} {{ false }}"), "true false");
    EXPECT_EQ(render("{{ nil }}"), "ERROR: template: 1:3: nil is not a command");
}

TEST(GoTemplate, ComparisonFunctions) {
    auto d = data();
    EXPECT_EQ(render("{{ eq \"b\" \"a\" \"b\" }} {{ eq 1 2 3 }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} "
                     "{{ ge \"b\" \"a\" }} {{ lt 1.5 2.5 }}"),
              "true false true true true false true true");
    EXPECT_EQ(render("{{ eq .Nope \"x\" }} {{ eq .Null .Nope }} {{ eq (index .L 0) 1 }}", d), "false true true");
    EXPECT_EQ(render("{{ eq 1 \"1\" }}"), "ERROR: template: 1:3: error calling eq: incompatible types for comparison");
    EXPECT_EQ(render("{{ eq 1 1.0 }}"), "ERROR: template: 1:3: error calling eq: incompatible types for comparison");
    EXPECT_EQ(render("{{ lt true false }}"), "ERROR: template: 1:3: error calling lt: invalid type for comparison");
    EXPECT_EQ(render("{{ eq .L .L }}", d),
              "ERROR: template: 1:3: error calling eq: non-comparable type []interface {}");
    EXPECT_EQ(render("{{ eq 1 }}"), "ERROR: template: 1:3: error calling eq: missing argument for comparison");
    EXPECT_EQ(render("{{ ne 1 }}"), "ERROR: template: 1:3: wrong number of args for ne: want 2 got 1");
}

TEST(GoTemplate, LogicFunctions) {
    auto d = data();
    EXPECT_EQ(
        render("{{ and 1 0 2 }}|{{ and 1 \"y\" }}|{{ or \"\" \"x\" }}|{{ or 0 \"\" }}|{{ not \"\" }}|{{ not .L }}", d),
        "0|y|x||true|false");
    // Short-circuit: the failing index is never evaluated.
    EXPECT_EQ(render("{{ or 1 (index .L 99) }}{{ and 0 (index .L 99) }}", d), "10");
    EXPECT_EQ(render("{{ \"piped\" | and 1 }}"), "piped");
    EXPECT_EQ(render("{{ and }}"), "ERROR: template: 1:3: wrong number of args for and: want at least 1 got 0");
}

TEST(GoTemplate, CollectionFunctions) {
    auto d = data();
    EXPECT_EQ(render("{{ len .Messages }} {{ len \"h\xC3\xA9llo\" }} {{ len .M }} {{ .Messages | len }}", d),
              "2 6 2 2");
    EXPECT_EQ(
        render("{{ index .L 1 }} {{ index .M \"a\" }} {{ index .Messages 1 \"Role\" }} [{{ index .M \"z\" }}]", d),
        "2 1 assistant []");
    EXPECT_EQ(render("{{ index \"abc\" 1 }}", d), "98");
    EXPECT_EQ(render("{{ (index .Messages 0).Role }}", d), "user");
    EXPECT_EQ(
        render(
            "{{ slice .L 1 }} {{ slice .L 0 2 }} {{ slice .L 3 }} {{ slice \"hello\" 1 3 }} {{ len (slice .L 1 2) }}",
            d),
        "[2 3] [1 2] [] el 1");
    EXPECT_EQ(render("{{ index (slice .L 1) 1 }}", d), "3");
    EXPECT_EQ(render("{{ index .L 5 }}", d), "ERROR: template: 1:3: error calling index: index out of range: 5");
    EXPECT_EQ(render("{{ slice .L 2 1 }}", d), "ERROR: template: 1:3: error calling slice: invalid slice index: 2 > 1");
    EXPECT_EQ(render("{{ len 3 }}"), "ERROR: template: 1:3: error calling len: len of type int");
    EXPECT_EQ(render("{{ len .Nope }}", d), "ERROR: template: 1:3: error calling len: len of nil pointer");
}

TEST(GoTemplate, PrintFunctions) {
    auto d = data();
    EXPECT_EQ(render("{{ print \"a\" 1 2 \"b\" true false }}"), "a1 2btrue false");
    EXPECT_EQ(render("{{ println \"a\" 1 }}"), "a 1\n");
    EXPECT_EQ(render("{{ print .Null .L }}", d), "<nil> [1 2 3]");
    EXPECT_EQ(render("{{ printf \"%s-%d-%v-%q-%t\" \"x\" 42 true \"q\\\"\\n\" false }}"),
              "x-42-true-\"q\\\"\\n\"-false");
    EXPECT_EQ(render("{{ printf \"%5.2f|%-4d|%03d|%x|%X|%c|%%|%6s|%-3s|\" 3.14159 7 5 255 \"hi\" 65 \"ab\" \"c\" }}"),
              " 3.14|7   |005|ff|6869|A|%|    ab|c  |");
    EXPECT_EQ(render("{{ printf \"%d\" \"x\" }}|{{ printf \"%s %s\" \"a\" }}|{{ printf \"%s\" \"a\" 1 }}"),
              "%!d(string=x)|a %!s(MISSING)|a%!(EXTRA int=1)");
    EXPECT_EQ(render("{{ printf \"%v %v\" .M .Messages }}", d),
              "map[a:1 b:2] [map[Content:Hi Role:user] map[Content:Hello Role:assistant]]");
    EXPECT_EQ(render("{{ \"x\" | printf \"%s-%s\" \"a\" }}"), "a-x");
    EXPECT_EQ(render("{{ printf 1 }}"),
              "ERROR: template: 1:3: error calling printf: printf: format must be a string, not int");
}

TEST(GoTemplate, ValuePrinting) {
    ordered_json d = {{"L", {1, "a", true, nullptr, 0.5}},
                      {"M", {{"z", {{"y", nullptr}}}, {"a", {1, 2}}}},
                      {"F", {1e21, 100000.0, 1234567.0, 0.0001, 0.00001, -2.5, 3.0}}};
    EXPECT_EQ(render("{{ .L }}|{{ .M }}|{{ .F }}", d),
              "[1 a true <nil> 0.5]|map[a:[1 2] z:map[y:<nil>]]|[1e+21 100000 1.234567e+06 0.0001 1e-05 -2.5 3]");
    hearth::GoTemplateOptions opts;
    opts.objects_as_json = true;
    EXPECT_EQ(render("{{ .M }}|{{ .L }}", d, opts), "{\"z\":{\"y\":null},\"a\":[1,2]}|[1 a true <nil> 0.5]");
}

TEST(GoTemplate, JsonAndDate) {
    ordered_json d = {{"T", {{"b", 2}, {"a", "<x> & \"y\"\n\xE2\x80\xA8"}, {"f", {1.0, 1e21, 1e-7, 0.5}}}}};
    EXPECT_EQ(render("{{ json .T }}", d), R"({"b":2,"a":"\u003cx\u003e \u0026 \"y\"\n\u2028","f":[1,1e+21,1e-7,0.5]})");
    EXPECT_EQ(render("{{ .T | toJson }}|{{ json .Nope }}|{{ json \"\\x01\" }}", d).substr(0, 10), "{\"b\":2,\"a\"");
    EXPECT_EQ(render("{{ json .Nope }}|{{ json \"\\x01\\xff\" }}|{{ json 3 }}", d), "null|\"\\u0001\xEF\xBF\xBD\"|3");
    hearth::GoTemplateOptions opts;
    opts.now = [] {
        std::tm tm{};
        tm.tm_year = 124;
        tm.tm_mon = 2;
        tm.tm_mday = 5;
        return tm;
    };
    EXPECT_EQ(render("Today is {{ currentDate }}.", {}, opts), "Today is 2024-03-05.");
}

TEST(GoTemplate, PipelinesAndParens) {
    auto d = data();
    EXPECT_EQ(render("{{ .Messages | len | printf \"%d msgs\" }}", d), "2 msgs");
    EXPECT_EQ(render("{{ if and (gt (len .Messages) 1) (eq (index .Messages 0).Role \"user\") }}yes{{ end }}", d),
              "yes");
    EXPECT_EQ(render("{{ $x := len .L | printf \"%03d\" }}{{ $x }}", d), "003");
    EXPECT_EQ(render("{{ 1 | 2 }}"), "ERROR: template: 1:7: non executable command in pipeline stage 2");
    EXPECT_EQ(render("{{ .S | .S }}", d), "ERROR: template: 1:8: S is not a method but has arguments");
    EXPECT_EQ(render("{{ \"a\" \"b\" }}"), "ERROR: template: 1:3: can't give argument to non-function \"a\"");
}

TEST(GoTemplate, ParseErrors) {
    EXPECT_EQ(render("ab\ncd{{ if }}x{{ end }}"), "ERROR: template: 2:8: missing value for if");
    EXPECT_EQ(render("{{ end }}"), "ERROR: template: 1:3: unexpected {{end}}");
    EXPECT_EQ(render("{{ else }}"), "ERROR: template: 1:3: unexpected {{else}}");
    EXPECT_EQ(render("{{ if 1 }}x"), "ERROR: template: 1:11: unexpected EOF");
    EXPECT_EQ(render("{{ foo }}"), "ERROR: template: 1:3: function \"foo\" not defined");
    EXPECT_EQ(render("{{ $x }}"), "ERROR: template: 1:3: undefined variable \"$x\"");
    EXPECT_EQ(render("{{ if 1 }}{{ $y := 1 }}{{ end }}{{ $y }}"), "ERROR: template: 1:35: undefined variable \"$y\"");
    EXPECT_EQ(render("{{ break }}"), "ERROR: template: 1:3: {{break}} outside {{range}}");
    EXPECT_EQ(render("{{ range .L }}{{ else }}{{ continue }}{{ end }}"),
              "ERROR: template: 1:27: {{continue}} outside {{range}}");
    EXPECT_EQ(render("{{ .X"), "ERROR: template: 1:5: unclosed action");
    EXPECT_EQ(render("{{/* x"), "ERROR: template: 1:0: unclosed comment");
    EXPECT_EQ(render("{{/* x */ 1 }}"), "ERROR: template: 1:0: comment ends before closing delimiter");
    EXPECT_EQ(render("{{ \"abc }}"), "ERROR: template: 1:3: unterminated quoted string");
    EXPECT_EQ(render("{{ (1 }}"), "ERROR: template: 1:6: unclosed left paren");
    EXPECT_EQ(render("{{ 1) }}"), "ERROR: template: 1:4: unexpected right paren");
    EXPECT_EQ(render("{{ 3x }}"), "ERROR: template: 1:3: bad number syntax: \"3x\"");
    EXPECT_EQ(render("{{ 1.x }}"), "ERROR: template: 1:3: bad number syntax: \"1.x\"");
    EXPECT_EQ(render("{{ 99999999999999999999 }}"), "ERROR: template: 1:3: 99999999999999999999 overflows int");
    EXPECT_EQ(render("{{ $a, $b := 1 }}"), "ERROR: template: 1:3: too many declarations in command");
    EXPECT_EQ(render("{{ define \"x\" }}{{ end }}"), "ERROR: template: 1:3: {{define}} is not supported");
    EXPECT_EQ(render("{{ 1 }}{{ \"a\" . }}"), "ERROR: template: 1:10: can't give argument to non-function \"a\"");
}

TEST(GoTemplate, CompileOnceRenderMany) {
    auto t = hearth::GoTemplate::parse(kChatMl);
    ASSERT_TRUE(t.is_ok()) << t.message();
    auto a = t->render({{"Messages", {msg("user", "A")}}});
    auto b = t->render({{"Messages", {msg("user", "B")}}});
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(*a, "<|im_start|>user\nA<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(*b, "<|im_start|>user\nB<|im_end|>\n<|im_start|>assistant\n");
}

TEST(GoTemplate, LooksLikeGoTemplate) {
    EXPECT_TRUE(hearth::looks_like_go_template(kChatMl));
    EXPECT_TRUE(hearth::looks_like_go_template(kGemma));
    EXPECT_TRUE(hearth::looks_like_go_template("{{ .Prompt }}"));
    EXPECT_TRUE(hearth::looks_like_go_template("x {{- if .System }}y{{ end }}"));
    EXPECT_FALSE(hearth::looks_like_go_template("{% for m in messages %}{{ m.content }}{% endfor %}"));
    EXPECT_FALSE(hearth::looks_like_go_template("{{ bos_token }}{{ messages[0]['content'] }}"));
    EXPECT_FALSE(hearth::looks_like_go_template("no template at all"));
    EXPECT_FALSE(hearth::looks_like_go_template("{# c #}{{ .x }}"));
}

// --- limits ---

TEST(GoTemplateLimits, OutputIterationsDepth) {
    hearth::GoTemplateOptions opts;
    opts.limits.max_output = 5000;
    EXPECT_NE(render("{{ range 1000 }}xxxxxxxxxx{{ end }}", {}, opts).find("LimitError: output exceeds 5000 bytes"),
              std::string::npos);
    // Doubling a string in a loop is stopped before memory runs out.
    EXPECT_NE(render("{{ $x := \"ab\" }}{{ range 100 }}{{ $x = print $x $x }}{{ end }}", {}, opts).find("LimitError"),
              std::string::npos);
    EXPECT_NE(render("{{ printf \"%999999999d\" 1 }}", {}, opts).find("LimitError"), std::string::npos);
    opts.limits.max_loop_iterations = 10;
    EXPECT_EQ(render("{{ range 10 }}{{ end }}ok", {}, opts), "ok");
    EXPECT_NE(render("{{ range 4 }}{{ range 4 }}{{ end }}{{ end }}", {}, opts).find("LimitError: more than 10"),
              std::string::npos);
    EXPECT_NE(render("{{ range 100001 }}{{ end }}").find("LimitError: range over 100001"), std::string::npos);
    std::string nested;
    for (int i = 0; i < 70; ++i)
        nested += "{{ if 1 }}";
    nested += "x";
    for (int i = 0; i < 70; ++i)
        nested += "{{ end }}";
    EXPECT_NE(render(nested).find("LimitError: nesting deeper than 64"), std::string::npos);
    opts.limits.max_depth = 100;
    EXPECT_EQ(render(nested, {}, opts), "x");
}

// Go templates have no {{define}}, so no recursion: their work is bounded by the iteration limit, and
// within it by the step budget and the wall-clock deadline of TemplateLimits.
TEST(GoTemplateLimits, StepBudgetAndDeadline) {
    hearth::GoTemplateOptions opts;
    opts.limits.max_steps = 1000;
    EXPECT_NE(render("{{ range 500 }}{{ print . }}{{ end }}", {}, opts)
                  .find("LimitError: template rendering took more than 1000 steps"),
              std::string::npos);
    opts.limits.max_steps = UINT64_MAX;
    opts.limits.max_seconds = 0;
    EXPECT_NE(render("{{ range 999 }}{{ range 999 }}{{ print . . }}{{ end }}{{ end }}", {}, opts)
                  .find("LimitError: template rendering took too long"),
              std::string::npos);
    EXPECT_EQ(render("{{ range 2000 }}x{{ end }}"), std::string(2000, 'x'));
}

TEST(GoTemplateLimits, DeepNestingInParser) {
    std::string parens(10000, '(');
    EXPECT_NE(render("{{ " + parens + "1" + std::string(10000, ')') + " }}").find("nesting deeper than 200"),
              std::string::npos);
    std::string ifs;
    for (int i = 0; i < 10000; ++i)
        ifs += "{{ if 1 }}";
    EXPECT_NE(render(ifs).find("nesting deeper than 200"), std::string::npos);
}

// Random token soups and mutations of real templates: every one must end in ok or an error.
TEST(GoTemplateLimits, RandomInputsNeverCrash) {
    static constexpr std::string_view kPieces[] = {
        "{{",       "}}",   "{{- ",  " -}}",     " ",     ".",     "$",         "$x",     "$i",
        ":=",       "=",    "|",     "(",        ")",     ",",     "if",        "else",   "end",
        "range",    "with", "break", "continue", "\"s\"", "\"",    "`r`",       "`",      "'a'",
        "'",        "1",    "-",     "0x",       "1e",    "2.5",   ".Messages", ".Role",  ".Content",
        "$.System", "eq",   "ne",    "lt",       "len",   "index", "slice",     "printf", "\"%d %s %v\"",
        "print",    "and",  "or",    "not",      "json",  "nil",   "true",      "/*",     "*/",
        "\n",       "text", "\\",    "%",        "\xff",  "{",     "}"};
    static constexpr std::string_view kSeeds[] = {kChatMl, kGemma, kLlama31};
    ordered_json d = {{"System", "s"},
                      {"Tools", ordered_json::array()},
                      {"Messages", {msg("user", "Hi"), msg("assistant", "Yo"), msg("user", "x")}}};
    hearth::GoTemplateOptions opts;
    opts.limits.max_output = 1 << 16;
    opts.limits.max_loop_iterations = 10'000;
    opts.limits.max_range = 1000;
    std::mt19937 rng(12345);
    int ok = 0, failed = 0;
    for (int n = 0; n < 20000; ++n) {
        std::string t;
        if (n % 2 == 0) {
            size_t len = rng() % 40;
            for (size_t k = 0; k < len; ++k)
                t += kPieces[rng() % std::size(kPieces)];
        } else {
            t = kSeeds[rng() % std::size(kSeeds)];
            int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits && !t.empty(); ++e) {
                size_t pos = rng() % t.size();
                switch (rng() % 3) {
                case 0:
                    t.erase(pos, 1 + rng() % 8);
                    break;
                case 1:
                    t.insert(pos, kPieces[rng() % std::size(kPieces)]);
                    break;
                default:
                    t[pos] = static_cast<char>(rng() % 256);
                    break;
                }
            }
        }
        auto r = hearth::render_go_template(t, d, opts);
        if (r.is_ok()) {
            ++ok;
            EXPECT_LE(r->size(), opts.limits.max_output);
        } else {
            ++failed;
            EXPECT_EQ(r.message().rfind("template: ", 0), 0u) << r.message();
        }
    }
    EXPECT_GT(ok, 1000);
    EXPECT_GT(failed, 1000);
}

} // namespace
