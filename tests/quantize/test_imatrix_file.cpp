// Importance-matrix files (quantize/imatrix.h): llama-imatrix's GGUF layout written and read back, its legacy format
// read, hostile files refused with an error, and the planner's use of an importance matrix. (Agreement of the values
// with llama-imatrix is tests/quality's ImatrixGolden; of the quantized bytes with llama-quantize --imatrix,
// QuantizeGolden.)
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "quantize/imatrix.h"
#include "quantize/quantize.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <limits>
#include <unistd.h>

namespace hearth::quantize {
namespace {

namespace fs = std::filesystem;

std::string tmp_file(const std::string& name) {
    return (fs::temp_directory_path() / ("hearth_imatrix_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<uint8_t> bytes_of(const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

TEST(ImatrixFile, WrittenAsLlamaImatrixDoesAndReadBack) {
    Imatrix m;
    m.datasets = {"calibration.txt"};
    m.chunk_count = 3;
    m.chunk_size = 512;
    m.entries["blk.0.attn_q.weight"] = {{2, 4, 6, 8}, {2}};
    m.entries["blk.0.ffn_down.weight"] = {{1, 2, 3, 4, 5, 6}, {3, 0}}; // two matrices, the second never reached
    const std::string path = tmp_file("rt.gguf");
    ASSERT_TRUE(write_imatrix(m, path));
    // The layout llama.cpp reads: general.type, the three imatrix keys, F32 "W.in_sum2" {cols, n_mat} and
    // "W.counts" {1, n_mat}, in name order.
    auto f = gguf::File::open(path);
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(*f->get_string("general.type"), "imatrix");
    EXPECT_EQ(*f->get_u32("imatrix.chunk_count"), 3u);
    EXPECT_EQ(*f->get_u32("imatrix.chunk_size"), 512u);
    EXPECT_EQ(f->get_string_array("imatrix.datasets")->at(0), "calibration.txt");
    ASSERT_EQ(f->tensors().size(), 4u);
    EXPECT_EQ(f->tensors()[0].name, "blk.0.attn_q.weight.in_sum2");
    EXPECT_EQ(f->tensors()[1].name, "blk.0.attn_q.weight.counts");
    EXPECT_EQ(f->tensors()[2].ne, (std::vector<uint64_t>{3, 2}));
    EXPECT_EQ(f->tensors()[3].ne, (std::vector<uint64_t>{1, 2}));
    auto back = read_imatrix(path);
    ASSERT_TRUE(back) << back.message();
    EXPECT_FALSE(back->legacy);
    EXPECT_EQ(back->chunk_count, 3u);
    EXPECT_EQ(back->datasets, m.datasets);
    ASSERT_EQ(back->entries.size(), 2u);
    EXPECT_EQ(back->entries["blk.0.ffn_down.weight"].sums, m.entries["blk.0.ffn_down.weight"].sums);
    const auto w = imatrix_weights(*back);
    EXPECT_EQ(w.at("blk.0.attn_q.weight"), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(w.at("blk.0.ffn_down.weight"), (std::vector<float>{1.0f / 3, 2.0f / 3, 1, 1, 1, 1})); // count 0 -> 1
    fs::remove(path);
}

// The legacy format: i32 n; per entry i32 len, name, i32 ncall, i32 nval, nval f32; then i32 chunks, i32 len, dataset.
std::vector<uint8_t> legacy_file(int32_t ncall, const std::vector<float>& vals, bool trailer) {
    std::vector<uint8_t> b;
    auto i32 = [&](int32_t v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        b.insert(b.end(), p, p + 4);
    };
    const std::string name = "blk.1.attn_v.weight";
    i32(1);
    i32(int32_t(name.size()));
    b.insert(b.end(), name.begin(), name.end());
    i32(ncall);
    i32(int32_t(vals.size()));
    const auto vb = bytes_of(vals);
    b.insert(b.end(), vb.begin(), vb.end());
    if (trailer) {
        i32(7);
        i32(4);
        b.insert(b.end(), {'w', 'i', 'k', 'i'});
    }
    return b;
}

TEST(ImatrixFile, ReadsTheLegacyFormat) {
    auto m = parse_imatrix(legacy_file(4, {8, 12}, true), "legacy");
    ASSERT_TRUE(m) << m.message();
    EXPECT_TRUE(m->legacy);
    EXPECT_EQ(m->chunk_count, 7u);
    EXPECT_EQ(m->datasets, (std::vector<std::string>{"wiki"}));
    EXPECT_EQ(imatrix_weights(*m).at("blk.1.attn_v.weight"), (std::vector<float>{2, 3})); // sums / ncall
    auto bare = parse_imatrix(legacy_file(0, {8, 12}, false), "legacy");
    ASSERT_TRUE(bare) << bare.message();
    EXPECT_EQ(imatrix_weights(*bare).at("blk.1.attn_v.weight"), (std::vector<float>{8, 12})); // ncall 0: as stored
}

// A GGUF with the imatrix keys and the given tensors.
std::vector<uint8_t> gguf_imatrix(const std::vector<std::tuple<std::string, DType, std::vector<float>>>& tensors,
                                  bool keys = true) {
    gguf::Writer w;
    if (keys) {
        w.set("imatrix.datasets", gguf::Value::make_string_array({"t"}));
        w.set("imatrix.chunk_count", gguf::Value::make_u32(1));
        w.set("imatrix.chunk_size", gguf::Value::make_u32(8));
    }
    for (const auto& [name, type, vals] : tensors) {
        if (type == DType::F32) {
            EXPECT_TRUE(w.add_tensor(name, type, {vals.size()}, bytes_of(vals)));
        } else { // F16 zeros of the same length
            EXPECT_TRUE(w.add_tensor(name, type, {vals.size()}, std::vector<uint8_t>(vals.size() * 2, 0)));
        }
    }
    return w.to_bytes();
}

TEST(ImatrixFile, RefusesHostileFiles) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<std::pair<std::string, std::vector<uint8_t>>> cases = {
        {"empty", {}},
        {"short", {1, 0}},
        {"no entries",
         legacy_file(1, {1}, false).size() > 0 ? std::vector<uint8_t>{0, 0, 0, 0} : std::vector<uint8_t>{}},
        {"truncated values",
         [] {
             auto b = legacy_file(1, {1, 2, 3}, false);
             b.resize(b.size() - 5);
             return b;
         }()},
        {"huge value count",
         [] {
             auto b = legacy_file(1, {1}, false);
             const int32_t big = 1 << 30;
             std::memcpy(b.data() + b.size() - 8, &big, 4);
             return b;
         }()},
        {"negative legacy value", legacy_file(1, {-1}, false)},
        {"NaN legacy value", legacy_file(1, {nan}, false)},
        {"gguf without the imatrix keys",
         gguf_imatrix({{"a.in_sum2", DType::F32, {1}}, {"a.counts", DType::F32, {1}}}, false)},
        {"sums without counts", gguf_imatrix({{"a.in_sum2", DType::F32, {1, 2}}})},
        {"counts without sums", gguf_imatrix({{"a.counts", DType::F32, {1}}})},
        {"F16 sums", gguf_imatrix({{"a.in_sum2", DType::F16, {1, 2}}, {"a.counts", DType::F32, {1}}})},
        {"sums that do not split",
         gguf_imatrix({{"a.in_sum2", DType::F32, {1, 2, 3}}, {"a.counts", DType::F32, {1, 1}}})},
        {"negative count", gguf_imatrix({{"a.in_sum2", DType::F32, {1, 2}}, {"a.counts", DType::F32, {-1}}})},
        {"infinite sum", gguf_imatrix({{"a.in_sum2", DType::F32, {1, INFINITY}}, {"a.counts", DType::F32, {1}}})},
        {"no entries (gguf)", gguf_imatrix({})},
    };
    for (const auto& [what, bytes] : cases) {
        auto m = parse_imatrix(bytes, what);
        EXPECT_FALSE(m) << what << " was accepted";
        if (!m) {
            EXPECT_NE(m.message().find(what), std::string::npos) << m.message(); // names the source
        }
    }
    EXPECT_FALSE(read_imatrix(tmp_file("does-not-exist")));
}

// The planner weighs the tensors the matrix has, refuses an entry of the wrong width (a matrix made for another
// model), and counts the tensors it has nothing for.
TEST(ImatrixFile, PlannerUsesMatchingEntriesAndRefusesOthers) {
    gguf::Writer w;
    w.set("general.architecture", gguf::Value::make_string("llama"));
    w.set("llama.block_count", gguf::Value::make_u32(1));
    w.set("llama.attention.head_count", gguf::Value::make_u32(4));
    w.set("llama.attention.head_count_kv", gguf::Value::make_u32(4));
    std::vector<float> m(256 * 4, 0.5f);
    ASSERT_TRUE(w.add_tensor("blk.0.attn_q.weight", DType::F32, {256, 4}, bytes_of(m)));
    ASSERT_TRUE(w.add_tensor("blk.0.attn_k.weight", DType::F32, {256, 4}, bytes_of(m)));
    ASSERT_TRUE(w.add_tensor("blk.0.attn_v.weight", DType::F32, {256, 4}, bytes_of(m)));
    const auto bytes = w.to_bytes();
    auto f = gguf::File::from_memory(bytes);
    ASSERT_TRUE(f) << f.message();
    ImatrixInput im;
    im.weights["blk.0.attn_q.weight"] = std::vector<float>(256, 1.0f);
    auto plan = make_plan(*f, *find_mix("Q4_K_M"), false, &im);
    ASSERT_TRUE(plan) << plan.message();
    EXPECT_EQ(plan->n_without_imatrix, 2);
    for (const TensorPlan& t : plan->tensors)
        EXPECT_EQ(t.imatrix != nullptr, t.name == "blk.0.attn_q.weight") << t.name;
    im.weights["blk.0.attn_k.weight"] = std::vector<float>(128, 1.0f);
    auto wrong = make_plan(*f, *find_mix("Q4_K_M"), false, &im);
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.message().find("blk.0.attn_k.weight"), std::string::npos) << wrong.message();
    // Types that take no importance matrix (Q8_0) never look it up.
    auto q8 = make_plan(*f, *find_mix("Q8_0"), false, &im);
    ASSERT_TRUE(q8) << q8.message();
    EXPECT_EQ(q8->n_without_imatrix, 0);
}

} // namespace
} // namespace hearth::quantize
