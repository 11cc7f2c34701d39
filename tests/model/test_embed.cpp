// Embeddings against llama.cpp (golden data from tools/make-embed-golden.py: llama-cpp-python 0.3.36's
// Llama.embed, not normalized) on two fixture models: all-MiniLM-L6-v2 (the BERT encoder, mean pooling) and
// Qwen2.5-Coder-0.5B (a decoder used for embeddings, last-token pooling); and on two random-weight models in
// tests/data/embed: a Qwen3-Embedding-shaped decoder (declared last-token pooling) and a nomic-bert encoder with
// the real bert-bge vocabulary.
//
// For every text: our token ids equal llama.cpp's, and cosine(ours, llama.cpp's) >= 0.999 (the bar; the
// measured figures are printed). Also: the batched form gives each input exactly what it gets alone, pooling
// and normalization behave, and an embedding-only model refuses to generate.
#include "gguf/gguf.h"
#include "hearth/runtime.h"
#include "model_paths.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hearth {
namespace {

using nlohmann::json;

json load_golden(const std::string& name) {
    std::ifstream in(std::string(HEARTH_TEST_DATA) + "/embed/" + name + ".json");
    EXPECT_TRUE(in.good()) << "missing golden file for " << name;
    return in.good() ? json::parse(in) : json();
}

double cosine(std::span<const float> a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        ab += double(a[i]) * double(b[i]);
        aa += double(a[i]) * double(a[i]);
        bb += double(b[i]) * double(b[i]);
    }
    return ab / std::sqrt(aa * bb);
}

struct Loaded {
    std::unique_ptr<Runtime> rt;
    Tokenizer tok;
};

// A fixture model (scripts/fetch-models), a file under tests/data/embed, or one scripts/fetch-fixtures makes
// (its generated/ folder: the tiny nomic-bert, whose weights are not kept in git).
std::optional<Loaded> load(const std::string& file) {
    const std::string data = std::string(HEARTH_TEST_DATA) + "/embed/" + file;
    const std::string generated = test::fixtures_dir() + "/generated/" + file;
    const std::string path = std::filesystem::exists(data)        ? data
                             : std::filesystem::exists(generated) ? generated
                                                                  : test::model_path(file);
    if (!std::filesystem::exists(path)) {
        ADD_FAILURE() << test::missing_model_message(path);
        return std::nullopt;
    }
    auto rt = Runtime::load(path, RuntimeOptions{2});
    EXPECT_TRUE(rt) << rt.message();
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f) << f.message();
    if (!rt || !f) return std::nullopt;
    auto tok = load_tokenizer(*f);
    EXPECT_TRUE(tok) << tok.message();
    if (!tok) return std::nullopt;
    return Loaded{std::move(*rt), std::move(*tok)};
}

// Every text of the golden file: same token ids, cosine >= 0.999. Returns the smallest cosine.
double check_against_golden(const std::string& name, Pooling pooling) {
    const json g = load_golden(name);
    if (g.is_null()) return 0;
    auto m = load(g["model_file"].get<std::string>());
    if (!m) return 0;
    EXPECT_EQ(m->rt->info().pooling, pooling);
    EXPECT_EQ(m->rt->info().n_embd, g["n_embd"].get<int32_t>());
    auto s = m->rt->create_session(SessionOptions{std::min(512, m->rt->info().n_ctx_train), 256, false});
    EXPECT_TRUE(s) << s.message();
    if (!s) return 0;
    double worst = 1;
    for (const json& item : g["items"]) {
        const auto text = item["text"].get<std::string>();
        const auto ids = tokenize(m->tok, text, true, false);
        EXPECT_EQ(ids, item["tokens"].get<std::vector<int32_t>>()) << name << ": " << text;
        Status st = (*s)->embed(ids);
        EXPECT_TRUE(st) << st.message();
        const double cos = cosine((*s)->embedding(), item["embedding"].get<std::vector<float>>());
        EXPECT_GE(cos, 0.999) << name << ": " << text;
        std::string shown = text;
        std::replace_if(
            shown.begin(), shown.end(), [](char ch) { return ch == '\n' || ch == '\t'; }, ' ');
        std::printf("[embed]   %-40.40s cosine %.7f (llama.cpp flash-attention vs not: %.7f)\n", shown.c_str(), cos,
                    item["check"]["flash_attn_cosine"].get<double>());
        worst = std::min(worst, cos);
    }
    std::printf("[embed] %s (%s pooling): min cosine vs llama.cpp over %zu texts = %.7f\n", name.c_str(),
                pooling_name(pooling), g["items"].size(), worst);
    return worst;
}

TEST(EmbedGolden, MiniLmBertMeanPooling) {
    check_against_golden("all-minilm-l6-v2", Pooling::Mean);
}

TEST(EmbedGolden, QwenDecoderLastTokenPooling) {
    check_against_golden("qwen2.5-coder-0.5b", Pooling::Last);
}

TEST(EmbedGolden, TinyQwen3EmbeddingDeclaredLastPooling) {
    check_against_golden("tiny-qwen3-embed", Pooling::Last);
}

TEST(EmbedGolden, TinyNomicBertRealVocabulary) {
    check_against_golden("tiny-nomic-bert", Pooling::Mean);
}

// embed_batch: each input gets exactly (bit for bit) what Session::embed gives it alone.
void check_batch_equals_single(const std::string& file) {
    auto m = load(file);
    if (!m) return;
    const std::vector<std::string> texts = {"first input", "a somewhat longer second input, with punctuation!", "3",
                                            "the fourth input is the last one"};
    std::vector<std::unique_ptr<Session>> sessions;
    std::vector<std::vector<int32_t>> ids;
    std::vector<BatchItem> items;
    for (const auto& t : texts) {
        auto s = m->rt->create_session(SessionOptions{128, 128, false});
        ASSERT_TRUE(s) << s.message();
        sessions.push_back(std::move(*s));
        ids.push_back(tokenize(m->tok, t, true, false));
    }
    for (size_t i = 0; i < texts.size(); ++i)
        items.push_back(BatchItem{sessions[i].get(), ids[i]});
    ASSERT_TRUE(m->rt->embed_batch(items));
    auto alone = m->rt->create_session(SessionOptions{128, 128, false});
    ASSERT_TRUE(alone);
    for (size_t i = 0; i < texts.size(); ++i) {
        ASSERT_TRUE((*alone)->embed(ids[i]));
        const auto a = (*alone)->embedding(), b = sessions[i]->embedding();
        EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << file << ": " << texts[i];
        EXPECT_EQ(sessions[i]->n_past(), int32_t(ids[i].size()));
    }
}

TEST(Embed, BatchEqualsSingleEncoder) {
    check_batch_equals_single("all-MiniLM-L6-v2.F16.gguf");
}

TEST(Embed, BatchEqualsSingleDecoder) {
    check_batch_equals_single("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
}

TEST(Embed, EncoderIsEmbeddingOnly) {
    auto m = load("all-MiniLM-L6-v2.F16.gguf");
    if (!m) return;
    const ModelInfo& info = m->rt->info();
    EXPECT_FALSE(info.can_generate);
    EXPECT_TRUE(info.embedding_model);
    EXPECT_EQ(info.arch, "bert");
    auto s = m->rt->create_session(SessionOptions{0, 256, false});
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)->n_ctx(), 512);
    const std::vector<int32_t> ids = {101, 7592, 2088, 102};
    Status st = (*s)->feed(ids);
    EXPECT_FALSE(st);
    EXPECT_NE(st.message().find("embeddings only"), std::string::npos) << st.message();
    // The whole context in one pass; one more token is refused with context_full, nothing run.
    std::vector<int32_t> long_ids(513, 1000);
    st = (*s)->embed(long_ids);
    EXPECT_EQ(st.code(), Code::ContextFull) << st.message();
    long_ids.resize(512);
    EXPECT_TRUE((*s)->embed(long_ids));
    // Normalization.
    std::vector<float> v((*s)->embedding().begin(), (*s)->embedding().end());
    l2_normalize(v);
    double n2 = 0;
    for (float x : v)
        n2 += double(x) * x;
    EXPECT_NEAR(n2, 1.0, 1e-6);
}

TEST(Embed, DecoderDefaultsToLastTokenAndStillGenerates) {
    auto m = load("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    if (!m) return;
    EXPECT_TRUE(m->rt->info().can_generate);
    EXPECT_FALSE(m->rt->info().embedding_model); // no pooling_type in the file: our default
    EXPECT_EQ(m->rt->info().pooling, Pooling::Last);
    auto s = m->rt->create_session(SessionOptions{64, 16, false});
    ASSERT_TRUE(s);
    const auto ids = tokenize(
        m->tok,
        "an input that is longer than one batch of sixteen tokens, so that the decoder has to split it over passes",
        true, false);
    ASSERT_GT(ids.size(), 16u);
    ASSERT_TRUE((*s)->embed(ids)); // several passes: last-token pooling takes the last one's
    const std::vector<float> split((*s)->embedding().begin(), (*s)->embedding().end());
    auto whole = m->rt->create_session(SessionOptions{64, 64, false});
    ASSERT_TRUE(whole);
    ASSERT_TRUE((*whole)->embed(ids));
    EXPECT_GE(cosine((*whole)->embedding(), split), 0.9999);
    // The session can then generate after what it embedded.
    ASSERT_TRUE((*s)->feed(std::vector<int32_t>{ids[0]}));
    EXPECT_EQ((*s)->n_past(), int32_t(ids.size()) + 1);
}

} // namespace
} // namespace hearth
