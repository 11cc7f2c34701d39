// Conformance: llama.cpp's tokenizer test strings for every shipped vocabulary, and the prompts of the
// fixture models' golden logits files (tokens recorded from llama.cpp).
#include "tokenizer_fixtures.h"

#include <nlohmann/json.hpp>

namespace hearth {
namespace {

using test::read_inp;
using test::read_out;

std::string show(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids)
        s += " " + std::to_string(id);
    return s;
}

// Runs every .inp/.out pair of `name` through `tok`; returns the number of strings that pass.
int check_pairs(const Tokenizer& tok, const std::string& name) {
    const std::string base = test::vocab_dir() + "/ggml-vocab-" + name + ".gguf";
    const auto inputs = read_inp(base + ".inp");
    const auto expected = read_out(base + ".out");
    EXPECT_FALSE(inputs.empty()) << base << ".inp";
    EXPECT_EQ(inputs.size(), expected.size()) << name;
    int passed = 0;
    for (size_t i = 0; i < std::min(inputs.size(), expected.size()); ++i) {
        const auto got = tokenize(tok, inputs[i], /*add_special=*/false, /*parse_special=*/false);
        if (got == expected[i]) {
            ++passed;
        } else {
            ADD_FAILURE() << name << " string " << i << " '" << inputs[i] << "'\n  expected:" << show(expected[i])
                          << "\n  got:     " << show(got);
        }
    }
    std::printf("[ vocab    ] %-15s %d/%zu strings match llama.cpp\n", name.c_str(), passed, inputs.size());
    return passed;
}

class VocabFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(VocabFixture, MatchesLlamaCpp) {
    const std::string name = GetParam();
    const Tokenizer tok = test::load_or_fail(test::vocab_dir() + "/ggml-vocab-" + name + ".gguf");
    ASSERT_GT(tok.n_vocab(), 0);
    check_pairs(tok, name);
}

INSTANTIATE_TEST_SUITE_P(All, VocabFixture,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "mpt", "starcoder", "refact", "falcon",
                                           "deepseek-coder", "deepseek-llm", "bert-bge", "llama-bpe", "qwen2",
                                           "command-r"),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 c = std::isalnum(uint8_t(c)) ? c : '_';
                             return s;
                         });

// Vocabularies shipped without test strings must still load and round-trip plain text.
TEST(VocabFixture, LoadsVocabulariesWithoutStrings) {
    for (const char* name : {"baichuan", "gpt-neox", "aquila"}) {
        const Tokenizer tok = test::load_or_fail(test::vocab_dir() + "/ggml-vocab-" + std::string(name) + ".gguf");
        ASSERT_GT(tok.n_vocab(), 0) << name;
        const std::string text = "Hello world, this is a test: 123 🦙";
        const auto ids = tokenize(tok, text, false, false);
        EXPECT_FALSE(ids.empty()) << name;
        EXPECT_EQ(detokenize(tok, ids, false), text) << name;
    }
}

// The same strings through the fixture model's own copy of the Qwen2 vocabulary.
TEST(VocabFixture, Qwen2WithModelVocabulary) {
    const std::string path = test::model_path("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    const Tokenizer tok = test::load_or_fail(path);
    ASSERT_GT(tok.n_vocab(), 0) << test::missing_model_message(path);
    EXPECT_EQ(tok.pre, "qwen2");
    check_pairs(tok, "qwen2");
}

// The prompts of tests/data/logits/*.json, tokenized by llama.cpp when the goldens were made.
class LogitsPrompts : public ::testing::TestWithParam<test::FixtureModel> {};

TEST_P(LogitsPrompts, MatchLlamaCppTokens) {
    const auto fm = GetParam();
    if (fm.name == std::string(test::kMissionModel.name) && !test::mission_tests_enabled())
        GTEST_SKIP() << "needs the 1.1 GB mission model: scripts/test --mission";
    const std::string path = test::model_path(fm.file);
    const Tokenizer tok = test::load_or_fail(path);
    ASSERT_GT(tok.n_vocab(), 0) << test::missing_model_message(path);
    const auto golden =
        nlohmann::json::parse(test::read_file(HEARTH_TEST_DATA "/logits/" + std::string(fm.name) + ".json"));
    int n = 0;
    for (const auto& p : golden.at("prompts")) {
        const std::string text = p.at("text");
        const bool parse_special = p.at("parse_special");
        const bool add_bos = p.at("add_bos");
        const auto expected = p.at("tokens").get<std::vector<int32_t>>();
        EXPECT_EQ(tok.add_bos, add_bos) << fm.name;
        const auto got = tokenize(tok, text, /*add_special=*/true, parse_special);
        EXPECT_EQ(got, expected) << fm.name << " prompt '" << text << "'\n  expected:" << show(expected)
                                 << "\n  got:     " << show(got);
        ++n;
    }
    EXPECT_GT(n, 0);
    for (const auto& id : golden.value("eog_tokens", nlohmann::json::array())) {
        EXPECT_TRUE(is_eog(tok, id.get<int32_t>())) << fm.name << " eog " << id;
    }
}

INSTANTIATE_TEST_SUITE_P(Models, LogitsPrompts, ::testing::ValuesIn(test::kFixtureModels), test::FixtureParamName());
INSTANTIATE_TEST_SUITE_P(Mission, LogitsPrompts, ::testing::Values(test::kMissionModel), test::FixtureParamName());

} // namespace
} // namespace hearth
