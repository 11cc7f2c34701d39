// Hostile grammars and schemas: each ends in an error (or a bounded result) within a deadline, never a hang,
// a crash or unbounded memory. Deadlines are generous (sanitizer builds are slower); the release figures
// are far below them. (Schemas with tens of thousands of keys in one object are kept out: nlohmann's
// ordered_json inserts in linear time, so building them is quadratic before the converter sees them.)
#include "grammar/json_schema.h"
#include "grammar_test_util.h"

#include <chrono>
#include <gtest/gtest.h>

namespace hearth::grammar {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr double kDeadlineSeconds = 10;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Parses, then (if it parsed) makes a matcher and feeds `text` and masks over a small vocabulary: the whole
// pipeline a request would run. Returns the first error.
Status run_grammar(const std::string& gbnf, const std::string& text = "aaaa") {
    auto g = parse_gbnf(gbnf);
    if (!g) return g.status();
    auto m = Matcher::create(std::move(g.value()));
    if (!m) return m.status();
    VocabTrie vocab = VocabTrie::build({"a", "aa", "b", "(", ")", "\"", "{", "}", "ab"});
    TokenMask mask;
    for (char c : text) {
        HEARTH_TRY(m->fill_mask(vocab, mask));
        Status st = m->accept_bytes(std::string(1, c));
        if (!st.is_ok()) return st;
    }
    return Status::ok();
}

#define EXPECT_ERROR_WITHIN_DEADLINE(expr, want_code, part)                                                            \
    do {                                                                                                               \
        auto t0_ = Clock::now();                                                                                       \
        Status st_ = (expr);                                                                                           \
        double s_ = seconds_since(t0_);                                                                                \
        EXPECT_FALSE(st_.is_ok()) << #expr;                                                                            \
        EXPECT_EQ(st_.code(), want_code) << st_.message().substr(0, 300);                                              \
        EXPECT_NE(st_.message().find(part), std::string::npos) << st_.message().substr(0, 300);                        \
        EXPECT_LT(s_, kDeadlineSeconds) << #expr;                                                                      \
        EXPECT_LT(st_.message().size(), 1000u);                                                                        \
    } while (0)

TEST(GrammarHostile, DeeplyNestedGroups) {
    std::string g = "root ::= " + std::string(100000, '(') + "\"a\"" + std::string(100000, ')');
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(g), Code::BadField, "groups nested too deeply");
}

TEST(GrammarHostile, InputOverOneMegabyte) {
    std::string g = "root ::= \"" + std::string((1 << 20) + 10, 'a') + "\"";
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(g), Code::BadField, "the limit is 1048576");
}

TEST(GrammarHostile, ManyRulesJustUnderTheSizeLimit) {
    std::string g = "root ::= r0\n";
    for (int i = 0; i < 30000; i++)
        g += "r" + std::to_string(i) + " ::= \"a\" r" + std::to_string(i + 1) + " | \"b\"\n";
    g += "r30000 ::= \"c\"\n";
    ASSERT_LT(g.size(), size_t(1) << 20);
    auto t0 = Clock::now();
    EXPECT_TRUE(run_grammar(g).is_ok());
    EXPECT_LT(seconds_since(t0), kDeadlineSeconds);
}

TEST(GrammarHostile, RepetitionExpansionIsCapped) {
    std::string g = "root ::= ";
    for (int i = 0; i < 200; i++)
        g += "\"ab\"{10000} ";
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(g), Code::BadField, "grammar too large");
    std::string optional = "root ::= ";
    for (int i = 0; i < 200; i++)
        optional += "\"ab\"{0,10000} ";
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(optional), Code::BadField, "too many rules");
}

TEST(GrammarHostile, NestedNullableRepetitionsHitTheWorkLimit) {
    // Each level can match empty, so one 'a' can be placed in a huge number of ways.
    std::string g = "root ::= (((\"a\"{0,10000}){0,10000}){0,10000})";
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(g), Code::TooLarge, "grammar");
}

TEST(GrammarHostile, LongLeftRecursionCycle) {
    std::string g = "root ::= r0\n";
    for (int i = 0; i < 20000; i++)
        g += "r" + std::to_string(i) + " ::= r" + std::to_string((i + 1) % 20000) + " \"x\" | \"y\"\n";
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(g), Code::BadField, "left recursion: r0 -> r1 -> ");
}

TEST(GrammarHostile, HundredThousandAlternatives) {
    std::string g = "root ::= \"a\"";
    for (int i = 0; i < 100000; i++)
        g += " | \"a\"";
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(g), Code::TooLarge, "parse stacks");
}

TEST(GrammarHostile, ExponentialAmbiguity) {
    std::string g = "root ::= x*\nx ::= \"a\" | \"a\" \"a\" | \"a\" \"a\" \"a\" | \"a\" x";
    EXPECT_TRUE(run_grammar(g, std::string(200, 'a')).is_ok()); // dedup keeps it small: fine
    std::string blowup = "root ::= \"a\" root \"b\" | \"a\" root \"c\" | \"\"";
    EXPECT_ERROR_WITHIN_DEADLINE(run_grammar(blowup, std::string(40, 'a')), Code::TooLarge, "parse stacks");
}

TEST(GrammarHostile, DeepRecursionInInput) {
    std::string g = "root ::= \"(\" root \")\" | \"a\"";
    auto t0 = Clock::now();
    EXPECT_TRUE(run_grammar(g, std::string(50000, '(')).is_ok());
    EXPECT_LT(seconds_since(t0), kDeadlineSeconds);
}

Status run_schema(const Json& schema) {
    auto g = compile_json_schema(schema);
    if (!g) return g.status();
    auto m = Matcher::create(std::move(g.value()));
    if (!m) return m.status();
    return Status::ok();
}

TEST(GrammarHostile, DeeplyNestedSchema) {
    Json s = {{"type", "string"}};
    for (int i = 0; i < 5000; i++)
        s = Json{{"type", "array"}, {"items", std::move(s)}};
    EXPECT_ERROR_WITHIN_DEADLINE(run_schema(s), Code::BadField, "deeper than");
}

TEST(GrammarHostile, DeeplyNestedJsonInAnEnum) {
    Json v = 1;
    for (int i = 0; i < 100000; i++)
        v = Json::array({std::move(v)});
    Json s = {{"enum", Json::array({std::move(v)})}};
    EXPECT_ERROR_WITHIN_DEADLINE(run_schema(s), Code::BadField, "deeper than 256");
}

TEST(GrammarHostile, HugeEnum) {
    Json values = Json::array();
    for (int i = 0; i < 200000; i++)
        values.push_back("value-" + std::to_string(i));
    EXPECT_ERROR_WITHIN_DEADLINE(run_schema({{"enum", values}}), Code::BadField, "the limit is 10000");
}

TEST(GrammarHostile, LargeEnumWithinLimitsIsFactored) {
    Json values = Json::array();
    for (int i = 0; i < 10000; i++)
        values.push_back("product-code-" + std::to_string(i * 7919 % 100000));
    auto t0 = Clock::now();
    auto g = compile_json_schema({{"enum", values}});
    ASSERT_TRUE(g) << g.message();
    auto m = Matcher::create(std::move(g.value()));
    ASSERT_TRUE(m) << m.message();
    EXPECT_TRUE(m->accept_bytes("\"product-code-").is_ok()); // one path through the trie, not 10000 stacks
    EXPECT_LT(seconds_since(t0), kDeadlineSeconds);
}

TEST(GrammarHostile, OneMegabytePattern) {
    std::string p(1 << 20, 'a');
    EXPECT_ERROR_WITHIN_DEADLINE(run_schema({{"type", "string"}, {"pattern", p}}), Code::BadField,
                                 "the limit is 10000");
    std::string nested = std::string(2000, '(') + "a" + std::string(2000, ')');
    EXPECT_ERROR_WITHIN_DEADLINE(run_schema({{"type", "string"}, {"pattern", nested}}), Code::BadField,
                                 "groups nested deeper than");
}

TEST(GrammarHostile, CatastrophicBacktrackingPatterns) {
    // Regex engines that backtrack blow up on these; the automaton does not (or hits a limit).
    for (const char* p : {"^(a+)+$", "^(a|a)*b$", "^(a|aa)+$", "^([a-z]+)*[0-9]$", "^(a?){30}a{30}$"}) {
        auto t0 = Clock::now();
        auto g = compile_json_schema({{"type", "string"}, {"pattern", p}});
        ASSERT_TRUE(g) << p << ": " << g.message();
        auto m = Matcher::create(std::move(g.value()));
        ASSERT_TRUE(m) << m.message();
        Status st = m->accept_bytes("\"" + std::string(2000, 'a'));
        if (std::string(p) == "^(a?){30}a{30}$") {
            EXPECT_EQ(st.code(), Code::BadField) << st.message(); // at most 60 a's
            EXPECT_TRUE(m->accept_bytes("\"" + std::string(45, 'a') + "\"").is_ok());
        } else {
            EXPECT_TRUE(st.is_ok()) << p << ": " << st.message();
        }
        EXPECT_LT(seconds_since(t0), kDeadlineSeconds) << p;
    }
}

TEST(GrammarHostile, RecursiveRefsAndManyDefinitions) {
    Json defs = Json::object();
    for (int i = 0; i < 3000; i++)
        defs["d" + std::to_string(i)] = {{"$ref", "#/$defs/d" + std::to_string((i + 1) % 3000)}};
    EXPECT_ERROR_WITHIN_DEADLINE(run_schema({{"$defs", defs}, {"$ref", "#/$defs/d0"}}), Code::BadField,
                                 "deeper than 64");
    Json chain = {{"$defs", Json::object()}};
    for (int i = 0; i < 3000; i++)
        chain["$defs"]["d" + std::to_string(i)] = {{"allOf", {{{"$ref", "#/$defs/d" + std::to_string(i + 1)}}}}};
    chain["$defs"]["d3000"] = {{"type", "string"}};
    chain["$ref"] = "#/$defs/d0";
    auto t0 = Clock::now();
    Status st = run_schema(chain);
    EXPECT_FALSE(st.is_ok());
    EXPECT_LT(seconds_since(t0), kDeadlineSeconds);
}

TEST(GrammarHostile, ManySubschemas) {
    Json props = Json::object();
    for (int i = 0; i < 12000; i++)
        props["p" + std::to_string(i)] = {{"type", "integer"}};
    EXPECT_ERROR_WITHIN_DEADLINE(run_schema({{"type", "object"}, {"properties", props}}), Code::BadField,
                                 "more than 10000 subschemas");
}

} // namespace
} // namespace hearth::grammar
