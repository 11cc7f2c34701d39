// Modelfiles: Ollama's syntax (quotes, triple quotes, comments, case), typed parameters, errors with
// line numbers, and `create` from a GGUF path or from another model (inheriting, then overriding).
#include "store/modelfile.h"
#include "store_test_util.h"

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using namespace hearth::store;
using hearth::test::tiny_model;
using hearth::test::write_file;

namespace {

TEST(Modelfile, ParsesOllamaSyntax) {
    const std::string text = "# a comment\n"
                             "from ./model.gguf\n"
                             "\n"
                             "  # indented comment\n"
                             "PARAMETER temperature 0.7\n"
                             "parameter num_ctx 4096\n"
                             "PARAMETER stop \"<|im_end|>\"\n"
                             "PARAMETER stop <|endoftext|>\n"
                             "PARAMETER seed -1\n"
                             "TEMPLATE \"\"\"{{ if .System }}<|im_start|>system\n"
                             "{{ .System }}<|im_end|>\n"
                             "{{ end }}# not a comment\"\"\"\n"
                             "System You are Mario from Super Mario Bros.   \r\n"
                             "LICENSE \"\"\"MIT\"\"\"\n"
                             "LICENSE Apache-2.0\n"
                             "MESSAGE user \"Is \\\"Toronto\\\" in Canada?\"\n"
                             "MESSAGE Assistant yes\n";
    auto mf = parse_modelfile(text);
    ASSERT_TRUE(mf) << mf.message();
    EXPECT_EQ(mf->from, "./model.gguf");
    EXPECT_EQ(mf->from_line, 2);
    EXPECT_EQ(mf->params["temperature"], 0.7);
    EXPECT_EQ(mf->params["num_ctx"], 4096);
    EXPECT_TRUE(mf->params["num_ctx"].is_number_integer());
    EXPECT_EQ(mf->params["seed"], -1);
    EXPECT_EQ(mf->params["stop"], (nlohmann::json{"<|im_end|>", "<|endoftext|>"}));
    EXPECT_EQ(*mf->template_text,
              "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}# not a comment");
    EXPECT_EQ(*mf->system, "You are Mario from Super Mario Bros.");
    EXPECT_EQ(*mf->license, "MIT\n\nApache-2.0");
    ASSERT_EQ(mf->messages.size(), 2u);
    EXPECT_EQ(mf->messages[0]["role"], "user");
    EXPECT_EQ(mf->messages[0]["content"], "Is \"Toronto\" in Canada?");
    EXPECT_EQ(mf->messages[1]["role"], "assistant");
    EXPECT_EQ(mf->messages[1]["content"], "yes");
}

TEST(Modelfile, QuotedValuesSpanLines) {
    auto mf = parse_modelfile("FROM m\nSYSTEM \"line one\nline two\"\nTEMPLATE \"\"\"\n\"\"\"\n");
    ASSERT_TRUE(mf) << mf.message();
    EXPECT_EQ(*mf->system, "line one\nline two");
    EXPECT_EQ(*mf->template_text, "\n");
}

TEST(Modelfile, ErrorsNameTheLine) {
    struct Case {
        std::string text, needle;
    };
    const std::vector<Case> cases = {
        {"FROM m\nPARAMETER temprature 1\n", "Modelfile:2: unknown parameter 'temprature'"},
        {"FROM m\n\nPARAMETER temperature hot\n", "Modelfile:3: PARAMETER temperature: 'hot' is not a number"},
        {"FROM m\nPARAMETER num_ctx 4096.5\n", "Modelfile:2: PARAMETER num_ctx: '4096.5' is not an integer"},
        {"FROM m\nPARAMETER top_k\n", "Modelfile:2: PARAMETER top_k needs a value"},
        {"FROM m\nPARAMETER temperature inf\n", "Modelfile:2: PARAMETER temperature: 'inf' is not a number"},
        {"FROM m\nPARAMETER seed 99999999999999999999999\n", "Modelfile:2"},
        {"FROM m\nMESSAGE robot hi\n", "Modelfile:2: MESSAGE role 'robot'"},
        {"FROM m\nADAPTER ./lora.gguf\n", "Modelfile:2: ADAPTER is not supported"},
        {"FROM m\nQUANTIZE q4\n", "Modelfile:2: unknown instruction 'QUANTIZE'"},
        {"FROM m\nSYSTEM \"\"\"never\nclosed\n", "Modelfile:2: SYSTEM: the \"\"\" opened here is never closed"},
        {"FROM m\nSYSTEM \"open\n", "Modelfile:2: SYSTEM: the quote opened here is never closed"},
        {"FROM m\nSYSTEM \"a\" b\n", "Modelfile:2: SYSTEM: unexpected text after the closing quote"},
        {"FROM m\nSYSTEM \"\"\"a\nb\"\"\" junk\n", "Modelfile:3: SYSTEM: unexpected text"},
        {"FROM m\nFROM n\n", "Modelfile:2: FROM given twice (first on line 1)"},
        {"FROM\n", "Modelfile:1: FROM needs a value"},
        {"# only a comment\nSYSTEM hi\n", "no FROM instruction"},
        {"", "no FROM instruction"},
    };
    for (const auto& c : cases) {
        auto mf = parse_modelfile(c.text);
        ASSERT_FALSE(mf) << c.text;
        EXPECT_NE(mf.message().find(c.needle), std::string::npos) << c.text << " -> " << mf.message();
    }
}

class CreateTest : public hearth::test::TempDirTest {
protected:
    void SetUp() override {
        TempDirTest::SetUp();
        auto s = open_store(dir_ / "store");
        ASSERT_TRUE(s) << s.message();
        store_ = *s;
    }
    Store store_;
};

TEST_F(CreateTest, FromAPathRelativeToTheModelfile) {
    const fs::path proj = dir_ / "proj";
    fs::create_directories(proj / "weights");
    fs::copy_file(tiny_model("tiny-qwen2.gguf"), proj / "weights/q.gguf");
    auto mf = parse_modelfile("FROM weights/q.gguf\nSYSTEM be terse\nPARAMETER temperature 0.1\n");
    ASSERT_TRUE(mf) << mf.message();
    auto m = create_model(store_, *parse_name("terse"), *mf, proj);
    ASSERT_TRUE(m) << m.message();
    auto r = resolve(store_, *parse_name("terse"));
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->system, "be terse");
    EXPECT_EQ(r->params, (nlohmann::json{{"temperature", 0.1}}));
    EXPECT_FALSE(r->template_text);
    EXPECT_EQ(r->manifest.config["architecture"], "qwen2");
    EXPECT_EQ(*sha256_file(r->model_path), *sha256_file(proj / "weights/q.gguf"));

    auto missing = parse_modelfile("FROM\tnothing/here.gguf\n");
    ASSERT_TRUE(missing);
    auto e = create_model(store_, *parse_name("x"), *missing, proj);
    ASSERT_FALSE(e);
    EXPECT_NE(e.message().find("line 1"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("no file"), std::string::npos) << e.message();

    write_file(proj / "junk.gguf", "junk");
    auto junk = create_model(store_, *parse_name("x"), *parse_modelfile("FROM junk.gguf"), proj);
    ASSERT_FALSE(junk);
    EXPECT_NE(junk.message().find("GGUF"), std::string::npos) << junk.message();
    EXPECT_FALSE(resolve(store_, *parse_name("x")));

    auto none = create_model(store_, *parse_name("x"), *parse_modelfile("FROM no-such-model"), proj);
    ASSERT_FALSE(none);
    EXPECT_NE(none.message().find("no model named 'no-such-model'"), std::string::npos) << none.message();
}

TEST_F(CreateTest, FromAModelInheritsAndOverrides) {
    const fs::path proj = dir_ / "proj";
    fs::create_directories(proj);
    auto base_mf = parse_modelfile("FROM " + tiny_model("tiny-llama3.gguf") +
                                   "\nTEMPLATE {{ .Prompt }}\nSYSTEM base system\nLICENSE base license\n"
                                   "PARAMETER temperature 0.5\nPARAMETER top_k 20\nMESSAGE user hello\n");
    ASSERT_TRUE(base_mf) << base_mf.message();
    ASSERT_TRUE(create_model(store_, *parse_name("base"), *base_mf, proj));

    auto child_mf = parse_modelfile("FROM base\nSYSTEM child system\nPARAMETER temperature 0.9\nPARAMETER stop END\n");
    ASSERT_TRUE(child_mf);
    auto m = create_model(store_, *parse_name("child:v2"), *child_mf, proj);
    ASSERT_TRUE(m) << m.message();
    auto base = resolve(store_, *parse_name("base"));
    auto child = resolve(store_, *parse_name("child:v2"));
    ASSERT_TRUE(base && child) << child.message();
    EXPECT_EQ(child->model_digest, base->model_digest);
    EXPECT_EQ(child->template_text, "{{ .Prompt }}");
    EXPECT_EQ(child->system, "child system");
    EXPECT_EQ(child->license, "base license");
    EXPECT_EQ(child->params, (nlohmann::json{{"temperature", 0.9}, {"top_k", 20}, {"stop", {"END"}}}));
    EXPECT_EQ(child->messages, base->messages);
    EXPECT_EQ(child->manifest.config["from"], "base:latest");
    EXPECT_EQ(child->manifest.config["architecture"], "llama");

    // Removing the base keeps everything the child uses.
    ASSERT_TRUE(remove_model(store_, *parse_name("base")));
    auto still = resolve(store_, *parse_name("child:v2"));
    ASSERT_TRUE(still) << still.message();
    EXPECT_EQ(still->template_text, "{{ .Prompt }}");
}

TEST_F(CreateTest, ShowModelfileRoundTrips) {
    auto mf =
        parse_modelfile("FROM " + tiny_model("tiny-qwen3.gguf") +
                        "\nTEMPLATE \"\"\"{{ .System }}\n\"quoted\" \"\"\"\nSYSTEM \"ends with a quote\\\"\"\n"
                        "PARAMETER stop \"<|im_end|>\"\nPARAMETER stop \"back\\\\slash\"\nPARAMETER num_ctx 2048\n"
                        "PARAMETER temperature 0.25\nMESSAGE user \"x\\\"\\\"\\\"y\"\nLICENSE MIT\n");
    ASSERT_TRUE(mf) << mf.message();
    EXPECT_EQ(*mf->system, "ends with a quote\"");
    EXPECT_EQ(mf->params["stop"][1], "back\\slash");
    EXPECT_EQ(mf->messages[0]["content"], "x\"\"\"y");
    ASSERT_TRUE(create_model(store_, *parse_name("q"), *mf, dir_));
    auto r = resolve(store_, *parse_name("q"));
    ASSERT_TRUE(r);
    const std::string text = format_modelfile(*r);
    EXPECT_NE(text.find("FROM " + r->model_path.string()), std::string::npos) << text;
    auto back = parse_modelfile(text);
    ASSERT_TRUE(back) << back.message() << "\n" << text;
    EXPECT_EQ(back->template_text, r->template_text);
    EXPECT_EQ(back->system, r->system);
    EXPECT_EQ(back->license, r->license);
    EXPECT_EQ(back->params, r->params);
    EXPECT_EQ(back->messages, r->messages);
    // And creating from the printed Modelfile gives the same model.
    ASSERT_TRUE(create_model(store_, *parse_name("q2"), *back, dir_));
    auto r2 = resolve(store_, *parse_name("q2"));
    ASSERT_TRUE(r2);
    EXPECT_EQ(manifest_to_json(r2->manifest).size() > 0, true);
    EXPECT_EQ(r2->model_digest, r->model_digest);
    EXPECT_EQ(r2->manifest.layers.size(), r->manifest.layers.size());
    for (size_t i = 0; i < r->manifest.layers.size(); ++i)
        EXPECT_EQ(r2->manifest.layers[i].digest, r->manifest.layers[i].digest);
}

TEST_F(CreateTest, ReadModelfileFromDisk) {
    write_file(dir_ / "Modelfile", "FROM x\nPARAMETER bogus 1\n");
    auto mf = read_modelfile(dir_ / "Modelfile");
    ASSERT_FALSE(mf);
    EXPECT_NE(mf.message().find((dir_ / "Modelfile").string() + ":2:"), std::string::npos) << mf.message();
    auto missing = read_modelfile(dir_ / "none");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.message().find("cannot read the Modelfile"), std::string::npos);
}

} // namespace
