// `hearth inspect` against what the `gguf` PyPI package reads from the same files
// (golden JSON made by tools/make-inspect-golden.py).
#include "cli/inspect.h"
#include "model_paths.h"
#include "run_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace hearth::cli {
namespace {

using nlohmann::json;

json read_json(const std::string& path) {
    std::ifstream f(path);
    EXPECT_TRUE(f.good()) << "cannot read " << path;
    return json::parse(f);
}

class InspectFixture : public ::testing::TestWithParam<test::FixtureModel> {};

TEST_P(InspectFixture, MatchesGgufPythonPackage) {
    const auto& m = GetParam();
    const std::string path = test::model_path(m.file);
    ASSERT_TRUE(std::filesystem::exists(path)) << test::missing_model_message(path);
    const json g = read_json(std::string(HEARTH_TEST_DATA) + "/inspect/" + m.name + ".json");

    auto file = gguf::File::open(path);
    ASSERT_TRUE(file) << file.message();
    auto rep = inspect(*file, path);
    ASSERT_TRUE(rep) << rep.message();
    const InspectReport& r = *rep;

    EXPECT_EQ(r.file_size, g["file_size"].get<uint64_t>());
    EXPECT_EQ(r.gguf_version, g["gguf_version"].get<uint32_t>());
    EXPECT_EQ(r.n_kv, g["n_kv"].get<uint64_t>());
    EXPECT_EQ(r.tensors.size(), g["n_tensors"].get<size_t>());
    EXPECT_EQ(r.architecture, g["architecture"].get<std::string>());
    EXPECT_EQ(r.name, g["name"].get<std::string>());
    ASSERT_TRUE(r.file_type.has_value());
    EXPECT_EQ(*r.file_type, llama_ftype_name(g["general_file_type"].get<uint64_t>()));
    EXPECT_EQ(r.n_params, g["n_params"].get<uint64_t>());
    EXPECT_EQ(r.tensor_bytes, g["tensor_bytes"].get<uint64_t>());
    EXPECT_EQ(file->data_offset(), g["data_offset"].get<uint64_t>());
    EXPECT_NEAR(r.bits_per_weight, 8.0 * g["tensor_bytes"].get<double>() / g["n_params"].get<double>(), 1e-9);

    auto check_opt = [&](const char* key, const std::optional<uint64_t>& v) {
        if (g[key].is_null()) {
            EXPECT_FALSE(v.has_value()) << key;
        } else {
            ASSERT_TRUE(v.has_value()) << key;
            EXPECT_EQ(*v, g[key].get<uint64_t>()) << key;
        }
    };
    check_opt("context_length", r.context_length);
    check_opt("embedding_length", r.embedding_length);
    check_opt("block_count", r.block_count);
    check_opt("feed_forward_length", r.feed_forward_length);
    check_opt("head_count", r.head_count);
    check_opt("head_count_kv", r.head_count_kv);

    ASSERT_EQ(r.quant_mix.size(), g["quant_mix"].size());
    for (const auto& q : r.quant_mix) {
        std::string lower = q.type;
        for (char& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        ASSERT_TRUE(g["quant_mix"].contains(lower)) << q.type;
        const json& e = g["quant_mix"][lower];
        EXPECT_EQ(q.n_tensors, e["n_tensors"].get<uint64_t>()) << q.type;
        EXPECT_EQ(q.n_elements, e["n_elements"].get<uint64_t>()) << q.type;
        EXPECT_EQ(q.n_bytes, e["n_bytes"].get<uint64_t>()) << q.type;
    }

    const json& tok = g["tokenizer"];
    EXPECT_EQ(r.tokenizer_model, tok["model"].get<std::string>());
    EXPECT_EQ(r.tokenizer_pre, tok["pre"].is_null() ? "" : tok["pre"].get<std::string>());
    EXPECT_EQ(r.vocab_size, tok["vocab_size"].get<uint64_t>());
    EXPECT_EQ(r.add_bos.has_value(), !tok["add_bos"].is_null());
    if (r.add_bos) {
        EXPECT_EQ(*r.add_bos, tok["add_bos"].get<bool>());
    }
    EXPECT_EQ(r.add_eos.has_value(), !tok["add_eos"].is_null());
    if (r.add_eos) {
        EXPECT_EQ(*r.add_eos, tok["add_eos"].get<bool>());
    }

    ASSERT_EQ(r.special_tokens.size(), g["special_tokens"].size());
    for (const auto& s : r.special_tokens) {
        ASSERT_TRUE(g["special_tokens"].contains(s.role)) << s.role;
        EXPECT_EQ(s.id, g["special_tokens"][s.role]["id"].get<int64_t>()) << s.role;
        EXPECT_EQ(s.text, g["special_tokens"][s.role]["text"].get<std::string>()) << s.role;
    }
    EXPECT_EQ(r.has_chat_template, g["chat_template"]["present"].get<bool>());
    EXPECT_EQ(r.chat_template_bytes, g["chat_template"]["bytes"].get<uint64_t>());

    const json& gt = g["tensors"];
    ASSERT_EQ(r.tensors.size(), gt.size());
    for (size_t i = 0; i < r.tensors.size(); ++i) {
        const auto& t = r.tensors[i];
        EXPECT_EQ(t.name, gt[i][0].get<std::string>());
        std::string type(dtype_name(t.type));
        for (char& c : type)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_EQ(type, gt[i][1].get<std::string>()) << t.name;
        EXPECT_EQ(t.ne, gt[i][2].get<std::vector<uint64_t>>()) << t.name;
        EXPECT_EQ(file->data_offset() + t.offset, gt[i][3].get<uint64_t>()) << t.name;
        EXPECT_EQ(t.n_bytes, gt[i][4].get<uint64_t>()) << t.name;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InspectFixture, ::testing::ValuesIn(test::kFixtureModels), [](const auto& info) {
    std::string n = info.param.name;
    for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return n;
});

// Runs the real binary; returns exit code and stdout.
std::pair<int, std::string> run_hearth(const std::string& args, bool with_stderr = false) {
    const std::string cmd = std::string(HEARTH_BIN) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
    auto r = hearth::test::run_command(cmd);
    return {r.rc, std::move(r.out)};
}

TEST(InspectCommand, JsonOutputParsesAndListsTensors) {
    const std::string path = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(std::filesystem::exists(path)) << test::missing_model_message(path);
    auto [rc, out] = run_hearth("inspect --json --tensors '" + path + "'");
    ASSERT_EQ(rc, 0);
    const json j = json::parse(out);
    EXPECT_EQ(j["architecture"], "llama");
    EXPECT_EQ(j["tensors"].size(), 272u);
    EXPECT_EQ(j["tokenizer"]["model"], "gpt2");
    EXPECT_EQ(j["file_type"], "Q4_1");
    EXPECT_EQ(j["chat_template"]["present"], true);
}

TEST(InspectCommand, TextOutputNamesTheEssentials) {
    const std::string path = test::model_path("gemma-3-270m-q4_k_m.gguf");
    ASSERT_TRUE(std::filesystem::exists(path)) << test::missing_model_message(path);
    auto [rc, out] = run_hearth("inspect '" + path + "'");
    ASSERT_EQ(rc, 0);
    for (const char* s : {"gemma3", "Q4_K_M", "268.10M", "262144", "q4_K", "chat template"}) {
        EXPECT_NE(out.find(s), std::string::npos) << "missing '" << s << "' in:\n" << out;
    }
}

TEST(InspectCommand, BadInputIsAClearError) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto junk = dir / "hearth_not_a_model.gguf";
    {
        std::ofstream o(junk, std::ios::binary);
        o << "this is not a gguf file at all";
    }
    auto [rc1, out1] = run_hearth("inspect '" + junk.string() + "'");
    EXPECT_EQ(rc1, 1);
    EXPECT_TRUE(out1.empty()) << "nothing on stdout for a bad file";
    auto [rc1e, err1] = run_hearth("inspect '" + junk.string() + "'", true);
    EXPECT_EQ(rc1e, 1);
    EXPECT_NE(err1.find("hearth: error:"), std::string::npos) << err1;
    EXPECT_NE(err1.find("magic"), std::string::npos) << err1;
    auto [rc2, err2] = run_hearth("inspect /nonexistent/model.gguf", true);
    EXPECT_EQ(rc2, 1);
    EXPECT_NE(err2.find("/nonexistent/model.gguf"), std::string::npos) << err2;
    auto [rc3, out3] = run_hearth("inspect"); // missing argument: usage error
    EXPECT_NE(rc3, 0);
    std::filesystem::remove(junk);
}

} // namespace
} // namespace hearth::cli
