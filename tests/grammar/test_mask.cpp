// Token masks: the trie walk against the scalar reference (every token tried on a copy of the state) on
// random grammars, vocabularies and states, and on the real Qwen2.5 vocabulary; the mask cache; applying
// masks to logits.
#include "example_grammars.h"
#include "grammar/matcher.h"
#include "grammar_test_util.h"
#include "vocab_fixture.h"

#include <cmath>
#include <gtest/gtest.h>

namespace hearth::grammar {
namespace {

using test::matcher_for;

// Pieces of text: ASCII, 2-, 3- and 4-byte characters.
const char* const kPieces[] = {"a", "b", "c", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"};

std::string random_item(std::mt19937_64& rng, int self, int n_rules, bool first) {
    auto pick = [&](int n) { return int(std::uniform_int_distribution<int>(0, n - 1)(rng)); };
    std::string item;
    switch (pick(4)) {
    case 0: {
        item = "\"";
        for (int i = 0, n = 1 + pick(3); i < n; i++)
            item += kPieces[pick(6)];
        item += "\"";
        break;
    }
    case 1: {
        const char* classes[] = {"[ab]", "[^a]",           "[a-c]",          "[\xC3\xA9-\xC3\xAB]",
                                 ".",    "[^\\x00-\\x7f]", "[b\xE4\xB8\xAD]"};
        item = classes[pick(7)];
        break;
    }
    case 2: {
        int to = pick(n_rules);
        if (first && to <= self) to = n_rules; // avoid left recursion: a leading reference only goes forward
        item = to >= n_rules ? "\"c\"" : "r" + std::to_string(to);
        break;
    }
    default: {
        item = "(" + std::string(kPieces[pick(6)]) + ")";
        item = "(\"" + std::string(kPieces[pick(6)]) + "\" | \"" + kPieces[pick(6)] + kPieces[pick(6)] + "\")";
        break;
    }
    }
    const char* quants[] = {"*", "+", "?", "{0,2}", "{1,3}", "{2}"};
    if (pick(10) < 3) item += quants[pick(6)];
    return item;
}

std::string random_gbnf(std::mt19937_64& rng) {
    int n_rules = 1 + int(rng() % 5);
    std::string text = "root ::= r0\n";
    for (int r = 0; r < n_rules; r++) {
        text += "r" + std::to_string(r) + " ::= ";
        int n_alts = 1 + int(rng() % 3);
        for (int a = 0; a < n_alts; a++) {
            if (a) text += " | ";
            int n_items = int(rng() % 4);
            for (int i = 0; i < n_items; i++)
                text += random_item(rng, r, n_rules, i == 0) + " ";
        }
        text += "\n";
    }
    return text;
}

std::vector<std::string> random_vocab(std::mt19937_64& rng) {
    std::vector<std::string> v{"", "", ""}; // special tokens
    for (const char* p : kPieces) {
        v.push_back(p);
        std::string s = p;
        for (size_t i = 0; i < s.size(); i++) {
            v.push_back(s.substr(i, 1));     // single bytes, lone continuation bytes included
            v.push_back(s.substr(0, i + 1)); // prefixes that end inside the character
            v.push_back(s.substr(i));        // suffixes that start inside it
        }
    }
    for (int i = 0; i < 300; i++) {
        std::string s;
        for (int j = 0, n = 1 + int(rng() % 4); j < n; j++)
            s += kPieces[rng() % 6];
        if (rng() % 4 == 0) s = s.substr(rng() % s.size()); // may start mid-character
        if (rng() % 4 == 0) s = s.substr(0, 1 + rng() % s.size());
        v.push_back(s);
    }
    v.push_back(v[10]); // a duplicate
    return v;
}

// Walks a random path of allowed tokens, comparing the trie walk with the reference at every step.
// Returns early (counting it in *too_ambiguous) when the grammar hits the stack limit.
void compare_along_random_path(Matcher& m, const VocabTrie& vocab, std::mt19937_64& rng, int steps,
                               const std::string& context, int* too_ambiguous = nullptr) {
    TokenMask fast, slow;
    for (int s = 0; s < steps; s++) {
        Status st = m.fill_mask(vocab, fast);
        if (too_ambiguous && st.code() == Code::TooLarge) {
            ++*too_ambiguous;
            return;
        }
        ASSERT_TRUE(st.is_ok()) << context << st.message();
        st = m.fill_mask_reference(vocab, slow);
        ASSERT_TRUE(st.is_ok()) << context << st.message();
        ASSERT_EQ(fast.count(), slow.count()) << context << "step " << s;
        ASSERT_TRUE(fast == slow) << context << "step " << s;
        std::vector<int32_t> allowed;
        for (int32_t id = 0; id < vocab.n_vocab(); id++)
            if (fast.allowed(id)) allowed.push_back(id);
        if (allowed.empty()) break;
        int32_t id = allowed[rng() % allowed.size()];
        ASSERT_TRUE(m.accept_token(vocab, id).is_ok()) << context;
    }
}

TEST(GrammarMask, TrieWalkEqualsReferenceOnRandomGrammars) {
    std::mt19937_64 rng(1234);
    int parsed = 0, too_ambiguous = 0;
    for (int trial = 0; trial < 300; trial++) {
        std::string text = random_gbnf(rng);
        auto g = parse_gbnf(text);
        if (!g) continue; // e.g. left recursion through a nullable rule
        parsed++;
        auto m = Matcher::create(std::move(g.value()), test::roomy_limits());
        ASSERT_TRUE(m) << m.message();
        VocabTrie vocab = VocabTrie::build(random_vocab(rng));
        compare_along_random_path(*m, vocab, rng, 12, "grammar:\n" + text, &too_ambiguous);
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(parsed, 150);
    EXPECT_LT(too_ambiguous, parsed / 10);
}

TEST(GrammarMask, TrieWalkEqualsReferenceOnJson) {
    std::mt19937_64 rng(99);
    std::vector<std::string> v = random_vocab(rng);
    for (const char* t :
         {"{",    "}",    "[", "]", "\"", ":", ",",  " ",  "\n", "{\"",   "\":", "\": ", "\",", "true",
          "null", "fals", "e", "0", "12", "-", ".5", "e+", "\\", "\\u00", "\\n", "\"}",  "]}",  "\"\xC3"})
        v.push_back(t);
    VocabTrie vocab = VocabTrie::build(std::move(v));
    Matcher m = matcher_for(test::kJsonGbnf);
    for (int path = 0; path < 20; path++) {
        m.reset();
        compare_along_random_path(m, vocab, rng, 40, "json path " + std::to_string(path) + " ");
        if (HasFatalFailure()) return;
    }
}

TEST(GrammarMask, SpecialTokensAreNeverAllowed) {
    VocabTrie vocab = VocabTrie::build({"", "a", "", "b"});
    Matcher m = matcher_for("root ::= [ab]*");
    TokenMask mask;
    ASSERT_TRUE(m.fill_mask(vocab, mask).is_ok());
    EXPECT_FALSE(mask.allowed(0));
    EXPECT_TRUE(mask.allowed(1));
    EXPECT_FALSE(mask.allowed(2));
    EXPECT_TRUE(mask.allowed(3));
    EXPECT_EQ(m.accept_token(vocab, 0).code(), Code::BadField);
    EXPECT_EQ(m.accept_token(vocab, 7).code(), Code::BadField);
}

TEST(GrammarMask, CacheServesRepeatedStates) {
    VocabTrie vocab = VocabTrie::build({"a", "b", "\"", "ab", "\"a", "}"});
    Matcher m = matcher_for(test::kJsonGbnf);
    ASSERT_TRUE(m.accept_bytes("{\"k\": \"").is_ok());
    TokenMask first, again;
    ASSERT_TRUE(m.fill_mask(vocab, first).is_ok());
    size_t cached = m.n_cached_masks();
    ASSERT_TRUE(m.accept_bytes("abab").is_ok()); // the same state inside the string
    ASSERT_TRUE(m.fill_mask(vocab, again).is_ok());
    EXPECT_EQ(m.n_cached_masks(), cached);
    EXPECT_TRUE(first == again);
}

TEST(GrammarMask, ApplyToLogits) {
    TokenMask mask;
    mask.reset(5);
    mask.allow(1);
    mask.allow(3);
    std::vector<float> logits{1, 2, 3, 4, 5, 6};
    std::vector<int32_t> keep{4};
    apply_token_mask(mask, logits, keep);
    EXPECT_TRUE(std::isinf(logits[0]) && logits[0] < 0);
    EXPECT_EQ(logits[1], 2);
    EXPECT_TRUE(std::isinf(logits[2]));
    EXPECT_EQ(logits[3], 4);
    EXPECT_EQ(logits[4], 5); // kept (e.g. EOS when the grammar can end)
    EXPECT_TRUE(std::isinf(logits[5]));
}

TEST(GrammarMask, VocabTrieLayout) {
    VocabTrie t = VocabTrie::build({"ab", "a", "", "abc", "b", "ab"});
    auto nodes = t.nodes();
    ASSERT_EQ(nodes.size(), 5u); // root, a, ab, abc, b
    EXPECT_EQ(nodes[0].subtree_end, 5u);
    EXPECT_EQ(nodes[1].subtree_end, 4u);
    EXPECT_EQ(std::vector<int32_t>(t.tokens_at(2).begin(), t.tokens_at(2).end()), (std::vector<int32_t>{0, 5}));
    EXPECT_EQ(t.tokens_at(1).size(), 1u);
    EXPECT_EQ(t.tokens_at(0).size(), 0u);
    EXPECT_EQ(t.max_depth(), 3u);
}

// The real vocabulary: every token of a tokenized document is in the mask at its step, and the masks equal
// the reference at a few states.
TEST(GrammarMask, QwenVocabularyJsonDocument) {
    const test::QwenVocab& v = test::qwen_vocab();
    ASSERT_EQ(v.trie.n_vocab(), 151936);
    Matcher m = matcher_for(test::kJsonGbnf);
    std::string doc = "{\n  \"name\": \"Zo\xC3\xAB \xE4\xB8\xAD\xE6\x96\x87\",\n  \"tags\": [\"a\", \"b\"],\n"
                      "  \"n\": -12.5e3,\n  \"ok\": true\n}";
    std::vector<int32_t> ids = tokenize(v.tok, doc, false, false);
    TokenMask mask, ref;
    for (size_t i = 0; i < ids.size(); i++) {
        ASSERT_TRUE(m.fill_mask(v.trie, mask).is_ok());
        ASSERT_TRUE(mask.allowed(ids[i])) << "token " << i << " '" << v.trie.token(ids[i]) << "'";
        if (i % 6 == 0) {
            ASSERT_TRUE(m.fill_mask_reference(v.trie, ref).is_ok());
            ASSERT_TRUE(mask == ref) << "token " << i;
        }
        ASSERT_TRUE(m.accept_token(v.trie, ids[i]).is_ok());
    }
    EXPECT_TRUE(m.can_end());
}

// Byte-level pieces that split a character: the mask must allow a token ending mid-character exactly when
// the grammar can take a character starting with those bytes.
TEST(GrammarMask, QwenVocabularyPartialCharacters) {
    const test::QwenVocab& v = test::qwen_vocab();
    Matcher m = matcher_for("root ::= \"\xE4\xB8\xAD\" [a-z]");
    TokenMask mask, ref;
    ASSERT_TRUE(m.fill_mask(v.trie, mask).is_ok());
    ASSERT_TRUE(m.fill_mask_reference(v.trie, ref).is_ok());
    EXPECT_TRUE(mask == ref);
    EXPECT_GE(mask.count(), 2u); // at least the byte token for 0xE4 and the character's own token
    for (int32_t id = 0; id < v.trie.n_vocab(); id++) {
        if (mask.allowed(id)) {
            std::string_view t = v.trie.token(id);
            EXPECT_TRUE(std::string_view("\xE4\xB8\xAD").starts_with(t) || t.starts_with("\xE4\xB8\xAD")) << t;
        }
    }
}

} // namespace
} // namespace hearth::grammar
