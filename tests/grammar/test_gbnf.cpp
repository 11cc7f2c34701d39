// GBNF parser: grammars that parse (and what they compile to), and every error with its position.
#include "grammar/gbnf.h"
#include "grammar_test_util.h"

#include <gtest/gtest.h>

namespace hearth::grammar {
namespace {

using test::accepts;
using test::matcher_for;

std::string parse_error(const std::string& text, const GbnfLimits& limits = {}) {
    auto g = parse_gbnf(text, limits);
    if (g) return "(parsed)";
    EXPECT_EQ(g.code(), Code::BadField);
    EXPECT_EQ(g.status().field(), "grammar");
    return g.message();
}

TEST(GrammarGbnf, MinimalGrammar) {
    auto g = parse_gbnf("root ::= \"a\"");
    ASSERT_TRUE(g) << g.message();
    ASSERT_EQ(g->rules.size(), 1u);
    EXPECT_EQ(g->rules[0].name, "root");
    ASSERT_EQ(g->rules[0].alts.size(), 1u);
    ASSERT_EQ(g->elems.size(), 2u);
    EXPECT_EQ(g->elems[0].kind, ElemKind::Chars);
    EXPECT_EQ(g->elems[1].kind, ElemKind::End);
    EXPECT_TRUE(g->classes[g->elems[0].arg].contains('a'));
    EXPECT_FALSE(g->classes[g->elems[0].arg].contains('b'));
}

TEST(GrammarGbnf, LiteralEscapes) {
    Matcher m = matcher_for(R"(root ::= "a\n\r\t\\\"\[\]\x41\u00e9\U0001F600")");
    EXPECT_TRUE(accepts(m, "a\n\r\t\\\"[]A\xC3\xA9\xF0\x9F\x98\x80"));
    EXPECT_FALSE(accepts(m, "a\n\r\t\\\"[]A"));
}

TEST(GrammarGbnf, CharacterClasses) {
    Matcher m = matcher_for(R"(root ::= [a-c0-9_] [^"\\] [a-] [\]\x41-\x43] .)");
    EXPECT_TRUE(accepts(m, "b!-]x"));
    EXPECT_TRUE(accepts(m, "5a-Bé"));
    EXPECT_TRUE(accepts(m, "_\xE4\xB8\xAD"
                           "a"
                           "C"
                           "\xF0\x9F\x98\x80"));
    EXPECT_FALSE(accepts(m, "d!-]x"));  // d not in [a-c0-9_]
    EXPECT_FALSE(accepts(m, "a\"-]x")); // " excluded
    EXPECT_FALSE(accepts(m, "a\\-]x")); // backslash excluded
    EXPECT_FALSE(accepts(m, "a!b]x"));  // [a-] is 'a' or '-'
    EXPECT_FALSE(accepts(m, "a!-Dx"));
}

TEST(GrammarGbnf, NegatedClassIsComplement) {
    auto g = parse_gbnf("root ::= [^a-z]");
    ASSERT_TRUE(g) << g.message();
    const CharClass& c = g->classes[g->elems[0].arg];
    EXPECT_FALSE(c.contains('q'));
    EXPECT_TRUE(c.contains('A'));
    EXPECT_TRUE(c.contains(0));
    EXPECT_TRUE(c.contains(0x10FFFF));
    ASSERT_EQ(c.ranges.size(), 2u);
}

TEST(GrammarGbnf, EmptyClassMatchesNothingButParses) {
    Matcher m = matcher_for("root ::= \"a\" | [] \"b\"");
    EXPECT_TRUE(accepts(m, "a"));
    EXPECT_FALSE(accepts(m, "b"));
}

TEST(GrammarGbnf, Quantifiers) {
    Matcher m = matcher_for(R"(root ::= "a"* "b"+ "c"? "d"{2} "e"{1,} "f"{0,2} ("gh"){1,2})");
    EXPECT_TRUE(accepts(m, "bddegh"));
    EXPECT_TRUE(accepts(m, "aaabbbcddeeeffghgh"));
    EXPECT_FALSE(accepts(m, "ddegh"));      // b+ needs one
    EXPECT_FALSE(accepts(m, "bdegh"));      // d{2}
    EXPECT_FALSE(accepts(m, "bddgh"));      // e{1,}
    EXPECT_FALSE(accepts(m, "bddefffgh"));  // f{0,2}
    EXPECT_FALSE(accepts(m, "bddeghghgh")); // (gh){1,2}
    EXPECT_FALSE(accepts(m, "bddeg"));
}

TEST(GrammarGbnf, QuantifierAppliesToWholeLiteral) {
    Matcher m = matcher_for(R"(root ::= "ab"{2} "x" "cd"*)");
    EXPECT_TRUE(accepts(m, "ababx"));
    EXPECT_TRUE(accepts(m, "ababxcdcd"));
    EXPECT_FALSE(accepts(m, "abbx"));
    EXPECT_FALSE(accepts(m, "ababxcdc"));
}

TEST(GrammarGbnf, BracesWithSpacesAndZeroCounts) {
    Matcher m = matcher_for("root ::= \"a\"{ 1 , 3 } \"b\"{0} \"c\"{0,0}");
    EXPECT_TRUE(accepts(m, "aaa"));
    EXPECT_FALSE(accepts(m, "aaab"));
    EXPECT_FALSE(accepts(m, ""));
}

TEST(GrammarGbnf, MultiLineRulesAndComments) {
    const char* text = R"(# a comment line
root ::= greeting ( " " name   # continues inside the group
           | "!" )    # and after it
greeting ::=
    "hello" |
    "hi"
name ::= [a-z]+ # trailing comment
)";
    Matcher m = matcher_for(text);
    EXPECT_TRUE(accepts(m, "hello bob"));
    EXPECT_TRUE(accepts(m, "hi!"));
    EXPECT_FALSE(accepts(m, "hello"));
}

// Layout and structure cases: each grammar with texts it accepts and texts it rejects.
TEST(GrammarGbnf, SmallGrammars) {
    struct Case {
        const char* what;
        const char* grammar;
        std::vector<const char*> accepted, rejected;
    };
    const Case cases[] = {
        {"CRLF line endings", "root ::= a b\r\na ::= \"x\"\r\nb ::= \"y\"\r\n", {"xy"}, {"x"}},
        {"empty alternative at the end of a line",
         "root ::= \"a\" opt\nopt ::= \"b\" | \nother ::= \"c\"",
         {"a", "ab"},
         {"ac"}},
        {"empty alternative in a group", "root ::= \"a\" ( | \"b\" )", {"a", "ab"}, {"b"}},
        {"rules in any order, unused rules", "a ::= \"x\"\nunused ::= \"zzz\"\nroot ::= a a", {"xx"}, {"zzz"}},
        {"middle recursion", "root ::= \"(\" root \")\" | \"x\"\n", {"x", "((x))"}, {"((x)"}},
        {"right recursion", "root ::= item (\",\" root)?\nitem ::= [0-9]+", {"1,22,333"}, {"1,"}},
    };
    for (const Case& c : cases) {
        Matcher m = matcher_for(c.grammar);
        for (const char* t : c.accepted)
            EXPECT_TRUE(accepts(m, t)) << c.what << ": " << t;
        for (const char* t : c.rejected)
            EXPECT_FALSE(accepts(m, t)) << c.what << ": " << t;
    }
}

TEST(GrammarGbnf, ErrorsNameLineAndColumn) {
    EXPECT_EQ(parse_error("root ::= \"a\"\nfoo ::= bar"), "line 2, column 9: undefined rule 'bar'");
    EXPECT_EQ(parse_error("root ::= \"a\" }"),
              "line 1, column 14: unexpected '}' in rule 'root' (expected an element, '|' or the end of the line)");
}

TEST(GrammarGbnf, EveryError) {
    struct Case {
        const char* text;
        const char* expected; // a part of the message
    };
    const Case cases[] = {
        {"", "missing rule 'root'"},
        {"foo ::= \"a\"", "missing rule 'root'"},
        {"root ::= foo", "undefined rule 'foo'"},
        {"root = \"a\"", "expected '::=' after rule name 'root'"},
        {"root ::= \"a\"\nroot ::= \"b\"", "rule 'root' is defined twice (first at line 1, column 1)"},
        {"::= \"a\"", "expected a rule name"},
        {"root ::= \"abc", "line 1, column 10: unterminated string literal"},
        {"root ::= [abc", "unterminated character class"},
        {"root ::= [z-a]", "character range ends before it starts"},
        {"root ::= \"\\q\"", "unknown escape '\\q'"},
        {"root ::= \"\\x4\"", "expected 2 hex digits after '\\x'"},
        {"root ::= \"\\u12G4\"", "expected 4 hex digits after '\\u'"},
        {"root ::= \"\\U00110000\"", "code point above U+10FFFF"},
        {"root ::= \"a\\", "unfinished escape sequence"},
        {"root ::= ( \"a\" ", "expected ')' to close the group opened at line 1, column 10"},
        {"root ::= \"a\" )", "unexpected ')'"},
        {"root ::= * \"a\"", "quantifier '*' has nothing before it to repeat"},
        {"root ::= \"a\"{", "expected a number"},
        {"root ::= \"a\"{2", "expected '}' to close '{'"},
        {"root ::= \"a\"{3,2}", "repetition {m,n} with n < m"},
        {"root ::= \"a\"{20000}", "repetition count above the limit of 10000"},
        {"root ::= <[1234]>", "token references (<...>) are not supported"},
        {"root ::= root \"a\" | \"b\"", "left recursion: root -> root"},
        {"root ::= a\na ::= b \"x\"\nb ::= c\nc ::= a | \"y\"", "left recursion: a -> b -> c -> a"},
        {"root ::= e root \"x\" | \"y\"\ne ::= \"\" | \"z\"", "left recursion: root -> root"},
        {"root ::= (\"a\"?)*", "left recursion: root-"},
        {"root ::= \"a\" root", "rule 'root' can never complete"},
        {"root ::= [] ", "rule 'root' can never complete"},
        {"root ::= \"\xff\"", "invalid UTF-8"},
        {"root ::= \"\xe4\xb8\"", "invalid UTF-8"},
        {"root ::= \"a\" ::= \"b\"", "unexpected ':'"},
        {"root ::= \"a\" @", "unexpected '@'"},
    };
    for (const Case& c : cases) {
        std::string msg = parse_error(c.text);
        EXPECT_NE(msg.find(c.expected), std::string::npos) << "grammar: " << c.text << "\nmessage: " << msg;
    }
}

TEST(GrammarGbnf, Limits) {
    GbnfLimits small;
    small.max_input_bytes = 100;
    EXPECT_NE(
        parse_error("root ::= \"" + std::string(200, 'a') + "\"", small).find("grammar is 211 bytes; the limit is 100"),
        std::string::npos);
    small = {};
    small.max_nesting = 3;
    EXPECT_EQ(parse_error("root ::= (((\"a\")))", small), "(parsed)");
    EXPECT_NE(parse_error("root ::= ((((\"a\"))))", small).find("groups nested too deeply (limit 3)"),
              std::string::npos);
    small = {};
    small.max_rules = 5;
    EXPECT_NE(parse_error("root ::= \"a\"{0,10}", small).find("too many rules (limit 5)"), std::string::npos);
    small = {};
    small.max_elems = 500;
    EXPECT_NE(parse_error("root ::= \"ab\"{0,1000}", small).find("grammar too large"), std::string::npos);
}

} // namespace
} // namespace hearth::grammar
