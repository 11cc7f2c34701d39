// `hearth generate` and `hearth bench` driven as a user would, through the real binary.
#include "model_paths.h"
#include "run_command.h"

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

std::pair<int, std::string> run(const std::string& args, bool with_stderr = false) {
    const std::string cmd = std::string(HEARTH_BIN) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
    auto r = hearth::test::run_command(cmd);
    return {r.rc, std::move(r.out)};
}

std::string smol() {
    const std::string path = hearth::test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    EXPECT_TRUE(std::filesystem::exists(path)) << hearth::test::missing_model_message(path);
    return "'" + path + "'";
}

TEST(GenerateCommand, GreedyTokensMatchLlamaCpp) {
    // llama.cpp's greedy continuation of this prompt: tests/data/logits/smollm2-135m.json ("question").
    auto [rc, out] =
        run("generate -m " + smol() + " --prompt-tokens '1780 314 260 3575 282 4649 47' -n 8 --temp 0 -t 2");
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(out, "2 198 1 520 9531 198 504 3575\n");
}

TEST(GenerateCommand, VerboseReportsTimings) {
    auto [rc, out] = run("generate -m " + smol() + " --prompt-tokens '1 2 3' -n 4 --temp 0.7 --seed 3 --verbose", true);
    ASSERT_EQ(rc, 0);
    for (const char* s : {"load:", "prompt: 3 tokens", "time to first token:", "generation: 4 tokens", "tokens/s"}) {
        EXPECT_NE(out.find(s), std::string::npos) << s << " missing in:\n" << out;
    }
}

TEST(GenerateCommand, BadInputIsAClearError) {
    auto [rc1, e1] = run("generate -m " + smol() + " --prompt-tokens '1 x 3'", true);
    EXPECT_EQ(rc1, 2);
    EXPECT_NE(e1.find("'x' is not a token id"), std::string::npos) << e1;
    auto [rc2, e2] = run("generate -m " + smol() + " --prompt-tokens '1 99999999'", true);
    EXPECT_EQ(rc2, 1);
    EXPECT_NE(e2.find("outside the vocabulary"), std::string::npos) << e2;
    auto [rc3, e3] = run("generate -m " + smol() + " --prompt-tokens '1 2' --temp nan", true);
    EXPECT_NE(rc3, 0);
    EXPECT_NE(e3.find("temperature"), std::string::npos) << e3;
    auto [rc4, e4] = run("generate -m " + smol() + " --prompt-tokens '1 2 3 4 5 6 7 8 9' -c 8", true);
    EXPECT_EQ(rc4, 1);
    EXPECT_NE(e4.find("context full"), std::string::npos) << e4;
    auto [rc5, e5] = run("generate -m /nonexistent.gguf --prompt-tokens '1'", true);
    EXPECT_EQ(rc5, 1);
    EXPECT_NE(e5.find("/nonexistent.gguf"), std::string::npos) << e5;
}

TEST(BenchCommand, JsonHasPositiveRates) {
    auto [rc, out] = run("bench -m " + smol() + " -p 16 -n 4 -r 1 -t 2 --json");
    ASSERT_EQ(rc, 0);
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["arch"], "llama");
    EXPECT_EQ(j["n_prompt"], 16);
    EXPECT_GT(j["pp_tokens_per_s"].get<double>(), 0.0);
    EXPECT_GT(j["tg_tokens_per_s"].get<double>(), 0.0);
}

} // namespace
