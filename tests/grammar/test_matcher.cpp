// Matcher: acceptance on hand-written grammars, partial UTF-8, end conditions, states and limits.
#include "example_grammars.h"
#include "grammar/matcher.h"
#include "grammar_test_util.h"

#include <gtest/gtest.h>

namespace hearth::grammar {
namespace {

using test::accepts;
using test::matcher_for;

TEST(GrammarMatcher, Json) {
    Matcher m = matcher_for(test::kJsonGbnf);
    const char* good[] = {
        "{}",
        "[]",
        "\"\"",
        "0",
        "-12.5e+3",
        "true",
        "null",
        R"({"a": [1, 2, {"b": null}], "c": "d\"\\\u00e9\n"})",
        "{\n  \"k\": [\n    true,\n    false\n  ]\n}",
        "\"caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80\"",
    };
    for (const char* s : good)
        EXPECT_TRUE(accepts(m, s)) << s;
    const char* bad[] = {"{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\n\"", "tru", "{\"a\":1,}", "\"\\x\"", "'a'", " {}"};
    for (const char* s : bad)
        EXPECT_FALSE(accepts(m, s)) << s;
}

TEST(GrammarMatcher, Arithmetic) {
    Matcher m = matcher_for(test::kArithmeticGbnf);
    EXPECT_TRUE(accepts(m, "1+2*3"));
    EXPECT_TRUE(accepts(m, "( 1.5--2 )/4"));
    EXPECT_TRUE(accepts(m, "((((7))))"));
    EXPECT_FALSE(accepts(m, "1+"));
    EXPECT_FALSE(accepts(m, "(1"));
    EXPECT_FALSE(accepts(m, "1 + 2"));
}

TEST(GrammarMatcher, ChessListJapanese) {
    Matcher chess = matcher_for(test::kChessGbnf);
    EXPECT_TRUE(accepts(chess, "1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n4. O-O exd4+\n"));
    EXPECT_FALSE(accepts(chess, "1. e9 e5\n"));
    Matcher list = matcher_for(test::kListGbnf);
    EXPECT_TRUE(accepts(list, "- milk\n- eggs and \xC3\xA9\n"));
    EXPECT_FALSE(accepts(list, "- milk"));
    EXPECT_FALSE(accepts(list, "- a\xE2\x80\xA8"
                               "b\n")); // U+2028 excluded
    Matcher jp = matcher_for(test::kJapaneseGbnf);
    EXPECT_TRUE(accepts(
        jp, "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF \xE4\xB8\x96\xE7\x95\x8C\xE3\x80\x82"));
    EXPECT_FALSE(accepts(jp, "hello"));
}

TEST(GrammarMatcher, PartialUtf8AcrossTokens) {
    Matcher m = matcher_for("root ::= \"\xE4\xB8\xAD\" [\xC3\xA9-\xC3\xAB] \"\xF0\x9F\x98\x80\"");
    const std::string text = "\xE4\xB8\xAD\xC3\xAA\xF0\x9F\x98\x80";
    for (size_t i = 0; i < text.size(); i++) { // every byte as its own token
        ASSERT_TRUE(m.accept_bytes(text.substr(i, 1)).is_ok()) << i;
        EXPECT_EQ(m.can_end(), i + 1 == text.size());
    }
    m.reset();
    EXPECT_TRUE(m.accept_bytes("\xE4").is_ok());
    EXPECT_FALSE(m.can_end());
    EXPECT_FALSE(m.accept_bytes("\xB9").is_ok()); // U+4E40.. is not U+4E2D
    EXPECT_TRUE(m.accept_bytes("\xB8").is_ok());
    EXPECT_FALSE(m.accept_bytes("\xAE").is_ok()); // wrong last byte
    EXPECT_TRUE(m.accept_bytes("\xAD\xC3").is_ok());
    EXPECT_FALSE(m.accept_bytes("\xA8").is_ok()); // e8 is below [e9-eb]
    EXPECT_TRUE(m.accept_bytes("\xAB").is_ok());
}

TEST(GrammarMatcher, PendingPrefixMustBeCompletable) {
    Matcher m = matcher_for("root ::= \"a\" [\xC3\xA9]");
    ASSERT_TRUE(m.accept_bytes("a").is_ok());
    EXPECT_FALSE(m.accept_bytes("\xC4").is_ok()); // U+0100..U+013F: nothing there is allowed
    EXPECT_TRUE(m.accept_bytes("\xC3").is_ok());
    std::vector<CharRange> next = m.next_chars();
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0], (CharRange{0xE9, 0xE9}));
}

TEST(GrammarMatcher, IllFormedUtf8IsNeverAccepted) {
    Matcher m = matcher_for("root ::= .*");
    const char* bad[] = {"\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5", "\xFF"};
    for (const char* s : bad) {
        m.reset();
        EXPECT_FALSE(m.accept_bytes(s).is_ok()) << s;
    }
    EXPECT_TRUE(accepts(m, "\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF")); // U+D7FF, U+E000, U+10FFFF
}

TEST(GrammarMatcher, RejectedTextLeavesStateUnchanged) {
    Matcher m = matcher_for("root ::= \"abc\"");
    ASSERT_TRUE(m.accept_bytes("a").is_ok());
    Status st = m.accept_bytes("bd");
    EXPECT_EQ(st.code(), Code::BadField);
    EXPECT_EQ(st.field(), "grammar");
    EXPECT_EQ(st.message(), "\"bd\" is not allowed by the grammar here");
    EXPECT_TRUE(m.accept_bytes("bc").is_ok());
    EXPECT_TRUE(m.can_end());
    EXPECT_TRUE(m.must_end());
}

TEST(GrammarMatcher, CanEndAndMustEnd) {
    Matcher m = matcher_for("root ::= \"a\"+");
    EXPECT_FALSE(m.can_end());
    ASSERT_TRUE(m.accept_bytes("a").is_ok());
    EXPECT_TRUE(m.can_end());
    EXPECT_FALSE(m.must_end());
    Matcher e = matcher_for("root ::= \"\"");
    EXPECT_TRUE(e.can_end());
    EXPECT_TRUE(e.must_end());
    EXPECT_FALSE(e.accept_bytes("x").is_ok());
}

TEST(GrammarMatcher, NextChars) {
    Matcher m = matcher_for("root ::= [a-c] | \"x\" | [b-f] \"y\"");
    std::vector<CharRange> want{{'a', 'f'}, {'x', 'x'}};
    EXPECT_EQ(m.next_chars(), want);
}

TEST(GrammarMatcher, StatesRoundTrip) {
    Matcher m = matcher_for(test::kJsonGbnf);
    ASSERT_TRUE(m.accept_bytes("{\"a\": [").is_ok());
    MatchState saved = m.state();
    ASSERT_TRUE(m.accept_bytes("1]}").is_ok());
    EXPECT_TRUE(m.can_end());
    ASSERT_TRUE(m.set_state(saved).is_ok());
    EXPECT_FALSE(m.can_end());
    EXPECT_TRUE(m.accept_bytes("\"x\", 2]}").is_ok());
    EXPECT_TRUE(m.can_end());
}

TEST(GrammarMatcher, SameStateInsideAString) {
    Matcher m = matcher_for(test::kJsonGbnf);
    ASSERT_TRUE(m.accept_bytes("{\"key\": \"a").is_ok());
    uint32_t id = m.state().id;
    ASSERT_TRUE(m.accept_bytes("bcdef ghi").is_ok());
    EXPECT_EQ(m.state().id, id); // the lazily built DFA: one state for "inside this string"
}

TEST(GrammarMatcher, DeepNestingIsLinear) {
    Matcher m = matcher_for(test::kJsonGbnf);
    std::string deep = std::string(20000, '[') + std::string(20000, ']');
    EXPECT_TRUE(accepts(m, deep));
}

TEST(GrammarMatcher, CompactionKeepsTheCurrentState) {
    auto g = parse_gbnf(test::kJsonGbnf);
    ASSERT_TRUE(g);
    MatcherLimits small;
    small.max_states = 64; // compacts whenever more than 32 states exist
    auto m = Matcher::create(std::move(g.value()), small);
    ASSERT_TRUE(m) << m.message();
    std::string doc = R"({"a": [1, 2.5, {"b": null, "c": [true, false, "x\"y"]}], "d": -3e+4})";
    MatchState first = m->state();
    for (char c : doc)
        ASSERT_TRUE(m->accept_bytes(std::string(1, c)).is_ok()) << c;
    EXPECT_TRUE(m->can_end());
    EXPECT_LE(m->n_states(), 64u);
    EXPECT_EQ(m->set_state(first).code(), Code::Internal); // from before a compaction
}

TEST(GrammarMatcher, ExponentialAmbiguityIsAnError) {
    // Each 'a' doubles the ways to finish: the stacks grow as 2^n until the limit.
    auto g = parse_gbnf("root ::= \"a\" root \"b\" | \"a\" root \"c\" | \"\"");
    ASSERT_TRUE(g) << g.message();
    auto m = Matcher::create(std::move(g.value()));
    ASSERT_TRUE(m);
    Status st;
    for (int i = 0; i < 40 && st.is_ok(); i++)
        st = m->accept_bytes("a");
    EXPECT_EQ(st.code(), Code::TooLarge);
    EXPECT_NE(st.message().find("parse stacks"), std::string::npos) << st.message();
}

} // namespace
} // namespace hearth::grammar
