// Unit tests: UTF-8 helpers, decoding and streaming, special tokens, hostile input and worst-case timing.
#include "tokenizer/unicode.h"
#include "tokenizer_fixtures.h"

#include <chrono>
#include <random>

namespace hearth {
namespace {

const Tokenizer& vocab(const std::string& name) {
    // Loaded once per name for the whole binary (fixture vocabularies are a few MB each).
    static std::map<std::string, Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        it = cache.emplace(name, test::load_or_fail(test::vocab_dir() + "/ggml-vocab-" + name + ".gguf")).first;
    }
    return it->second;
}

bool valid_utf8(std::string_view s) {
    return tok::utf8_sanitize(s) == s;
}

TEST(Unicode, DecodeRejectsInvalidSequences) {
    size_t n = 0;
    EXPECT_EQ(tok::utf8_decode("\xC3\xA9", 0, &n), 0xE9u);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(tok::utf8_decode("\xC3", 0, &n), tok::kReplacementChar); // truncated
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(tok::utf8_decode("\xC0\xAF", 0, &n), tok::kReplacementChar);     // overlong
    EXPECT_EQ(tok::utf8_decode("\xED\xA0\x80", 0, &n), tok::kReplacementChar); // surrogate
    EXPECT_EQ(tok::utf8_decode("\x80", 0, &n), tok::kReplacementChar);
    EXPECT_EQ(tok::utf8_sanitize("a\xFF"
                                 "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(tok::utf8_complete_prefix("ab\xF0\x9F"), 2u);
    EXPECT_EQ(tok::utf8_complete_prefix("ab\xF0\x9F\xA6\x99"), 6u);
    EXPECT_EQ(tok::utf8_complete_prefix("\x80"), 1u); // a stray continuation byte is not "incomplete"
}

TEST(Unicode, ByteAlphabetIsABijection) {
    EXPECT_EQ(tok::byte_to_unicode(' '), 0x120u);  // 'Ġ'
    EXPECT_EQ(tok::byte_to_unicode('\n'), 0x10Au); // 'Ċ'
    EXPECT_EQ(tok::byte_to_unicode('A'), uint32_t('A'));
    for (int b = 0; b < 256; ++b)
        EXPECT_EQ(tok::unicode_to_byte(tok::byte_to_unicode(uint8_t(b))), b);
    EXPECT_EQ(tok::unicode_to_byte(0x2581), -1);
}

TEST(PreTokenizer, UnknownNameIsAnError) {
    auto p = tok::PreTokenizer::patterns_for("no-such-pre");
    ASSERT_FALSE(p);
    EXPECT_NE(p.message().find("no-such-pre"), std::string::npos);
}

TEST(PreTokenizer, UnicodeCategoriesAreReal) {
    auto pats = tok::PreTokenizer::patterns_for("gpt-2");
    ASSERT_TRUE(pats);
    auto pt = tok::PreTokenizer::compile(*pats);
    ASSERT_TRUE(pt);
    const std::string text = "Hello мир 123 ١٢٣  x";
    std::vector<std::string> words;
    for (auto p : pt->split(text))
        words.push_back(text.substr(p.offset, p.length));
    // Cyrillic letters are \p{L}, Arabic-Indic digits are \p{N}, "\s+(?!\S)" leaves one space for " x".
    EXPECT_EQ(words, (std::vector<std::string>{"Hello", " мир", " 123", " ١٢٣", " ", " x"}));
}

TEST(Tokenizer, SpecialTokensParsedOnlyWhenAsked) {
    const Tokenizer& tok = vocab("llama-spm");
    ASSERT_GT(tok.n_vocab(), 0);
    const auto plain = tokenize(tok, "</s>", false, false);
    const auto parsed = tokenize(tok, "</s>", false, true);
    EXPECT_EQ(parsed, std::vector<int32_t>{tok.eos});
    EXPECT_GT(plain.size(), 1u);
    EXPECT_TRUE(is_eog(tok, tok.eos));
    EXPECT_FALSE(is_eog(tok, tok.bos));
    const auto with_bos = tokenize(tok, "Hello", true, false);
    ASSERT_FALSE(with_bos.empty());
    EXPECT_EQ(with_bos[0], tok.bos);
    EXPECT_EQ(token_to_piece(tok, tok.eos, false), "");
    EXPECT_EQ(token_to_piece(tok, tok.eos, true), "</s>");
    EXPECT_EQ(token_to_piece(tok, -5, true), "");
    EXPECT_EQ(token_to_piece(tok, tok.n_vocab(), true), "");
}

TEST(Tokenizer, SpmByteFallbackAndLeadingSpace) {
    const Tokenizer& tok = vocab("llama-spm");
    ASSERT_GT(tok.n_vocab(), 0);
    // U+1F999 is not in the Llama 2 vocabulary: four <0xNN> byte tokens.
    const std::string text = "a 🦙";
    const auto ids = tokenize(tok, text, false, false);
    int n_bytes = 0;
    for (int32_t id : ids)
        n_bytes += tok.types[id] == TokenType::Byte;
    EXPECT_EQ(n_bytes, 4);
    EXPECT_EQ(detokenize(tok, ids, false), text); // '▁a' loses its prefix space, the rest keeps theirs
}

TEST(Tokenizer, RoundTripsFixtureStrings) {
    for (const char* name : {"llama-spm", "phi-3", "gpt-2", "starcoder", "deepseek-coder", "deepseek-llm", "mpt"}) {
        const Tokenizer& tok = vocab(name);
        ASSERT_GT(tok.n_vocab(), 0) << name;
        for (const std::string& s : test::read_inp(test::vocab_dir() + "/ggml-vocab-" + name + ".gguf.inp")) {
            const auto ids = tokenize(tok, s, false, false);
            const std::string& want = s; // the SPM prefix space is added, then removed again
            if (!tok.clean_spaces) {
                EXPECT_EQ(detokenize(tok, ids, false), want) << name << ": '" << s << "'";
            }
            // Streaming gives the same bytes, and every chunk is whole UTF-8.
            Detokenizer stream(tok, false, /*at_text_start=*/true);
            std::string streamed;
            for (int32_t id : ids) {
                const std::string chunk = stream.push(id);
                EXPECT_TRUE(valid_utf8(chunk)) << name;
                streamed += chunk;
            }
            streamed += stream.flush();
            EXPECT_EQ(streamed, tok::utf8_sanitize(want)) << name << ": '" << s << "'";
        }
    }
}

TEST(Tokenizer, StreamingHoldsSplitCharacters) {
    const Tokenizer& tok = vocab("llama-spm");
    ASSERT_GT(tok.n_vocab(), 0);
    Detokenizer stream(tok);
    const uint8_t llama[] = {0xF0, 0x9F, 0xA6, 0x99};
    std::string out;
    for (int i = 0; i < 4; ++i) {
        const std::string chunk = stream.push(tok.byte_tokens[llama[i]]);
        if (i < 3) {
            EXPECT_EQ(chunk, "") << i;
        }
        out += chunk;
    }
    EXPECT_EQ(out, "🦙");
    // A lone lead byte followed by ASCII can never complete: it comes out as U+FFFD, never raw.
    EXPECT_EQ(stream.push(tok.byte_tokens[0xE2]), "");
    EXPECT_EQ(stream.push(tok.byte_tokens['x']), "\xEF\xBF\xBDx");
    EXPECT_EQ(stream.push(tok.byte_tokens[0xC3]), "");
    EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
}

TEST(Tokenizer, HostileInputGivesAResult) {
    const std::string nasty = std::string("a\0b", 3) + "\xFF\xFE\xC3" + "\xE2\x82" + "z\xF4\x90\x80\x80";
    for (const char* name : {"llama-spm", "gpt-2", "bert-bge", "deepseek-llm", "falcon"}) {
        const Tokenizer& tok = vocab(name);
        ASSERT_GT(tok.n_vocab(), 0) << name;
        const auto ids = tokenize(tok, nasty, true, true);
        EXPECT_FALSE(ids.empty()) << name;
        for (int32_t id : ids)
            EXPECT_TRUE(id >= 0 && id < tok.n_vocab()) << name;
        (void)detokenize(tok, ids, true);
    }
    // SPM keeps invalid bytes exactly (byte fallback); BPE sees U+FFFD as llama.cpp does.
    const Tokenizer& spm = vocab("llama-spm");
    const std::string bad = "x\xFFy";
    EXPECT_EQ(detokenize(spm, tokenize(spm, bad, false, false), false), bad);
    const Tokenizer& bpe = vocab("gpt-2");
    EXPECT_EQ(detokenize(bpe, tokenize(bpe, bad, false, false), false), "x\xEF\xBF\xBDy");
}

// Worst cases: one 1 MB "word" (no pre-tokenizer split helps) and 10 MB of one character. They must
// give a result (no crash, no hang: CTest's timeout catches a quadratic blow-up); their speed is
// measured by bench/bench_tokenizer, not here.
struct Timed {
    const char* vocab;
    std::string text;
    const char* what;
};

TEST(Tokenizer, HugeInputsGiveAResult) {
    std::mt19937 rng(7);
    std::string random_word(1 << 20, 'a');
    for (char& c : random_word)
        c = char('a' + rng() % 26);
    std::string digits(1 << 20, '7');
    const std::vector<Timed> cases = {
        {"gpt-2", std::string(1 << 20, 'a'), "1 MB 'a' (one word)"},
        {"gpt-2", random_word, "1 MB random letters (one word)"},
        {"llama-spm", random_word, "1 MB random letters"},
        {"bert-bge", random_word, "1 MB random letters (one word)"},
        {"deepseek-llm", std::string(1 << 20, ' ') + "1", "1 MB spaces then a digit"},
        {"llama-spm", std::string(2 << 20, 'a'), "2 MB 'a'"},
        {"gpt-2", std::string(10 << 20, ' '), "10 MB spaces"},
        {"falcon", digits, "1 MB digits"},
    };
    for (const auto& c : cases) {
        const Tokenizer& tok = vocab(c.vocab);
        ASSERT_GT(tok.n_vocab(), 0) << c.vocab;
        const auto ids = tokenize(tok, c.text, false, false);
        EXPECT_FALSE(ids.empty()) << c.vocab << " " << c.what;
    }
}

TEST(Tokenizer, LoadErrorsAreReadable) {
    // A vocabulary file that names an unknown algorithm: load fails with the key's value in the message.
    auto file = gguf::File::open(test::vocab_dir() + "/ggml-vocab-gpt-2.gguf");
    ASSERT_TRUE(file);
    const Tokenizer& tok = vocab("gpt-2");
    EXPECT_EQ(tok.type, VocabType::Bpe);
    EXPECT_FALSE(tok.merges.empty());
}

} // namespace
} // namespace hearth
