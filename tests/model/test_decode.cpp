// runtime/decode: the one decode step, driven with made-up logits (a peak at the token we want chosen) over
// the SmolLM2 vocabulary: stop strings split across tokens with hold-back, end-of-generation tokens, the
// token and context limits, the text left at the end, and a degenerate distribution.
#include "gguf/gguf.h"
#include "grammar/gbnf.h"
#include "model_paths.h"
#include "runtime/decode.h"

#include <cmath>
#include <gtest/gtest.h>

namespace hearth {
namespace {

Tokenizer smol_tokenizer() {
    const std::string path = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f.is_ok()) << f.message() << "\n" << test::missing_model_message(path);
    if (!f) return {};
    auto t = load_tokenizer(*f);
    EXPECT_TRUE(t.is_ok()) << t.message();
    return t ? std::move(*t) : Tokenizer{};
}

int32_t one_token(const Tokenizer& tok, const std::string& piece) {
    const auto ids = tokenize(tok, piece, /*add_special=*/false, /*parse_special=*/true);
    EXPECT_EQ(ids.size(), 1u) << "'" << piece << "' is not one token";
    return ids.empty() ? 0 : ids[0];
}

struct Outcome {
    std::vector<std::string> pieces; // the text of each step
    std::optional<Finish> finish;
    std::string rest;
};

// Feeds `tokens` one step each (as if the model wanted exactly them) until the decoder ends the sequence.
Outcome drive(Decoder& d, const Tokenizer& tok, const std::vector<int32_t>& tokens, int32_t n_ctx = 1000) {
    Outcome r;
    std::vector<float> logits(size_t(tok.n_vocab()), 0.0f);
    for (size_t i = 0; i < tokens.size() && !r.finish; ++i) {
        std::fill(logits.begin(), logits.end(), 0.0f);
        logits[size_t(tokens[i])] = 10.0f;
        auto s = d.step(logits, /*n_past=*/int32_t(i) + 1, n_ctx);
        EXPECT_TRUE(s.is_ok()) << s.message();
        if (!s) break;
        EXPECT_EQ(s->token, tokens[i]);
        r.pieces.emplace_back(s->text);
        r.finish = s->finish;
    }
    if (r.finish != Finish::StopString) r.rest = std::string(d.rest());
    return r;
}

DecodeOptions stops(int32_t max_tokens) {
    DecodeOptions o;
    o.max_tokens = max_tokens;
    o.stop = {"world"};
    return o;
}

Sampler greedy(const Tokenizer& tok) {
    SamplingParams p;
    p.temperature = 0;
    return std::move(*Sampler::create(p, tok.n_vocab()));
}

TEST(Decoder, StopStringAcrossTokensIsHeldBackThenCut) {
    const Tokenizer tok = smol_tokenizer();
    ASSERT_GT(tok.n_vocab(), 0);
    const std::vector<int32_t> toks = {one_token(tok, "Hello"), one_token(tok, " wor"), one_token(tok, "ld"),
                                       one_token(tok, "!")};
    Sampler s = greedy(tok);
    Decoder d(&tok, s, stops(-1));
    d.start(std::vector<int32_t>{1});
    const Outcome r = drive(d, tok, toks);
    ASSERT_EQ(r.pieces.size(), 3u); // "!" is never sampled
    EXPECT_EQ(r.pieces[0], "Hello");
    EXPECT_EQ(r.pieces[1], " "); // "wor" may start "world": held back
    EXPECT_EQ(r.pieces[2], "");  // "world" matched: nothing of it is shown
    EXPECT_EQ(r.finish, Finish::StopString);
    EXPECT_EQ(d.text(), "Hello ");
    EXPECT_EQ(d.rest(), ""); // nothing comes back after a stop string
}

TEST(Decoder, HeldTextThatNeverBecomesAStopComesOutAtTheEnd) {
    const Tokenizer tok = smol_tokenizer();
    ASSERT_GT(tok.n_vocab(), 0);
    Sampler s = greedy(tok);
    Decoder d(&tok, s, stops(2));
    d.start(std::vector<int32_t>{1});
    const Outcome r = drive(d, tok, {one_token(tok, "Hello"), one_token(tok, " wor")});
    EXPECT_EQ(r.finish, Finish::Length);
    EXPECT_EQ(r.pieces, (std::vector<std::string>{"Hello", " "}));
    EXPECT_EQ(r.rest, "wor");
    EXPECT_EQ(d.text(), "Hello wor");
    EXPECT_EQ(d.n_generated(), 2);
}

TEST(Decoder, EndOfGenerationEndTokensAndContext) {
    const Tokenizer tok = smol_tokenizer();
    ASSERT_GT(tok.n_vocab(), 0);
    const int32_t hello = one_token(tok, "Hello"), eot = one_token(tok, "<|im_end|>");
    ASSERT_TRUE(is_eog(tok, eot));
    {
        Sampler s = greedy(tok);
        Decoder d(&tok, s, DecodeOptions{});
        d.start(std::vector<int32_t>{1});
        const Outcome r = drive(d, tok, {hello, eot, hello});
        EXPECT_EQ(r.finish, Finish::Stop);
        EXPECT_EQ(r.pieces, (std::vector<std::string>{"Hello", ""})); // the end token shows nothing
        EXPECT_EQ(d.text(), "Hello");
    }
    {
        Sampler s = greedy(tok);
        DecodeOptions o;
        o.end_at_eog = false; // `hearth generate`: token ids in and out
        o.end_tokens = {hello};
        Decoder d(nullptr, s, o);
        d.start(std::vector<int32_t>{1});
        const Outcome r = drive(d, tok, {eot, eot, hello, eot});
        EXPECT_EQ(r.pieces.size(), 3u);
        EXPECT_EQ(r.finish, Finish::Stop);
        EXPECT_EQ(d.text(), ""); // no tokenizer: no text
    }
    {
        Sampler s = greedy(tok);
        Decoder d(&tok, s, DecodeOptions{});
        d.start(std::vector<int32_t>{1});
        const Outcome r = drive(d, tok, {hello, hello, hello, hello}, /*n_ctx=*/2);
        EXPECT_EQ(r.finish, Finish::ContextFull);
        EXPECT_EQ(r.pieces.size(), 2u); // n_past reaches n_ctx at the second token
    }
}

TEST(Decoder, EveryTokenBannedIsAnError) {
    const Tokenizer tok = smol_tokenizer();
    ASSERT_GT(tok.n_vocab(), 0);
    Sampler s = greedy(tok);
    Decoder d(&tok, s, DecodeOptions{});
    d.start(std::vector<int32_t>{1});
    std::vector<float> logits(size_t(tok.n_vocab()), -std::numeric_limits<float>::infinity());
    auto r = d.step(logits, 1, 100);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.message().find("probability zero"), std::string::npos) << r.message();
}

} // namespace
} // namespace hearth

namespace hearth {
namespace {

grammar::VocabTrie smol_vocab(const Tokenizer& tok) {
    std::vector<std::string> bytes(size_t(tok.n_vocab()));
    for (int32_t id = 0; id < tok.n_vocab(); ++id)
        bytes[size_t(id)] = token_to_piece(tok, id, /*special=*/false);
    return grammar::VocabTrie::build(std::move(bytes));
}

DecodeOptions with_grammar(const std::string& gbnf, const grammar::VocabTrie& vocab) {
    DecodeOptions o;
    auto g = grammar::parse_gbnf(gbnf);
    EXPECT_TRUE(g.is_ok()) << g.message();
    auto m = grammar::Matcher::create(std::move(*g));
    EXPECT_TRUE(m.is_ok()) << m.message();
    o.grammar = std::move(*m);
    o.vocab = &vocab;
    return o;
}

// The model wants "Hello" then end-of-turn; the grammar allows only "yes" or "no": the sampled text is one of
// them (whatever the logits prefer among the allowed tokens), and the sequence ends when nothing can follow,
// with the last token's text shown (not swallowed as an end-of-generation token would be).
TEST(Decoder, GrammarAllowsOnlyItsSentencesAndEndsWhenComplete) {
    const Tokenizer tok = smol_tokenizer();
    ASSERT_GT(tok.n_vocab(), 0);
    const grammar::VocabTrie vocab = smol_vocab(tok);
    const int32_t hello = one_token(tok, "Hello"), eot = one_token(tok, "<|im_end|>");
    const int32_t no = one_token(tok, "no");
    Sampler s = greedy(tok);
    Decoder d(&tok, s, with_grammar(R"(root ::= "yes" | "no")", vocab));
    for (int round = 0; round < 2; ++round) { // start() returns the grammar to its beginning
        d.start(std::vector<int32_t>{1});
        std::vector<float> logits(size_t(tok.n_vocab()), 0.0f);
        logits[size_t(hello)] = 20.0f;
        logits[size_t(eot)] = 15.0f;
        logits[size_t(no)] = 5.0f; // the best allowed token
        std::string text;
        std::optional<Finish> finish;
        for (int i = 0; i < 8 && !finish; ++i) {
            auto st = d.step(logits, i + 1, 1000);
            ASSERT_TRUE(st.is_ok()) << st.message();
            EXPECT_NE(st->token, hello);
            EXPECT_FALSE(st->eog); // the text "no" is complete, but the grammar ended it, not an end token
            text += st->text;
            finish = st->finish;
        }
        text += d.rest();
        EXPECT_EQ(text, "no");
        EXPECT_EQ(finish, Finish::Stop);
        EXPECT_EQ(d.text(), "no");
    }
}

// Where the text may end or go on (x+), end-of-generation is allowed only once the text is complete.
TEST(Decoder, GrammarAllowsEndOfGenerationOnlyWhereTheTextIsComplete) {
    const Tokenizer tok = smol_tokenizer();
    ASSERT_GT(tok.n_vocab(), 0);
    const grammar::VocabTrie vocab = smol_vocab(tok);
    const int32_t eot = one_token(tok, "<|im_end|>"), open = one_token(tok, "("), close = one_token(tok, ")");
    const int32_t x = one_token(tok, "x");
    Sampler s = greedy(tok);
    Decoder d(&tok, s, with_grammar(R"g(root ::= "(" "x"+ ")" [ \n]*)g", vocab));
    d.start(std::vector<int32_t>{1});
    std::vector<float> logits(size_t(tok.n_vocab()), 0.0f);
    logits[size_t(eot)] = 30.0f; // the model wants to stop at once
    logits[size_t(open)] = 1.0f;
    logits[size_t(close)] = 0.5f; // after "(": not allowed until an "x" is written
    logits[size_t(x)] = 0.2f;
    std::string text;
    std::optional<Finish> finish;
    bool saw_eog = false;
    for (int i = 0; i < 40 && !finish; ++i) {
        auto st = d.step(logits, i + 1, 1000);
        ASSERT_TRUE(st.is_ok()) << st.message();
        text += st->text;
        finish = st->finish;
        saw_eog = st->eog;
    }
    text += d.rest();
    EXPECT_EQ(finish, Finish::Stop);
    EXPECT_TRUE(saw_eog) << "once \")\" is written the end token is allowed and the model's favourite";
    EXPECT_EQ(text, "(x)");
}

// A grammar whose every allowed token has zero probability (banned by logit_bias) is an error, not a token
// outside the grammar.
TEST(Decoder, GrammarWithNothingAllowedIsAnError) {
    const Tokenizer tok = smol_tokenizer();
    ASSERT_GT(tok.n_vocab(), 0);
    const grammar::VocabTrie vocab = smol_vocab(tok);
    SamplingParams p;
    p.temperature = 0;
    for (int32_t id = 0; id < tok.n_vocab(); ++id)
        if (token_to_piece(tok, id, false) == "q") p.logit_bias.push_back({id, -INFINITY});
    auto sampler = Sampler::create(p, tok.n_vocab());
    ASSERT_TRUE(sampler.is_ok()) << sampler.message();
    Decoder d(&tok, *sampler, with_grammar(R"(root ::= "q")", vocab));
    d.start(std::vector<int32_t>{1});
    std::vector<float> logits(size_t(tok.n_vocab()), 0.0f);
    auto st = d.step(logits, 1, 1000);
    EXPECT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("grammar"), std::string::npos) << st.message();
}

} // namespace
} // namespace hearth
