// hearth quantize against llama-quantize: for each fixture model and mix in tests/data/quantize/golden.json
// (tools/make-quantize-golden.py), the same tensor types and the same bytes in every tensor; and the refusals.
#include "base/sha256.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "kernels/ref/quant.h"
#include "model_paths.h"
#include "quantize/imatrix.h"
#include "quantize/quantize.h"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace hearth::quantize {
namespace {

namespace fs = std::filesystem;

std::string upper(std::string_view s) {
    std::string u(s);
    for (char& c : u)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    return u;
}

std::string tmp_path(const std::string& name) {
    return (fs::temp_directory_path() / ("hearth_quantize_" + std::to_string(::getpid()) + "_" + name)).string();
}

TEST(Quantize, MixNames) {
    ASSERT_TRUE(find_mix("q4_k_m"));
    EXPECT_EQ(find_mix("Q4_K_M")->ftype, 15u);
    EXPECT_EQ(find_mix("Q8_0")->base, DType::Q8_0);
    EXPECT_FALSE(find_mix("Q4_K_X"));
    ASSERT_TRUE(find_mix("iq4_xs"));
    EXPECT_EQ(find_mix("IQ4_XS")->ftype, 30u);
    EXPECT_EQ(find_mix("IQ4_NL")->base, DType::IQ4_NL);
    EXPECT_FALSE(find_mix("IQ3_XXS")); // no quantizer: refused by name, not approximated
}

// A tiny llama-shaped model: attn_v (8 x 256) of `type`, an F32 norm. `poison` goes into one weight.
gguf::File tiny_model(DType type, std::vector<uint8_t>* storage, float poison = 0.0f) {
    gguf::Writer w;
    w.set("general.architecture", gguf::Value::make_string("llama"));
    w.set("llama.block_count", gguf::Value::make_u32(1));
    w.set("llama.attention.head_count", gguf::Value::make_u32(4));
    w.set("llama.attention.head_count_kv", gguf::Value::make_u32(1));
    std::vector<float> m(256 * 8);
    for (size_t i = 0; i < m.size(); ++i)
        m[i] = std::sin(float(i) * 0.37f);
    std::vector<uint8_t> bytes(*dtype_row_bytes(type, 256) * 8);
    ref::ref_quantize_row(type, m.data(), bytes.data(), int64_t(m.size()));
    if (poison != 0.0f) { // F32 only: the value itself
        float v = poison;
        std::memcpy(bytes.data() + 20, &v, 4);
    }
    EXPECT_TRUE(w.add_tensor("blk.0.attn_v.weight", type, {256, 8}, bytes));
    std::vector<uint8_t> norm(256 * 4, 0);
    EXPECT_TRUE(w.add_tensor("blk.0.attn_norm.weight", DType::F32, {256}, norm));
    *storage = w.to_bytes();
    auto f = gguf::File::from_memory(*storage);
    EXPECT_TRUE(f) << f.message();
    return std::move(*f);
}

TEST(Quantize, RefusesWhatItShouldNotDo) {
    std::vector<uint8_t> buf;
    const gguf::File q = tiny_model(DType::Q8_0, &buf);
    auto p = make_plan(q, *find_mix("Q4_0"), false);
    ASSERT_FALSE(p); // a quantized source without --allow-requantize
    EXPECT_NE(p.message().find("--allow-requantize"), std::string::npos) << p.message();
    EXPECT_NE(p.message().find("blk.0.attn_v.weight"), std::string::npos) << p.message();
    ASSERT_TRUE(make_plan(q, *find_mix("Q4_0"), true));
    // A NaN weight: an error naming the tensor, nothing written.
    std::vector<uint8_t> buf2;
    const gguf::File bad = tiny_model(DType::F32, &buf2, std::numeric_limits<float>::quiet_NaN());
    auto pb = make_plan(bad, *find_mix("Q8_0"), false);
    ASSERT_TRUE(pb) << pb.message();
    const std::string out = tmp_path("nan.gguf");
    const Status st = run(bad, *pb, out, 2);
    EXPECT_FALSE(st);
    EXPECT_NE(st.message().find("NaN"), std::string::npos) << st.message();
    EXPECT_FALSE(fs::exists(out));
}

TEST(Quantize, PlansTheMix) {
    std::vector<uint8_t> buf;
    const gguf::File f = tiny_model(DType::F32, &buf);
    auto p = make_plan(f, *find_mix("Q4_K_M"), false);
    ASSERT_TRUE(p) << p.message();
    ASSERT_EQ(p->tensors.size(), 2u);
    // attn_norm (1-D) stays F32 and sorts before attn_v (llama.cpp's order: by layer, then name).
    EXPECT_EQ(p->tensors[0].name, "blk.0.attn_norm.weight");
    EXPECT_TRUE(p->tensors[0].copy);
    // attn_v of the only layer: use_more_bits(0, 1) -> Q6_K.
    EXPECT_EQ(p->tensors[1].to, DType::Q6_K);
    EXPECT_EQ(p->tensors[1].bytes_out, *dtype_row_bytes(DType::Q6_K, 256) * 8);
}

class QuantizeGolden : public ::testing::TestWithParam<test::FixtureModel> {};

// Quantizes `src` to each of `outputs`' types (with the importance matrix `im` if given) and compares every tensor's
// type and bytes with llama-quantize's.
void expect_same_as_llama_quantize(const std::string& name, const gguf::File& src, const nlohmann::json& outputs,
                                   const ImatrixInput* im) {
    for (const auto& [type, want] : outputs.items()) {
        SCOPED_TRACE(type + (im ? " with the importance matrix" : ""));
        auto plan = make_plan(src, *find_mix(type), true, im);
        ASSERT_TRUE(plan) << plan.message();
        const std::string out = tmp_path(name + "." + type + ".gguf");
        ASSERT_TRUE(run(src, *plan, out, 2));
        auto f = gguf::File::open(out);
        ASSERT_TRUE(f) << f.message();
        EXPECT_EQ(*f->get_u32("general.file_type"), want["file_type"].get<uint32_t>());
        if (im) {
            EXPECT_EQ(*f->get_u32("quantize.imatrix.entries_count"), uint32_t(im->weights.size()));
            EXPECT_EQ(*f->get_string("quantize.imatrix.file"), im->file);
        }
        EXPECT_EQ(f->tensors().size(), want["tensors"].size());
        int differ = 0;
        for (const gguf::TensorInfo& t : f->tensors()) {
            ASSERT_TRUE(want["tensors"].contains(t.name)) << t.name;
            const auto& w = want["tensors"][t.name];
            Sha256 h;
            const auto bytes = f->tensor_data(t);
            h.update(bytes.data(), bytes.size());
            const std::string got = upper(dtype_name(t.type)), want_type = upper(w[0].get<std::string>());
            if (got != want_type || h.hex().substr(0, 16) != w[1].get<std::string>()) {
                if (++differ <= 5) ADD_FAILURE() << t.name << ": " << got << " vs llama-quantize's " << want_type;
            }
        }
        EXPECT_EQ(differ, 0);
        fs::remove(out);
    }
}

// tools/make-quantize-golden.py's formula importance matrix for the blocks' 2-D weights, written in llama-imatrix's
// format and read back (the reader and writer under test too).
ImatrixInput formula_imatrix(const gguf::File& src, const std::string& path) {
    Imatrix m;
    m.datasets = {"formula"};
    m.chunk_count = 1;
    m.chunk_size = 512;
    for (const gguf::TensorInfo& t : src.tensors()) {
        if (t.name.rfind("blk.", 0) != 0 || t.ne.size() < 2 || t.ne[1] < 2) continue;
        ImatrixEntry& e = m.entries[t.name];
        for (uint64_t j = 0; j < t.ne[0]; ++j)
            e.sums.push_back(float((j * 7919 + t.name.size() * 31) % 61 + 1) / 4 * 4);
        e.counts = {4.0f};
    }
    EXPECT_TRUE(write_imatrix(m, path));
    auto back = read_imatrix(path);
    EXPECT_TRUE(back) << back.message();
    ImatrixInput in;
    if (!back) return in;
    EXPECT_EQ(back->entries.size(), m.entries.size());
    EXPECT_EQ(back->chunk_size, 512u);
    in.weights = imatrix_weights(*back);
    in.file = path;
    in.dataset = back->datasets.at(0);
    in.chunk_count = back->chunk_count;
    return in;
}

TEST_P(QuantizeGolden, SameTypesAndBytesAsLlamaQuantize) {
    std::ifstream gf(std::string(HEARTH_TEST_DATA) + "/quantize/golden.json");
    ASSERT_TRUE(gf) << "tests/data/quantize/golden.json missing (tools/make-quantize-golden.py)";
    const auto golden = nlohmann::json::parse(gf);
    const auto& model = golden["models"][GetParam().name];
    const std::string path = test::model_path(GetParam().file);
    ASSERT_TRUE(fs::exists(path)) << test::missing_model_message(path);
    auto src = gguf::File::open(path);
    ASSERT_TRUE(src) << src.message();
    expect_same_as_llama_quantize(GetParam().name, *src, model["outputs"], nullptr);
    if (!model["outputs_imatrix"].empty()) {
        const std::string im_path = tmp_path(std::string(GetParam().name) + ".imatrix.gguf");
        const ImatrixInput im = formula_imatrix(*src, im_path);
        expect_same_as_llama_quantize(GetParam().name, *src, model["outputs_imatrix"], &im);
        fs::remove(im_path);
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QuantizeGolden, ::testing::ValuesIn(test::kFixtureModels), test::FixtureParamName());

} // namespace
} // namespace hearth::quantize
