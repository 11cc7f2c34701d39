// Tool-call syntax: detection from real templates, reading calls per family, and streaming that gives the
// same result as reading the whole answer, however the text is split.
#include "model_paths.h"
#include "toolcall/toolcall.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace hearth::toolcall {
namespace {

using json = nlohmann::json;

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(ToolCallDetect, RealTemplatesOfEachFamily) {
    const std::filesystem::path dir = hearth::test::fixtures_dir() + "/templates";
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << ": run scripts/fetch-fixtures";
    const std::map<std::string, Format> expected = {
        {"Qwen-Qwen2.5-7B-Instruct.jinja", Format::Hermes},
        {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", Format::Hermes},
        {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", Format::Hermes},
        {"Qwen3-Coder.jinja", Format::QwenXml},
        {"meta-llama-Llama-3.1-8B-Instruct.jinja", Format::Llama3},
        {"meta-llama-Llama-3.2-3B-Instruct.jinja", Format::Llama3},
        {"meta-llama-Llama-3.3-70B-Instruct.jinja", Format::Llama3},
        {"mistralai-Mistral-Nemo-Instruct-2407.jinja", Format::Mistral},
        {"Mistral-Small-3.2-24B-Instruct-2506.jinja", Format::Mistral},
        {"meetkai-functionary-medium-v3.1.jinja", Format::Functionary31},
        {"meetkai-functionary-medium-v3.2.jinja", Format::Functionary32},
        {"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", Format::CommandR},
        {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", Format::CommandR},
        {"fireworks-ai-llama-3-firefunction-v2.jinja", Format::FireFunction},
        {"ibm-granite-granite-3.3-2B-Instruct.jinja", Format::Granite},
        {"google-gemma-2-2b-it.jinja", Format::None},
        {"microsoft-Phi-3.5-mini-instruct.jinja", Format::None},
    };
    for (const auto& [file, want] : expected) {
        const std::string text = read_file(dir / file);
        ASSERT_FALSE(text.empty()) << file;
        EXPECT_EQ(format_name(detect_format(text)), std::string(format_name(want))) << file;
    }
    // The fixture models' own templates.
    EXPECT_EQ(
        detect_format(read_file(std::string(HEARTH_TEST_DATA) + "/templates/qwen2.5-coder-0.5b-instruct-q4_k_m.jinja")),
        Format::Hermes);
    EXPECT_EQ(detect_format(read_file(std::string(HEARTH_TEST_DATA) + "/templates/SmolLM2-135M-Instruct.Q4_1.jinja")),
              Format::None);
}

struct Case {
    const char* what;
    Format format;
    std::string text;
    std::string content;                                  // expected content
    std::vector<std::pair<std::string, json>> calls = {}; // expected (name, arguments)
};

const std::vector<std::string> kTools = {"get_weather", "add"};

std::vector<Case> cases() {
    const json paris = {{"city", "Paris"}};
    const json two = {{"a", 2}, {"b", 3}};
    return {
        {"hermes one call",
         Format::Hermes,
         "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
         "",
         {{"get_weather", paris}}},
        {"hermes text then two calls",
         Format::Hermes,
         "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
         "<tool_call>\n{\"name\": \"add\", \"arguments\": \"{\\\"a\\\": 2, \\\"b\\\": 3}\"}\n</tool_call>",
         "Let me check.",
         {{"get_weather", paris}, {"add", two}}},
        {"hermes unclosed at the end still counts",
         Format::Hermes,
         "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}",
         "",
         {{"add", two}}},
        {"hermes malformed JSON is text", Format::Hermes, "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 2,}}",
         "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 2,}}"},
        {"hermes unknown tool is text", Format::Hermes,
         "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",
         "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>"},
        {"hermes arguments not an object is text", Format::Hermes,
         "<tool_call>{\"name\": \"add\", \"arguments\": [1, 2]}</tool_call>",
         "<tool_call>{\"name\": \"add\", \"arguments\": [1, 2]}</tool_call>"},
        {"hermes plain answer", Format::Hermes, "The weather is fine <tool> not a call.",
         "The weather is fine <tool> not a call."},
        {"qwen xml",
         Format::QwenXml,
         "<tool_call>\n<function=add>\n<parameter=a>\n2\n</parameter>\n<parameter=b>\n3\n</parameter>\n</function>\n"
         "</tool_call>",
         "",
         {{"add", two}}},
        {"qwen xml string value",
         Format::QwenXml,
         "Sure.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
         "Sure.",
         {{"get_weather", paris}}},
        {"llama3 bare object",
         Format::Llama3,
         "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
         "",
         {{"get_weather", paris}}},
        {"llama3 python tag, two calls",
         Format::Llama3,
         "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; {\"name\": \"add\", "
         "\"parameters\": {\"a\": 2, \"b\": 3}}",
         "",
         {{"get_weather", paris}, {"add", two}}},
        {"llama3 JSON answer that is no call", Format::Llama3, "{\"answer\": 42}", "{\"answer\": 42}"},
        {"llama3 prose", Format::Llama3, "Paris is sunny.", "Paris is sunny."},
        {"mistral list",
         Format::Mistral,
         "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abcdefghi\"}]",
         "",
         {{"get_weather", paris}}},
        {"mistral small 3.2",
         Format::Mistral,
         "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]add[ARGS]{\"a\": 2, \"b\": 3}",
         "",
         {{"get_weather", paris}, {"add", two}}},
        {"functionary 3.1",
         Format::Functionary31,
         "<function=get_weather>{\"city\": \"Paris\"}</function><function=add>{\"a\": 2, \"b\": 3}</function>",
         "",
         {{"get_weather", paris}, {"add", two}}},
        {"functionary 3.2 text", Format::Functionary32, "all\nHello there.", "Hello there."},
        {"functionary 3.2 text then call",
         Format::Functionary32,
         "all\nChecking.>>>get_weather\n{\"city\": \"Paris\"}",
         "Checking.",
         {{"get_weather", paris}}},
        {"functionary 3.2 call first",
         Format::Functionary32,
         "add\n{\"a\": 2, \"b\": 3}>>>all\nDone.",
         "Done.",
         {{"add", two}}},
        {"command r7b",
         Format::CommandR,
         "<|START_ACTION|>[\n{\"tool_call_id\": \"0\", \"tool_name\": \"add\", \"parameters\": {\"a\": 2, \"b\": 3}}\n]"
         "<|END_ACTION|>",
         "",
         {{"add", two}}},
        {"command r plus",
         Format::CommandR,
         "Action: ```json\n[{\"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}]\n```",
         "",
         {{"get_weather", paris}}},
        {"firefunction",
         Format::FireFunction,
         " functools[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]",
         "",
         {{"get_weather", paris}}},
        {"granite",
         Format::Granite,
         "<|tool_call|>[{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}]",
         "",
         {{"add", two}}},
        {"hermes family, bare JSON call (small models)",
         Format::Hermes,
         "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
         "",
         {{"get_weather", paris}}},
        {"hermes family, the call in doubled braces (Qwen2.5-Coder copies its template's {{...}})",
         Format::Hermes,
         "{{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}}",
         "",
         {{"get_weather", paris}}},
        {"hermes family, the call in doubled braces, fenced",
         Format::Hermes,
         "```json\n{{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}}\n```",
         "",
         {{"add", two}}},
        {"hermes family, doubled braces around no call stay text", Format::Hermes, "{{\"city\": \"Paris\"}}",
         "{{\"city\": \"Paris\"}}"},
        {"hermes family, doubled braces around two calls stay text", Format::Hermes,
         "{{\"name\": \"add\", \"arguments\": {}} {\"name\": \"add\", \"arguments\": {}}}",
         "{{\"name\": \"add\", \"arguments\": {}} {\"name\": \"add\", \"arguments\": {}}}"},
        {"hermes family, fenced JSON call",
         Format::Hermes,
         "```json\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}\n```",
         "",
         {{"add", two}}},
        {"hermes family, JSON that is no call", Format::Hermes, "{\"city\": \"Paris\"}", "{\"city\": \"Paris\"}"},
        {"hermes family, fenced code", Format::Hermes, "```python\nprint(1)\n```", "```python\nprint(1)\n```"},
        {"none format never parses", Format::None, "<tool_call>{\"name\": \"add\", \"arguments\": {}}</tool_call>",
         "<tool_call>{\"name\": \"add\", \"arguments\": {}}</tool_call>"},
    };
}

void expect_parsed(const Case& c, const Parsed& p, const std::string& how) {
    EXPECT_EQ(p.content, c.content) << c.what << " " << how;
    ASSERT_EQ(p.calls.size(), c.calls.size()) << c.what << " " << how;
    for (size_t i = 0; i < c.calls.size(); ++i) {
        EXPECT_EQ(p.calls[i].name, c.calls[i].first) << c.what << " " << how;
        EXPECT_EQ(json::parse(p.calls[i].arguments), c.calls[i].second) << c.what << " " << how;
    }
}

TEST(ToolCallParse, EachFamily) {
    for (const Case& c : cases())
        expect_parsed(c, parse(c.format, c.text, kTools), "(whole)");
}

TEST(ToolCallParse, WithoutAToolListAnyNameCounts) {
    const Parsed p = parse(Format::Hermes, "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>");
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].name, "rm_rf");
    EXPECT_EQ(p.calls[0].arguments, "{}");
}

// Streams `text` in pieces cut at `cuts`; returns the content sent along the way plus what finish() gives.
Parsed stream(Format f, const std::string& text, const std::vector<size_t>& cuts, std::string* early = nullptr) {
    Stream s(f, kTools);
    std::string sent;
    size_t prev = 0;
    for (size_t cut : cuts) {
        sent += s.feed(std::string_view(text).substr(prev, cut - prev));
        prev = cut;
    }
    sent += s.feed(std::string_view(text).substr(prev));
    Parsed end = s.finish();
    if (early) *early = sent;
    Parsed all;
    all.content = sent + end.content;
    all.calls = std::move(end.calls);
    return all;
}

std::string trim_copy(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
    size_t b = 0;
    while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b])))
        ++b;
    return s.substr(b);
}

TEST(ToolCallStream, AnySplitGivesTheWholeAnswersResult) {
    std::mt19937 rng(7);
    for (const Case& c : cases()) {
        // Every single split point, every byte on its own, and random pieces.
        std::vector<std::vector<size_t>> splits;
        for (size_t i = 1; i < c.text.size(); ++i)
            splits.push_back({i});
        std::vector<size_t> bytes;
        for (size_t i = 1; i < c.text.size(); ++i)
            bytes.push_back(i);
        splits.push_back(bytes);
        for (int r = 0; r < 20; ++r) {
            std::vector<size_t> cuts;
            for (size_t i = 1; i < c.text.size(); ++i)
                if (rng() % 4 == 0) cuts.push_back(i);
            splits.push_back(cuts);
        }
        for (const auto& cuts : splits) {
            Parsed p = stream(c.format, c.text, cuts);
            // Content sent before a call keeps its white space; compare trimmed when there are calls.
            if (!c.calls.empty()) p.content = trim_copy(p.content);
            expect_parsed(c, p, "(streamed, " + std::to_string(cuts.size()) + " cuts)");
            if (HasFailure()) return;
        }
    }
}

TEST(ToolCallStream, TextBeforeACallGoesOutAtOnceAndMarkersAreHeldBack) {
    Stream s(Format::Hermes, kTools);
    EXPECT_EQ(s.feed("Let me look that up. "), "Let me look that up. ");
    EXPECT_EQ(s.feed("<tool"), ""); // could be a marker
    EXPECT_FALSE(s.in_call());
    EXPECT_EQ(s.feed("_call>{\"name\": \"add\", "), "");
    EXPECT_TRUE(s.in_call());
    EXPECT_EQ(s.feed("\"arguments\": {\"a\": 2, \"b\": 3}}</tool_call>"), "");
    const Parsed p = s.finish();
    ASSERT_EQ(p.calls.size(), 1u);
    EXPECT_EQ(p.calls[0].name, "add");
    // A "<" that turns out not to be a marker is released with what follows.
    Stream t(Format::Hermes, kTools);
    EXPECT_EQ(t.feed("a <"), "a ");
    EXPECT_EQ(t.feed("b"), "<b");
    EXPECT_EQ(t.finish().content, "");
}

TEST(ToolCallParse, HostileTextEndsQuicklyAsText) {
    // Deep brackets, unterminated strings, many markers: linear-ish work, the text comes back.
    std::string deep = "<tool_call>" + std::string(200000, '[') + "\"";
    Parsed p = parse(Format::Hermes, deep, kTools);
    EXPECT_TRUE(p.calls.empty());
    EXPECT_EQ(p.content, deep);
    std::string many;
    for (int i = 0; i < 20000; ++i)
        many += "<tool_call>{";
    p = parse(Format::Hermes, many, kTools);
    EXPECT_TRUE(p.calls.empty());
    EXPECT_EQ(p.content, many);
    // Deep but closed: parsed without recursion trouble; not a call (no name), so text.
    std::string closed = "<tool_call>" + std::string(100000, '[') + std::string(100000, ']');
    p = parse(Format::Hermes, closed, kTools);
    EXPECT_TRUE(p.calls.empty());
    EXPECT_EQ(p.content, closed);
}

} // namespace
} // namespace hearth::toolcall
