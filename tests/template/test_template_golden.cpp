// Renders every fixture chat template for every golden conversation and compares with Python jinja2
// (tests/data/templates/golden.json, made by tools/make-template-golden.py).
#include "model_paths.h"
#include "template/chat_template.h"
#include "template/conversation.h"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace {

using nlohmann::ordered_json;

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string template_path(const std::string& key) {
    // key: "fixtures/<file>" (real models' templates from scripts/fetch-fixtures) or "data/<file>"
    // (tests/data/templates).
    if (key.rfind("fixtures/", 0) == 0) return hearth::test::fixtures_dir() + "/templates/" + key.substr(9);
    return std::string(HEARTH_TEST_DATA) + "/templates/" + key.substr(5);
}

hearth::TemplateOptions golden_options() {
    hearth::TemplateOptions o;
    o.now = [] {
        std::tm tm{}; // 2025-01-15 10:30:00, a Wednesday: the golden script's fixed clock
        tm.tm_year = 2025 - 1900;
        tm.tm_mon = 0;
        tm.tm_mday = 15;
        tm.tm_hour = 10;
        tm.tm_min = 30;
        tm.tm_wday = 3;
        tm.tm_yday = 14;
        return tm;
    };
    return o;
}

ordered_json load_golden() {
    const std::string text = read_file(std::string(HEARTH_TEST_DATA) + "/templates/golden.json");
    EXPECT_FALSE(text.empty()) << "missing golden.json";
    return text.empty() ? ordered_json::object() : ordered_json::parse(text);
}

// Conversation name -> the context jinja2 rendered it with.
std::map<std::string, ordered_json> golden_contexts(const ordered_json& golden) {
    std::map<std::string, ordered_json> contexts;
    for (const auto& c : golden["conversations"])
        contexts[c["name"].get<std::string>()] = c["context"];
    return contexts;
}

TEST(TemplateGolden, MatchesJinja2ByteForByte) {
    ordered_json golden = load_golden();
    ASSERT_TRUE(golden.contains("results"));
    std::map<std::string, ordered_json> contexts = golden_contexts(golden);
    int n_templates = 0, n_cases = 0, n_ok = 0;
    for (auto it = golden["results"].begin(); it != golden["results"].end(); ++it) {
        std::string source = read_file(template_path(it.key()));
        ASSERT_FALSE(source.empty()) << "missing template " << it.key();
        auto compiled = hearth::CompiledTemplate::compile(source);
        ASSERT_TRUE(compiled.is_ok()) << it.key() << ": " << compiled.message();
        ++n_templates;
        for (auto r = it.value().begin(); r != it.value().end(); ++r) {
            ++n_cases;
            auto out = compiled->render(contexts.at(r.key()), golden_options());
            const ordered_json& want = r.value();
            if (want.contains("output")) {
                if (!out.is_ok()) {
                    ADD_FAILURE() << it.key() << " / " << r.key() << ": unexpected error: " << out.message();
                    continue;
                }
                EXPECT_EQ(*out, want["output"].get<std::string>()) << it.key() << " / " << r.key();
                n_ok += *out == want["output"].get<std::string>();
            } else {
                std::string err = want["error"].get<std::string>();
                EXPECT_FALSE(out.is_ok()) << it.key() << " / " << r.key() << ": expected error " << err;
                if (out.is_ok()) continue;
                // raise_exception messages must come through verbatim.
                if (err.rfind("TemplateError: ", 0) == 0) {
                    EXPECT_NE(out.message().find(err), std::string::npos) << out.message() << " vs " << err;
                }
                ++n_ok;
            }
        }
    }
    EXPECT_GE(n_templates, 19);
    std::printf("golden: %d templates, %d cases, %d match\n", n_templates, n_cases, n_ok);
}

} // namespace

namespace {

// render_chat (what the engine calls) with tools and tool calls in the conversation gives Python jinja2's
// rendering of the same conversation (golden.json's tool cases), for the templates that do not read the clock.
TEST(TemplateGolden, RenderChatWithToolsMatchesJinja2) {
    const ordered_json golden = load_golden();
    const std::map<std::string, ordered_json> contexts = golden_contexts(golden);
    int compared = 0;
    for (auto it = golden["results"].begin(); it != golden["results"].end(); ++it) {
        const std::string source = read_file(template_path(it.key()));
        if (source.find("strftime_now") != std::string::npos || source.find("<tool_call>") == std::string::npos)
            continue; // the clock differs outside the golden test's options; only tool-call templates matter here
        for (const char* name : {"tools_user_gen", "tool_call_roundtrip", "two_tool_calls"}) {
            const auto r = it.value().find(name);
            if (r == it.value().end() || !r->contains("output")) continue;
            const ordered_json& ctx = contexts.at(name);
            std::vector<hearth::ChatMessage> msgs;
            for (const auto& m : ctx["messages"]) {
                hearth::ChatMessage c{m["role"].get<std::string>(),
                                      m["content"].is_null() ? "" : m["content"].get<std::string>()};
                if (m.contains("tool_calls"))
                    for (const auto& t : m["tool_calls"])
                        c.tool_calls.push_back({t.value("id", ""), t["function"]["name"].get<std::string>(),
                                                t["function"]["arguments"].dump()});
                c.tool_call_id = m.value("tool_call_id", "");
                c.name = m.value("name", "");
                msgs.push_back(std::move(c));
            }
            hearth::ChatFormat fmt;
            fmt.source = source;
            fmt.origin = it.key();
            fmt.bos_token = ctx.value("bos_token", "");
            fmt.eos_token = ctx.value("eos_token", "");
            const std::string tools = ctx.contains("tools") && !ctx["tools"].is_null() ? ctx["tools"].dump() : "";
            auto out = hearth::render_chat(fmt, msgs, ctx["add_generation_prompt"].get<bool>(), tools);
            ASSERT_TRUE(out) << it.key() << " / " << name << ": " << out.message();
            EXPECT_EQ(*out, (*r)["output"].get<std::string>()) << it.key() << " / " << name;
            ++compared;
        }
    }
    EXPECT_GE(compared, 9); // Qwen 2.5 (ours and the 7B's), Hermes 2 Pro / 3, Qwen3-Coder: three cases each
}

} // namespace

namespace {

// render_chat with enable_thinking (what the engine passes to a thinking model's template) gives Python jinja2's
// rendering with the same variable, for every real template that shows a <think> block: Qwen3's switch adds an
// empty block when off, the sdist's R1 distill templates close theirs, and reasoning in the history is cut.
TEST(TemplateGolden, RenderChatWithThinkingMatchesJinja2) {
    const ordered_json golden = load_golden();
    const std::map<std::string, ordered_json> contexts = golden_contexts(golden);
    int compared = 0, switchable = 0;
    for (auto it = golden["results"].begin(); it != golden["results"].end(); ++it) {
        const std::string source = read_file(template_path(it.key()));
        if (source.find("strftime_now") != std::string::npos || source.find("<think>") == std::string::npos ||
            source.find("enable_thinking") == std::string::npos)
            continue;
        ++switchable;
        for (const char* name : {"think_on_gen", "think_off_gen", "think_history_gen"}) {
            const auto r = it.value().find(name);
            if (r == it.value().end() || !r->contains("output")) continue;
            const ordered_json& ctx = contexts.at(name);
            std::vector<hearth::ChatMessage> msgs;
            for (const auto& m : ctx["messages"])
                msgs.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
            hearth::ChatFormat fmt;
            fmt.source = source;
            fmt.origin = it.key();
            fmt.bos_token = ctx.value("bos_token", "");
            fmt.eos_token = ctx.value("eos_token", "");
            auto out = hearth::render_chat(fmt, msgs, true, {}, ctx["enable_thinking"].get<bool>());
            ASSERT_TRUE(out) << it.key() << " / " << name << ": " << out.message();
            EXPECT_EQ(*out, (*r)["output"].get<std::string>()) << it.key() << " / " << name;
            ++compared;
        }
    }
    EXPECT_GE(switchable, 3) << "Qwen3-0.6B and the R1 distill templates";
    EXPECT_GE(compared, 9);
    std::printf("thinking: %d switchable templates, %d renderings compared\n", switchable, compared);
}

} // namespace
