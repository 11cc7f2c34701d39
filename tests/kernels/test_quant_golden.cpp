// Reference (de)quantization against goldens from two independent implementations (tests/data/quant, made by
// tools/make-quant-golden.py): the gguf Python package's numpy code and llama.cpp itself (its
// llama_model_quantize on a synthetic model, and ggml's quantize_row_*_ref / dequantize_row_* via ctypes).
//
// Every comparison is bit-exact. That is the design goal, not luck: quant.h's kernels repeat ggml's
// algorithms operation for operation (and build with -ffp-contract=off), so a single differing byte means an
// algorithm drifted, not rounding noise.
#include "base/fp16.h"
#include "kernels/quant_golden.h"
#include "kernels/ref/quant.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <set>

namespace hearth {
namespace {

using test::GoldenTensor;

std::map<std::string, GoldenTensor> golden(const std::string& file) {
    std::string error;
    auto records = test::read_golden(std::string(HEARTH_TEST_DATA) + "/quant/" + file, &error);
    EXPECT_FALSE(records.empty()) << error;
    return records;
}

const GoldenTensor& record(const std::map<std::string, GoldenTensor>& g, const std::string& name) {
    static const GoldenTensor kEmpty{DType::F32, 0, 0, {}};
    auto it = g.find(name);
    EXPECT_NE(it, g.end()) << "missing golden record " << name;
    return it == g.end() ? kEmpty : it->second;
}

// Quantizes `in` row by row to `expected.type` and counts the bytes that differ from `expected`.
size_t quantize_mismatches(const GoldenTensor& in, const GoldenTensor& expected) {
    EXPECT_EQ(in.type, DType::F32);
    EXPECT_EQ(in.n_per_row, expected.n_per_row);
    EXPECT_EQ(in.n_rows, expected.n_rows);
    std::vector<uint8_t> got(expected.data.size(), 0xAB);
    const size_t row_bytes = *dtype_row_bytes(expected.type, uint64_t(expected.n_per_row));
    for (int64_t r = 0; r < in.n_rows; ++r) {
        ref::ref_quantize_row(expected.type, in.f32() + r * in.n_per_row, got.data() + r * row_bytes, in.n_per_row);
    }
    size_t diff = 0;
    for (size_t i = 0; i < got.size(); ++i)
        diff += got[i] != expected.data[i];
    return diff;
}

// Dequantizes `in` and counts the floats whose bits differ from `expected`.
size_t dequantize_mismatches(const GoldenTensor& in, const GoldenTensor& expected) {
    EXPECT_EQ(expected.type, DType::F32);
    EXPECT_EQ(in.n_elements(), expected.n_elements());
    std::vector<float> got(size_t(in.n_elements()), NAN);
    ref::ref_dequantize_row(in.type, in.data.data(), got.data(), in.n_elements());
    size_t diff = 0;
    for (size_t i = 0; i < got.size(); ++i)
        diff += f32_to_bits(got[i]) != f32_to_bits(expected.f32()[i]);
    return diff;
}

// Runs every "<prefix><type>[/<suffix>]" quantize check of a file; returns the set of types covered.
std::set<std::string> check_quantize(const std::map<std::string, GoldenTensor>& g, const std::string& prefix,
                                     const std::string& input) {
    std::set<std::string> types;
    for (const auto& [name, expected] : g) {
        if (name.rfind(prefix, 0) != 0) continue;
        std::string rest = name.substr(prefix.size());
        const std::string type = rest.substr(0, rest.find('/'));
        if (type == "in") continue;
        const std::string in_name = input.empty() ? prefix + "in" + rest.substr(type.size()) : input;
        const GoldenTensor& in = record(g, in_name);
        if (!ref::ref_can_quantize(expected.type)) {
            ADD_FAILURE() << "no reference quantizer for " << name;
            continue;
        }
        EXPECT_EQ(quantize_mismatches(in, expected), 0u) << name << " from " << in_name;
        types.insert(type);
    }
    return types;
}

std::set<std::string> check_dequantize(const std::map<std::string, GoldenTensor>& g) {
    std::set<std::string> types;
    for (const auto& [name, in] : g) {
        if (name.rfind("dequant/", 0) != 0 || name.size() < 3 || name.substr(name.size() - 3) != "/in") continue;
        const std::string type = name.substr(8, name.size() - 11);
        if (!ref::ref_can_dequantize(in.type)) {
            ADD_FAILURE() << "no reference dequantizer for " << name;
            continue;
        }
        EXPECT_EQ(dequantize_mismatches(in, record(g, "dequant/" + type + "/out")), 0u) << name;
        types.insert(type);
    }
    return types;
}

using Types = std::set<std::string>;

TEST(QuantGolden, GgufPyQuantizeIsBitExact) {
    // gguf.quants rounds with numpy (trunc(x + 0.5), its own roundf); it agrees with C here because the
    // inputs are float32 and every step is the same float32 operation.
    const Types want = {"bf16", "f16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0"};
    EXPECT_EQ(check_quantize(golden("gguf_py.hqt"), "quant/", "quant/in"), want);
}

TEST(QuantGolden, GgufPyDequantizeIsBitExact) {
    const Types want = {"bf16", "f16",  "q4_0", "q4_1", "q5_0", "q5_1",   "q8_0",
                        "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"};
    EXPECT_EQ(check_dequantize(golden("gguf_py.hqt")), want);
}

TEST(QuantGolden, GgmlQuantizeRowRefIsBitExact) {
    const Types want = {"bf16", "f16",  "q4_0", "q4_1", "q5_0", "q5_1", "q8_0",
                        "q8_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K"};
    EXPECT_EQ(check_quantize(golden("llama_cpp.hqt"), "ggml/quant/", "quant/in"), want);
}

TEST(QuantGolden, GgmlDequantizeIsBitExact) {
    const Types want = {"bf16", "f16",  "q4_0", "q4_1", "q5_0", "q5_1",   "q8_0",  "q2_K",
                        "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq4_nl", "iq4_xs"};
    EXPECT_EQ(check_dequantize(golden("llama_cpp.hqt")), want);
}

TEST(QuantGolden, LlamaModelQuantizeIsBitExact) {
    // Tensors of a synthetic llama model quantized by llama_model_quantize (pure, no imatrix), per ftype.
    const Types want = {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K"};
    EXPECT_EQ(check_quantize(golden("llama_cpp.hqt"), "model/", ""), want);
}

// ggml_quantize_chunk with an importance matrix (llama-quantize --imatrix), and the IQ4 types without one
// (tools/make-quant-imatrix-golden.py): every row through ref_quantize_row_imatrix / ref_quantize_row.
TEST(QuantGolden, GgmlImatrixQuantizeIsBitExact) {
    const auto g = golden("ggml_imatrix.hqt");
    const GoldenTensor& in = record(g, "imatrix/in");
    const GoldenTensor& w = record(g, "imatrix/weights");
    ASSERT_EQ(w.n_per_row, in.n_per_row);
    Types weighted, plain;
    for (const auto& [name, expected] : g) {
        const bool with = name.rfind("imatrix/", 0) == 0, without = name.rfind("plain/", 0) == 0;
        if ((!with && !without) || expected.type == DType::F32) continue;
        const std::string type = name.substr(name.find('/') + 1);
        ASSERT_TRUE(ref::ref_can_quantize(expected.type)) << name;
        if (with) {
            EXPECT_TRUE(ref::ref_uses_imatrix(expected.type)) << name;
        }
        const size_t row_bytes = *dtype_row_bytes(expected.type, uint64_t(in.n_per_row));
        std::vector<uint8_t> got(expected.data.size(), 0xAB);
        for (int64_t r = 0; r < in.n_rows; ++r) {
            uint8_t* dst = got.data() + size_t(r) * row_bytes;
            if (with)
                ref::ref_quantize_row_imatrix(expected.type, in.f32() + r * in.n_per_row, dst, in.n_per_row, w.f32());
            else
                ref::ref_quantize_row(expected.type, in.f32() + r * in.n_per_row, dst, in.n_per_row);
        }
        size_t diff = 0, first = got.size();
        for (size_t i = 0; i < got.size(); ++i)
            if (got[i] != expected.data[i] && diff++ == 0) first = i;
        EXPECT_EQ(diff, 0u) << name << ": first differing byte " << first << " (row " << first / row_bytes << ")";
        (with ? weighted : plain).insert(type);
    }
    const Types want_weighted = {"q4_0", "q4_1", "q5_0", "q5_1",   "q2_K",  "q3_K",
                                 "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"};
    EXPECT_EQ(weighted, want_weighted);
    EXPECT_EQ(plain, (Types{"iq4_nl", "iq4_xs"}));
}

} // namespace
} // namespace hearth
