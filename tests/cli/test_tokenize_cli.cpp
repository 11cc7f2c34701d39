// `hearth tokenize`, `detokenize` and `template` through the real binary.
#include "model_paths.h"
#include "run_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

std::pair<int, std::string> run(const std::string& args, bool with_stderr = false) {
    const std::string cmd = std::string(HEARTH_BIN) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
    auto r = hearth::test::run_command(cmd);
    return {r.rc, std::move(r.out)};
}

std::string model(const char* file) {
    const std::string path = hearth::test::model_path(file);
    EXPECT_TRUE(std::filesystem::exists(path)) << hearth::test::missing_model_message(path);
    return "'" + path + "'";
}

TEST(TokenizeCommand, MatchesLlamaCppAndRoundTrips) {
    // llama.cpp's tokens for this text (tests/data/logits/gemma3-270m.json, prompt "question", BOS added).
    auto [rc, out] =
        run("tokenize -m " + model("gemma-3-270m-q4_k_m.gguf") + " --text 'What is the capital of France?'");
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(out, "2 3689 563 506 5279 529 7001 236881\n");
    auto [rc2, text] =
        run("detokenize -m " + model("gemma-3-270m-q4_k_m.gguf") + " --ids '3689 563 506 5279 529 7001 236881'");
    ASSERT_EQ(rc2, 0);
    EXPECT_EQ(text, "What is the capital of France?\n");
    auto [rc3, js] = run("tokenize -m " + model("SmolLM2-135M-Instruct.Q4_1.gguf") + " --text '<|im_start|>hi' --json");
    ASSERT_EQ(rc3, 0);
    const auto j = nlohmann::json::parse(js);
    ASSERT_FALSE(j["ids"].empty());
    EXPECT_EQ(j["ids"][0], 1); // <|im_start|> parsed as the special token
    EXPECT_EQ(j["pieces"][0], "<|im_start|>");
    auto [rc4, plain] =
        run("tokenize -m " + model("SmolLM2-135M-Instruct.Q4_1.gguf") + " --no-parse-special --text '<|im_start|>'");
    ASSERT_EQ(rc4, 0);
    EXPECT_NE(plain, "1\n"); // tokenized as plain text
}

TEST(TokenizeCommand, BadInputIsAClearError) {
    auto [rc1, e1] = run("tokenize -m " + model("gemma-3-270m-q4_k_m.gguf"), true);
    EXPECT_EQ(rc1, 2);
    EXPECT_NE(e1.find("--text or --stdin"), std::string::npos) << e1;
    auto [rc2, e2] = run("detokenize -m " + model("gemma-3-270m-q4_k_m.gguf") + " --ids '1 999999999'", true);
    EXPECT_EQ(rc2, 2);
    EXPECT_NE(e2.find("not a token id"), std::string::npos) << e2;
    // Invalid UTF-8 and NUL bytes in the input still give tokens.
    const auto bad = std::filesystem::temp_directory_path() / "hearth_bad_utf8.txt";
    {
        std::ofstream f(bad, std::ios::binary);
        const char bytes[] = {'a', '\xff', '\xfe', '\0', 'b', '\xc3'};
        f.write(bytes, sizeof bytes);
    }
    auto [rc3, out3] =
        run("tokenize -m " + model("SmolLM2-135M-Instruct.Q4_1.gguf") + " --stdin < '" + bad.string() + "'");
    std::filesystem::remove(bad);
    EXPECT_EQ(rc3, 0);
    EXPECT_FALSE(out3.empty());
}

TEST(TemplateCommand, ModelTemplateFallbackAndOverride) {
    const std::string msgs = R"('[{"role":"user","content":"Hi!"}]')";
    auto [rc, out] = run("template -m " + model("SmolLM2-135M-Instruct.Q4_1.gguf") + " --messages " + msgs);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(out,
              "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
              "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    // Gemma 3 270M (base model) has no template: ChatML is the fallback.
    auto [rc2, out2] = run("template -m " + model("gemma-3-270m-q4_k_m.gguf") + " --messages " + msgs);
    ASSERT_EQ(rc2, 0);
    EXPECT_EQ(out2, "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    // A user template overrides the model's.
    const auto path = std::filesystem::temp_directory_path() / "hearth_override.jinja";
    {
        std::ofstream f(path);
        f << "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}";
    }
    auto [rc3, out3] = run("template -m " + model("gemma-3-270m-q4_k_m.gguf") + " --messages " + msgs +
                           " --template '" + path.string() + "' --no-generation-prompt");
    ASSERT_EQ(rc3, 0);
    EXPECT_EQ(out3, "<bos>[user] Hi!");
    // A hostile template is a sandbox error, not a crash or a hang.
    {
        std::ofstream f(path);
        f << "{{ ''.__class__ }}{% for i in range(10**9) %}x{% endfor %}";
    }
    auto [rc4, out4] = run("template -m " + model("gemma-3-270m-q4_k_m.gguf") + " --messages " + msgs +
                               " --template '" + path.string() + "'",
                           true);
    EXPECT_EQ(rc4, 1);
    EXPECT_NE(out4.find("chat template:"), std::string::npos) << out4;
    std::filesystem::remove(path);
    auto [rc5, out5] = run("template -m " + model("gemma-3-270m-q4_k_m.gguf") + " --messages '{\"x\":1}'", true);
    EXPECT_EQ(rc5, 2);
}

} // namespace
