// ModelConfig from GGUF metadata: real fixture models and hostile/unsupported metadata.
#include "gguf/writer.h"
#include "hearth/runtime.h"
#include "model/archs/archs.h"
#include "model/config.h"
#include "model_paths.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <string_view>

namespace hearth {
namespace {

TEST(ModelConfig, FixtureModels) {
    struct Expect {
        const char* file;
        const char* arch; // GGUF general.architecture
        int32_t n_layer, n_embd, n_head, n_head_kv, head_dim, n_vocab;
    } cases[] = {
        {"SmolLM2-135M-Instruct.Q4_1.gguf", "llama", 30, 576, 9, 3, 64, 49152},
        {"gemma-3-270m-q4_k_m.gguf", "gemma3", 18, 640, 4, 1, 256, 262144},
        {"qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "qwen2", 24, 896, 14, 2, 64, 151936},
    };
    for (const auto& e : cases) {
        const std::string path = test::model_path(e.file);
        ASSERT_TRUE(std::filesystem::exists(path)) << test::missing_model_message(path);
        auto f = gguf::File::open(path);
        ASSERT_TRUE(f) << f.message();
        auto c = read_model_config(*f);
        ASSERT_TRUE(c) << c.message();
        ASSERT_NE(c->arch, nullptr) << e.file;
        EXPECT_STREQ(c->arch->name, e.arch) << e.file;
        EXPECT_EQ(c->n_layer, e.n_layer) << e.file;
        EXPECT_EQ(c->n_embd, e.n_embd) << e.file;
        EXPECT_EQ(c->n_head, e.n_head) << e.file;
        EXPECT_EQ(c->n_head_kv, e.n_head_kv) << e.file;
        EXPECT_EQ(c->head_dim_k, e.head_dim) << e.file;
        EXPECT_EQ(c->n_vocab, e.n_vocab) << e.file;
        if (std::string_view(e.arch) == "gemma3") {
            EXPECT_EQ(c->sliding_window, 512);
            EXPECT_TRUE(c->swa_layer[0]);
            EXPECT_FALSE(c->swa_layer[5]);
            EXPECT_EQ(c->rope_base, 1e6f);
            EXPECT_EQ(c->rope_base_local, 1e4f);
        }
    }
}

TEST(ArchRegistry, EveryEntryIsCompleteAndFoundByItsName) {
    ASSERT_FALSE(arch_registry().empty());
    for (const ArchEntry& a : arch_registry()) {
        ASSERT_NE(a.name, nullptr);
        EXPECT_NE(a.configure, nullptr) << a.name;
        EXPECT_NE(a.forward, nullptr) << a.name;
        EXPECT_EQ(find_arch(a.name), &a) << a.name << " is not unique";
    }
    EXPECT_EQ(find_arch("mamba"), nullptr);
    EXPECT_EQ(find_arch(""), nullptr);
    EXPECT_EQ(find_arch("llama2"), nullptr);
    EXPECT_EQ(arch_names(), "llama, qwen2, qwen3, gemma3, phi3, bert, nomic-bert");
}

// A minimal GGUF with the given metadata and no tensors, in memory.
Result<ModelConfig> config_of(const std::vector<std::pair<std::string, gguf::Value>>& kv,
                              std::vector<uint8_t>* storage) {
    gguf::Writer w;
    for (const auto& [k, v] : kv)
        w.set(k, v);
    *storage = w.to_bytes();
    auto f = gguf::File::from_memory(*storage);
    if (!f) return f.status();
    return read_model_config(*f);
}

TEST(ModelConfig, ClearErrors) {
    std::vector<uint8_t> buf;
    auto unsupported = config_of({{"general.architecture", gguf::Value::make_string("mamba")}}, &buf);
    ASSERT_FALSE(unsupported);
    EXPECT_NE(unsupported.message().find("unsupported architecture 'mamba'"), std::string::npos);
    for (const ArchEntry& a : arch_registry()) // the error lists every supported name
        EXPECT_NE(unsupported.message().find(a.name), std::string::npos) << a.name << ": " << unsupported.message();

    auto missing = config_of({{"general.architecture", gguf::Value::make_string("llama")}}, &buf);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.message().find("llama.embedding_length"), std::string::npos) << missing.message();

    auto wrong_type = config_of({{"general.architecture", gguf::Value::make_string("llama")},
                                 {"llama.embedding_length", gguf::Value::make_string("576")}},
                                &buf);
    ASSERT_FALSE(wrong_type);
    EXPECT_NE(wrong_type.message().find("llama.embedding_length"), std::string::npos) << wrong_type.message();

    auto bad_heads = config_of({{"general.architecture", gguf::Value::make_string("llama")},
                                {"llama.embedding_length", gguf::Value::make_u32(576)},
                                {"llama.block_count", gguf::Value::make_u32(2)},
                                {"llama.feed_forward_length", gguf::Value::make_u32(1536)},
                                {"llama.context_length", gguf::Value::make_u32(2048)},
                                {"llama.attention.head_count", gguf::Value::make_u32(9)},
                                {"llama.attention.head_count_kv", gguf::Value::make_u32(4)}},
                               &buf);
    ASSERT_FALSE(bad_heads);
    EXPECT_NE(bad_heads.message().find("head_count"), std::string::npos) << bad_heads.message();
}

// The keys every architecture needs, for `arch`.
std::vector<std::pair<std::string, gguf::Value>> base_keys(const std::string& arch) {
    return {{"general.architecture", gguf::Value::make_string(arch)},
            {arch + ".embedding_length", gguf::Value::make_u32(64)},
            {arch + ".block_count", gguf::Value::make_u32(2)},
            {arch + ".feed_forward_length", gguf::Value::make_u32(128)},
            {arch + ".context_length", gguf::Value::make_u32(512)},
            {arch + ".attention.head_count", gguf::Value::make_u32(4)},
            {arch + ".vocab_size", gguf::Value::make_u32(32)}};
}

TEST(ModelConfig, PoolingFromMetadataElseTheArchitecturesDefault) {
    std::vector<uint8_t> buf;
    auto bert = config_of(base_keys("bert"), &buf);
    ASSERT_TRUE(bert) << bert.message();
    EXPECT_EQ(bert->pooling, Pooling::Mean);
    EXPECT_FALSE(bert->pooling_declared);
    EXPECT_FALSE(bert->causal);
    EXPECT_FALSE(bert->generative);
    EXPECT_EQ(bert->norm, NormKind::Layer);

    auto qwen3 = config_of(base_keys("qwen3"), &buf);
    ASSERT_TRUE(qwen3) << qwen3.message();
    EXPECT_EQ(qwen3->pooling, Pooling::Last);
    EXPECT_FALSE(qwen3->pooling_declared);
    EXPECT_TRUE(qwen3->causal);

    auto keys = base_keys("bert");
    keys.emplace_back("bert.pooling_type", gguf::Value::make_u32(2));
    auto cls = config_of(keys, &buf);
    ASSERT_TRUE(cls) << cls.message();
    EXPECT_EQ(cls->pooling, Pooling::Cls);
    EXPECT_TRUE(cls->pooling_declared);

    keys.back() = {"bert.pooling_type", gguf::Value::make_u32(0)}; // none: per-token vectors, not served
    auto none = config_of(keys, &buf);
    ASSERT_TRUE(none) << none.message();
    EXPECT_EQ(none->pooling, Pooling::Mean);

    keys.back() = {"bert.pooling_type", gguf::Value::make_u32(4)}; // rank (rerankers): not supported
    auto rank = config_of(keys, &buf);
    ASSERT_FALSE(rank);
    EXPECT_NE(rank.message().find("bert.pooling_type"), std::string::npos) << rank.message();

    keys.back() = {"bert.attention.causal", gguf::Value::make_bool(true)};
    auto causal = config_of(keys, &buf);
    ASSERT_FALSE(causal);
    EXPECT_NE(causal.message().find("bert.attention.causal"), std::string::npos) << causal.message();
}

TEST(Runtime, MissingTensorIsALoadError) {
    gguf::Writer w;
    w.set("general.architecture", gguf::Value::make_string("llama"));
    w.set("llama.embedding_length", gguf::Value::make_u32(64));
    w.set("llama.block_count", gguf::Value::make_u32(1));
    w.set("llama.feed_forward_length", gguf::Value::make_u32(128));
    w.set("llama.context_length", gguf::Value::make_u32(128));
    w.set("llama.attention.head_count", gguf::Value::make_u32(4));
    w.set("llama.vocab_size", gguf::Value::make_u32(32));
    const auto path = std::filesystem::temp_directory_path() / "hearth_missing_tensor.gguf";
    ASSERT_TRUE(w.write(path.string()).is_ok());
    auto e = Runtime::load(path.string());
    ASSERT_FALSE(e);
    EXPECT_NE(e.message().find("missing tensor 'token_embd.weight'"), std::string::npos) << e.message();
    std::filesystem::remove(path);
}

TEST(Session, ContextFullAndBadTokensAreErrorsThatChangeNothing) {
    const std::string path = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(std::filesystem::exists(path)) << test::missing_model_message(path);
    auto e = Runtime::load(path, RuntimeOptions{2});
    ASSERT_TRUE(e) << e.message();
    auto s = (*e)->create_session(SessionOptions{16, 8});
    ASSERT_TRUE(s) << s.message();
    std::vector<int32_t> toks = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ASSERT_TRUE((*s)->feed(toks).is_ok());
    std::vector<float> before((*s)->logits().begin(), (*s)->logits().end());
    Status full = (*s)->feed(toks);
    ASSERT_FALSE(full.is_ok());
    EXPECT_NE(full.message().find("context full"), std::string::npos) << full.message();
    EXPECT_EQ((*s)->n_past(), 10);
    const int32_t bad[2] = {5, 49152};
    Status oov = (*s)->feed(bad);
    ASSERT_FALSE(oov.is_ok());
    EXPECT_NE(oov.message().find("outside the vocabulary"), std::string::npos);
    EXPECT_EQ((*s)->n_past(), 10);
    EXPECT_TRUE(std::equal(before.begin(), before.end(), (*s)->logits().begin()));
    auto too_big = (*e)->create_session(SessionOptions{1 << 20, 8});
    EXPECT_FALSE(too_big);
}

} // namespace
} // namespace hearth
