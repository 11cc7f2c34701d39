// tests/engine/test_embed_engine.cpp: LocalEngine::embed on the all-MiniLM-L6-v2 (BERT) and SmolLM2 fixtures:
// vectors equal the runtime's own (Session::embed, normalized), inputs beyond one batched call, next to a
// running generation, truncation, dimensions, and an embedding-only model refusing to generate.
#include "engine/local_engine.h"
#include "gguf/gguf.h"
#include "model_paths.h"
#include "tokenizer/tokenizer.h"

#include <cmath>
#include <future>
#include <gtest/gtest.h>

namespace hearth::engine {
namespace {

const std::string kMiniLm = test::model_path("all-MiniLM-L6-v2.F16.gguf");
const std::string kSmol = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");

Resolver resolver() {
    return [](const std::string& name) -> Result<ModelSpec> {
        ModelSpec s;
        s.name = name;
        if (name == "minilm")
            s.path = kMiniLm;
        else if (name == "smollm2")
            s.path = kSmol;
        else
            return error("model '" + name + "' not found");
        return s;
    };
}

LocalEngineOptions options() {
    LocalEngineOptions o;
    o.n_threads = 1;
    return o;
}

// What the runtime gives one text: tokenized as the engine does, Session::embed, normalized.
std::vector<float> reference(const std::string& path, const std::string& text) {
    auto rt = Runtime::load(path, RuntimeOptions{1});
    auto f = gguf::File::open(path);
    EXPECT_TRUE(rt && f);
    auto tok = load_tokenizer(*f);
    EXPECT_TRUE(tok);
    auto s = (*rt)->create_session(SessionOptions{512, 256, false});
    EXPECT_TRUE(s);
    EXPECT_TRUE((*s)->embed(tokenize(*tok, text, true, false)));
    std::vector<float> v((*s)->embedding().begin(), (*s)->embedding().end());
    l2_normalize(v);
    return v;
}

TEST(EmbedEngine, VectorsAreTheRuntimesOverManyBatchedCalls) {
    ASSERT_TRUE(std::filesystem::exists(kMiniLm)) << test::missing_model_message(kMiniLm);
    LocalEngine eng(resolver(), options());
    EmbedRequest r;
    r.model = "minilm";
    for (int i = 0; i < 19; ++i) // more inputs than one batched call takes
        r.texts.push_back("sentence number " + std::to_string(i) + (i % 3 ? " with a few more words" : ""));
    auto out = eng.embed(r, nullptr);
    ASSERT_TRUE(std::holds_alternative<Embeddings>(out)) << std::get<Status>(out).message();
    const auto& e = std::get<Embeddings>(out);
    ASSERT_EQ(e.vectors.size(), r.texts.size());
    EXPECT_EQ(e.pooling, Pooling::Mean);
    EXPECT_FALSE(e.matryoshka);
    for (size_t i : {size_t(0), size_t(7), size_t(8), size_t(18)})
        EXPECT_EQ(e.vectors[i], reference(kMiniLm, r.texts[i])) << i;
}

TEST(EmbedEngine, NextToARunningGenerationAndOnAGenerativeModel) {
    ASSERT_TRUE(std::filesystem::exists(kSmol)) << test::missing_model_message(kSmol);
    LocalEngine eng(resolver(), options());
    Request g;
    g.model = "smollm2";
    g.messages = {{"user", "Count from one to twenty."}};
    g.sampling.temperature = 0;
    g.seed_set = true;
    g.max_tokens = 40;
    auto gen = std::async(std::launch::async, [&] {
        return eng.generate(
            g, [](const TokenEvent&) { return true; }, nullptr);
    });
    EmbedRequest r;
    r.model = "smollm2";
    r.texts = {"The capital of France is Paris."};
    auto out = eng.embed(r, nullptr);
    ASSERT_TRUE(std::holds_alternative<Embeddings>(out)) << std::get<Status>(out).message();
    EXPECT_EQ(std::get<Embeddings>(out).pooling, Pooling::Last); // a generative model: its last token
    EXPECT_EQ(std::get<Embeddings>(out).vectors[0], reference(kSmol, r.texts[0]));
    auto done = gen.get();
    EXPECT_TRUE(std::holds_alternative<Completion>(done));
}

TEST(EmbedEngine, TruncationDimensionsAndRefusals) {
    ASSERT_TRUE(std::filesystem::exists(kMiniLm)) << test::missing_model_message(kMiniLm);
    LocalEngine eng(resolver(), options());
    EmbedRequest r;
    r.model = "minilm";
    std::string long_text;
    for (int i = 0; i < 700; ++i)
        long_text += "word ";
    r.texts = {long_text};
    auto cut = eng.embed(r, nullptr);
    ASSERT_TRUE(std::holds_alternative<Embeddings>(cut));
    EXPECT_EQ(std::get<Embeddings>(cut).prompt_tokens, 512);
    r.truncate = false;
    auto refused = eng.embed(r, nullptr);
    ASSERT_TRUE(std::holds_alternative<Status>(refused));
    EXPECT_EQ(std::get<Status>(refused).code(), Code::ContextFull);
    EXPECT_EQ(std::get<Status>(refused).field(), "input");

    r.texts = {"short"};
    r.truncate = true;
    r.dimensions = 64;
    auto dims = eng.embed(r, nullptr);
    ASSERT_TRUE(std::holds_alternative<Status>(dims));
    EXPECT_EQ(std::get<Status>(dims).field(), "dimensions");
    r.dimensions = 384; // the model's own width is always fine
    EXPECT_TRUE(std::holds_alternative<Embeddings>(eng.embed(r, nullptr)));

    r.dimensions = 0;
    r.model = "nope";
    auto missing = eng.embed(r, nullptr);
    ASSERT_TRUE(std::holds_alternative<Status>(missing));
    EXPECT_EQ(std::get<Status>(missing).code(), Code::NotFound);

    Request g;
    g.model = "minilm";
    g.messages = {{"user", "hi"}};
    auto gen = eng.generate(
        g, [](const TokenEvent&) { return true; }, nullptr);
    ASSERT_TRUE(std::holds_alternative<Status>(gen));
    EXPECT_EQ(std::get<Status>(gen).field(), "model");
    EXPECT_NE(std::get<Status>(gen).message().find("embeddings only"), std::string::npos);
}

} // namespace
} // namespace hearth::engine
