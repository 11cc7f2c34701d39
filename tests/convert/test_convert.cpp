// hearth convert against independent references. tools/make-hf-fixture.py (run here, with the `safetensors`,
// `tokenizers` and numpy of the test venv) writes tiny random Hugging Face model directories as transformers
// saves them, with a numpy forward pass in Hugging Face's semantics and the `tokenizers` encodings. The built
// `hearth convert` converts them; hearth's runtime must reproduce the numpy logits, hearth's tokenizer the
// `tokenizers` ids, and the `gguf` package's reader must find the safetensors values after the documented
// transformations (check_gguf.py). Hostile and unsupported inputs must be refused by name, leaving no file.
#include "convert/safetensors.h"
#include "gguf/gguf.h"
#include "hearth/runtime.h"
#include "run_command.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hearth {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::run_command;
using test::shell_quote;

constexpr const char* kFixtures[] = {"llama", "llama2", "smollm", "qwen2", "qwen3", "gemma3", "phi3"};

// The fixture directories, made once for the whole binary.
const std::string& fixture_root() {
    static const std::string root = [] {
        static char tmpl[] = "/tmp/hearth-convert-test-XXXXXX"; // static: the exit handler below reads it
        const char* dir = mkdtemp(tmpl);
        if (!dir) return std::string();
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(tmpl, ec);
        });
        const std::string cmd = shell_quote(HEARTH_PYTHON) + " " +
                                shell_quote(std::string(HEARTH_SOURCE_DIR) + "/tools/make-hf-fixture.py") + " " +
                                shell_quote(dir);
        auto r = run_command(cmd, true, 300);
        if (r.rc != 0) {
            std::fprintf(stderr, "make-hf-fixture.py failed (%d): %s\n", r.rc, r.err.c_str());
            return std::string();
        }
        return std::string(dir);
    }();
    return root;
}

json expected(const std::string& name) {
    std::ifstream in(fixture_root() + "/" + name + ".expected.json");
    return json::parse(in, nullptr, false);
}

// Runs `hearth convert`; stderr in r.err.
test::CommandResult convert(const std::string& dir, const std::string& out, const std::string& type) {
    std::string cmd = shell_quote(HEARTH_BIN) + " convert " + shell_quote(dir) + " " + shell_quote(out);
    if (!type.empty()) cmd += " --type " + type;
    return run_command(cmd, true, 300);
}

std::string out_path(const std::string& name, const std::string& type) {
    return fixture_root() + "/" + name + "-" + type + ".gguf";
}

struct Case {
    const char* fixture;
    const char* type;
    double tol; // max |Δlogit| / max |logit|
};

std::string case_name(const ::testing::TestParamInfo<Case>& i) {
    return std::string(i.param.fixture) + "_" + i.param.type;
}

class ConvertLogits : public ::testing::TestWithParam<Case> {};

// Tolerances, as a share of the largest |logit|. F32 weights: hearth's KV cache is F16 (as llama.cpp's), so K and V
// are rounded by up to 2^-11 relative; the logits move by a few 1e-4: 2e-3. F16 / BF16 weights round each weight by
// up to 2^-11 / 2^-8 relative and matmul inputs are rounded to the same type: 1e-2 / 4e-2. Q8_0 rounds weights and
// activations to 8 bits each (up to 1/254 of a 32-block's largest value; about 1% RMS each), through 2 layers and
// the output: 8e-2. Structural mistakes (a missing permutation, norm offset, window or bias) move logits by about
// their whole size. The top token must agree too.
const Case kCases[] = {
    {"llama", "F32", 2e-3},   {"llama2", "F32", 2e-3}, {"qwen2", "F32", 2e-3},  {"qwen3", "F32", 2e-3},
    {"gemma3", "F32", 2e-3},  {"phi3", "F32", 2e-3},   {"smollm", "F32", 2e-3}, {"llama", "F16", 1e-2},
    {"qwen2", "BF16", 4e-2},  {"qwen3", "F16", 1e-2},  {"gemma3", "F16", 1e-2}, {"phi3", "Q8_0", 8e-2},
    {"llama2", "Q8_0", 8e-2},
};

TEST_P(ConvertLogits, MatchesNumpyForward) {
    const Case c = GetParam();
    ASSERT_FALSE(fixture_root().empty());
    const json e = expected(c.fixture);
    const std::string out = out_path(c.fixture, c.type);
    auto r = convert(fixture_root() + "/" + c.fixture, out, c.type);
    ASSERT_EQ(r.rc, 0) << r.err;
    const std::string check = shell_quote(HEARTH_PYTHON) + " " +
                              shell_quote(std::string(HEARTH_SOURCE_DIR) + "/tests/convert/check_gguf.py") + " " +
                              shell_quote(out) + " " + shell_quote(fixture_root() + "/" + c.fixture) + " " +
                              shell_quote(fixture_root() + "/" + c.fixture + ".expected.json") + " " + c.type;
    auto chk = run_command(check, true, 120);
    EXPECT_EQ(chk.rc, 0) << chk.out << chk.err;

    auto rt = Runtime::load(out, RuntimeOptions{2});
    ASSERT_TRUE(rt) << rt.message();
    EXPECT_EQ((*rt)->info().arch, e["arch"].get<std::string>());
    auto s = (*rt)->create_session(SessionOptions{64, 64});
    ASSERT_TRUE(s) << s.message();
    const auto tokens = e["tokens"].get<std::vector<int32_t>>();
    ASSERT_TRUE((*s)->feed(tokens).is_ok());
    const auto ref = e["logits"].get<std::vector<double>>();
    const std::span<const float> got = (*s)->logits();
    ASSERT_EQ(got.size(), ref.size());
    double d = 0, scale = 0;
    size_t ref_top = 0, got_top = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        d = std::max(d, std::fabs(double(got[i]) - ref[i]));
        scale = std::max(scale, std::fabs(ref[i]));
        if (ref[i] > ref[ref_top]) ref_top = i;
        if (got[i] > got[got_top]) got_top = i;
    }
    std::printf("  %s %s: max |dlogit| %.3g of max |logit| %.3g (%.2g)\n", c.fixture, c.type, d, scale, d / scale);
    EXPECT_LE(d, c.tol * scale);
    EXPECT_EQ(got_top, ref_top);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ConvertLogits, ::testing::ValuesIn(kCases), case_name);

class ConvertTokenizer : public ::testing::TestWithParam<const char*> {};

TEST_P(ConvertTokenizer, MatchesTokenizersAndKeepsTemplate) {
    const std::string name = GetParam();
    ASSERT_FALSE(fixture_root().empty());
    const json e = expected(name);
    const std::string out = out_path(name, "tok");
    auto r = convert(fixture_root() + "/" + name, out, "F16");
    ASSERT_EQ(r.rc, 0) << r.err;
    auto f = gguf::File::open(out);
    ASSERT_TRUE(f) << f.message();
    auto tmpl = f->get_string("tokenizer.chat_template");
    ASSERT_TRUE(tmpl) << tmpl.message();
    EXPECT_EQ(*tmpl, e["chat_template"].get<std::string>());
    EXPECT_EQ(*f->get_string("general.architecture"), e["arch"].get<std::string>());
    auto tok = load_tokenizer(*f);
    ASSERT_TRUE(tok) << tok.message();
    for (const json& enc : e["encodings"]) {
        const std::string text = enc["text"].get<std::string>();
        EXPECT_EQ(tokenize(*tok, text, false, false), enc["ids"].get<std::vector<int32_t>>()) << name << ": " << text;
        EXPECT_EQ(tokenize(*tok, text, true, false), enc["ids_special"].get<std::vector<int32_t>>())
            << name << " (with special tokens): " << text;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ConvertTokenizer, ::testing::ValuesIn(kFixtures));

TEST(Convert, QuantizedTypeGoesThroughQuantize) {
    ASSERT_FALSE(fixture_root().empty());
    const std::string out = out_path("llama", "Q4_K_M");
    auto r = convert(fixture_root() + "/llama", out, "q4_k_m");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_FALSE(fs::exists(out + ".convert.tmp")) << "the 16-bit step's file was left behind";
    auto f = gguf::File::open(out);
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(*f->get_u64("general.file_type"), 15u); // LLAMA_FTYPE_MOSTLY_Q4_K_M
    auto rt = Runtime::load(out, RuntimeOptions{2});
    ASSERT_TRUE(rt) << rt.message();
}

TEST(Convert, DefaultTypeFollowsTheSource) {
    ASSERT_FALSE(fixture_root().empty());
    for (auto [name, want] : {std::pair{"qwen2", 32u}, std::pair{"llama", 1u}, std::pair{"qwen3", 1u}}) {
        const std::string out = out_path(name, "auto");
        auto r = convert(fixture_root() + "/" + name, out, "");
        ASSERT_EQ(r.rc, 0) << r.err;
        auto f = gguf::File::open(out);
        ASSERT_TRUE(f) << f.message();
        EXPECT_EQ(*f->get_u64("general.file_type"), want) << name;
    }
}

// generation_config.json's bos id fills in only when tokenizer_config.json and config.json name none.
TEST(Convert, GenerationConfigFillsInSpecialIds) {
    ASSERT_FALSE(fixture_root().empty());
    const std::string dir = fixture_root() + "/gen-config";
    fs::remove_all(dir);
    fs::copy(fixture_root() + "/qwen2", dir, fs::copy_options::recursive);
    std::ifstream cin(dir + "/config.json");
    json cfg = json::parse(cin);
    cin.close();
    const int64_t bos = cfg["bos_token_id"].get<int64_t>();
    auto f_bos = [&](const std::string& out) -> int64_t {
        auto r = convert(dir, out, "F32");
        EXPECT_EQ(r.rc, 0) << r.err;
        auto f = gguf::File::open(out);
        if (!f || !f->find("tokenizer.ggml.bos_token_id")) return -1;
        return int64_t(*f->get_u64("tokenizer.ggml.bos_token_id"));
    };
    EXPECT_EQ(f_bos(dir + "-a.gguf"), bos); // from config.json
    cfg.erase("bos_token_id");
    std::ofstream(dir + "/config.json") << cfg.dump();
    std::ofstream(dir + "/generation_config.json") << json{{"bos_token_id", bos - 1}}.dump();
    EXPECT_EQ(f_bos(dir + "-b.gguf"), bos - 1); // only generation_config.json names one
}

// ---- refusals: each names what it refuses and leaves no file (final or temporary) behind

// A copy of fixture `name` to change; removed by the caller's scope.
std::string copy_fixture(const std::string& name, const std::string& as) {
    const std::string dst = fixture_root() + "/" + as;
    fs::remove_all(dst);
    fs::copy(fixture_root() + "/" + name, dst, fs::copy_options::recursive);
    return dst;
}

void edit_json(const std::string& path, const std::function<void(json&)>& fn) {
    std::ifstream in(path);
    json j = json::parse(in);
    fn(j);
    std::ofstream(path) << j.dump();
}

void expect_refused(const std::string& dir, const std::string& what) {
    const std::string out = dir + ".gguf";
    auto r = convert(dir, out, "F16");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find(what), std::string::npos) << "stderr: " << r.err;
    EXPECT_FALSE(fs::exists(out));
    for (const auto& entry : fs::directory_iterator(fixture_root()))
        EXPECT_EQ(entry.path().string().find(fs::path(out).filename().string() + "."), std::string::npos)
            << "left behind: " << entry.path();
}

// Writes a safetensors file: u64 header length, the header, then `data`.
void write_safetensors(const std::string& path, const std::string& header, const std::string& data) {
    std::ofstream f(path, std::ios::binary);
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i)
        f.put(char((n >> (8 * i)) & 0xff));
    f << header << data;
}

TEST(ConvertRefuses, UnknownType) {
    const std::string out = fixture_root() + "/bad-type.gguf";
    auto r = convert(fixture_root() + "/llama", out, "Q7_X");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.err.find("unknown type 'Q7_X'; one of: auto, F32"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
}

TEST(ConvertRefuses, UnknownArchitecture) {
    const std::string dir = copy_fixture("llama", "bad-arch");
    edit_json(dir + "/config.json", [](json& j) { j["architectures"] = {"MambaForCausalLM"}; });
    expect_refused(dir, "unsupported architecture 'MambaForCausalLM'");
}

TEST(ConvertRefuses, UnsupportedDtype) {
    const std::string dir = copy_fixture("llama2", "bad-dtype");
    // The model's own file plus one extra I64 tensor (as some checkpoints carry position ids).
    std::ifstream in(dir + "/model.safetensors", std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(in)), {});
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | uint8_t(raw[size_t(i)]);
    json h = json::parse(raw.substr(8, n));
    const uint64_t end = raw.size() - 8 - n;
    h["model.position_ids"] = {{"dtype", "I64"}, {"shape", {2}}, {"data_offsets", {end, end + 16}}};
    write_safetensors(dir + "/model.safetensors", h.dump(), raw.substr(8 + n) + std::string(16, '\0'));
    expect_refused(dir, "model.position_ids (model.safetensors) has dtype I64");
    h["model.position_ids"]["dtype"] = "F8_E4M3";
    h["model.position_ids"]["shape"] = {16};
    write_safetensors(dir + "/model.safetensors", h.dump(), raw.substr(8 + n) + std::string(16, '\0'));
    expect_refused(dir, "has dtype F8_E4M3");
}

TEST(ConvertRefuses, WordPieceTokenizer) {
    const std::string dir = copy_fixture("qwen2", "bad-tokenizer");
    edit_json(dir + "/tokenizer.json", [](json& j) { j["model"]["type"] = "WordPiece"; });
    expect_refused(dir, "unsupported tokenizer type 'WordPiece'");
}

TEST(ConvertRefuses, UnsupportedPreTokenizerAndRopeScaling) {
    const std::string dir = copy_fixture("qwen2", "bad-pre");
    edit_json(dir + "/tokenizer.json",
              [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{L}+|\\p{N}"; });
    expect_refused(dir, "unsupported pre-tokenizer regex '\\p{L}+|\\p{N}'");
    const std::string dir2 = copy_fixture("llama", "bad-rope");
    edit_json(dir2 + "/config.json", [](json& j) {
        j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 512}};
    });
    expect_refused(dir2, "rope scaling 'yarn' is not supported");
    const std::string dir3 = copy_fixture("llama", "bad-heads");
    edit_json(dir3 + "/config.json", [](json& j) { j["num_key_value_heads"] = 0; });
    expect_refused(dir3, "num_key_value_heads / head_dim out of range");
    const std::string dir4 = copy_fixture("llama", "bad-vocab");
    edit_json(dir4 + "/config.json", [](json& j) { j["vocab_size"] = int64_t(1) << 40; });
    expect_refused(dir4, "vocab_size 1099511627776 is out of range");
}

TEST(ConvertRefuses, MissingShard) {
    const std::string dir = copy_fixture("qwen2", "missing-shard");
    fs::remove(dir + "/model-00002-of-00002.safetensors");
    expect_refused(dir, "missing file " + dir + "/model-00002-of-00002.safetensors");
}

TEST(ConvertRefuses, TensorInTwoShards) {
    const std::string dir = copy_fixture("qwen2", "two-shards");
    const std::string path = dir + "/model-00002-of-00002.safetensors";
    std::ifstream in(path, std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(in)), {});
    in.close();
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | uint8_t(raw[size_t(i)]);
    json h = json::parse(raw.substr(8, n));
    const std::string in_first = json::parse(std::ifstream(dir + "/model.safetensors.index.json"))["weight_map"]
                                     .items()
                                     .begin()
                                     .key(); // a tensor of shard 1 (names alternate between the shards)
    const uint64_t end = raw.size() - 8 - n;
    h[in_first] = {{"dtype", "BF16"}, {"shape", {1}}, {"data_offsets", {end, end + 2}}};
    write_safetensors(path, h.dump(), raw.substr(8 + n) + std::string(2, '\0'));
    expect_refused(dir, "tensor '" + in_first + "' is in both model-00001-of-00002.safetensors and model-00002");
}

TEST(ConvertRefuses, MissingAndExtraTensors) {
    const std::string dir = copy_fixture("qwen2", "unlisted-tensor");
    edit_json(dir + "/model.safetensors.index.json",
              [](json& j) { j["weight_map"].erase("model.layers.0.mlp.down_proj.weight"); });
    expect_refused(dir, "tensor 'model.layers.0.mlp.down_proj.weight' of model-0000");
    const std::string dir2 = copy_fixture("llama2", "missing-tensor");
    edit_json(dir2 + "/config.json", [](json& j) { j["num_hidden_layers"] = 3; });
    expect_refused(dir2, "missing tensor model.layers.2.input_layernorm.weight");
    const std::string dir3 = copy_fixture("llama2", "unexpected-tensor");
    edit_json(dir3 + "/config.json", [](json& j) { j["num_hidden_layers"] = 1; });
    expect_refused(dir3, "unexpected tensor model.layers.1.");
}

TEST(ConvertRefuses, HostileHeaders) {
    const std::string dir = copy_fixture("llama2", "hostile");
    const std::string path = dir + "/model.safetensors";
    std::ofstream(path, std::ios::binary) << std::string("\x10\x00\x00", 3); // truncated length
    expect_refused(dir, "shorter than its header length");
    write_safetensors(path, "{\"a\":", "");
    expect_refused(dir, "header is not valid JSON");
    std::ofstream(path, std::ios::binary) << std::string("\x00\x10\x00\x00\x00\x00\x00\x00{}", 10);
    expect_refused(dir, "past the end of the file");
    std::ofstream(path, std::ios::binary) << std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
    expect_refused(dir, "is over the limit");
    write_safetensors(path, R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0'));
    expect_refused(dir, "outside the data section");
    write_safetensors(path, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", std::string(16, '\0'));
    expect_refused(dir, "span 16 bytes, but F32 x shape needs 3 x 4");
    write_safetensors(path, R"({"a":{"dtype":"Q4","shape":[3],"data_offsets":[0,3]}})", std::string(3, '\0'));
    expect_refused(dir, "unknown dtype 'Q4'");
    write_safetensors(path,
                      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],)"
                      R"("data_offsets":[0,1]}})",
                      std::string(1, '\0'));
    expect_refused(dir, "tensor 'a' appears twice");
    write_safetensors(path, R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", "");
    expect_refused(dir, "element count overflows");
}

// The parser on its own, as the fuzz target drives it.
TEST(Safetensors, ParsesValidHeaders) {
    std::string h = R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[8,20]},)"
                    R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"I64","shape":[0],)"
                    R"("data_offsets":[20,20]}})";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[size_t(i)] = char((h.size() >> (8 * i)) & 0xff);
    bytes += h + std::string(20, '\x01');
    auto t = convert::parse_safetensors(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    ASSERT_TRUE(t) << t.message();
    ASSERT_EQ(t->size(), 3u);
    EXPECT_EQ((*t)[0].name, "a");
    EXPECT_EQ((*t)[1].name, "b");
    EXPECT_EQ((*t)[1].shape, (std::vector<uint64_t>{2, 3}));
    EXPECT_EQ((*t)[1].n_elements, 6u);
    EXPECT_EQ((*t)[2].n_elements, 0u);
}

} // namespace
} // namespace hearth
