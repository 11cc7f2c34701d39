// Writer -> reader round trip: every value type, several dtypes and shapes, custom alignment.
#include "gguf/gguf.h"
#include "gguf/writer.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace hearth::gguf {
namespace {

struct TensorSpec {
    std::string name;
    DType type;
    std::vector<uint64_t> ne;
    std::vector<uint8_t> data;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<uint8_t>(seed + i * 7);
    return out;
}

std::vector<KeyValue> all_value_types() {
    std::vector<Value> arrays;
    arrays.push_back(Value::make_array(ValueType::I32, {Value::make_i32(1), Value::make_i32(-2)}));
    arrays.push_back(Value::make_string_array({"x", ""}));
    arrays.push_back(Value::make_array(ValueType::U8, {}));
    std::vector<Value> deeper;
    deeper.push_back(Value::make_array(ValueType::ARRAY, {Value::make_array(ValueType::F64, {Value::make_f64(0.5)})}));
    return {
        {"general.architecture", Value::make_string("roundtrip")},
        {"general.alignment", Value::make_u32(64)},
        {"v.u8", Value::make_u8(250)},
        {"v.i8", Value::make_i8(-120)},
        {"v.u16", Value::make_u16(65000)},
        {"v.i16", Value::make_i16(-32000)},
        {"v.u32", Value::make_u32(4000000000u)},
        {"v.i32", Value::make_i32(-2000000000)},
        {"v.u64", Value::make_u64(UINT64_MAX)},
        {"v.i64", Value::make_i64(INT64_MIN)},
        {"v.f32", Value::make_f32(1.5e-5f)},
        {"v.f64", Value::make_f64(-3.141592653589793)},
        {"v.f32.nan", Value::make_f32(std::nanf(""))},
        {"v.true", Value::make_bool(true)},
        {"v.false", Value::make_bool(false)},
        {"v.string", Value::make_string("hello")},
        {"v.empty", Value::make_string("")},
        {"v.unicode", Value::make_string("h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x94\xa5")},
        {"v.nul", Value::make_string(std::string("a\0b", 3))},
        {"a.i32", Value::make_array(ValueType::I32, {Value::make_i32(1), Value::make_i32(-1), Value::make_i32(7)})},
        {"a.u64", Value::make_array(ValueType::U64, {Value::make_u64(UINT64_MAX), Value::make_u64(0)})},
        {"a.f32", Value::make_array(ValueType::F32, {Value::make_f32(0.25f), Value::make_f32(-8.0f)})},
        {"a.bool", Value::make_array(ValueType::BOOL, {Value::make_bool(true), Value::make_bool(false)})},
        {"a.string", Value::make_string_array({"<s>", "", "\xe2\x96\x81the"})},
        {"a.empty", Value::make_array(ValueType::STRING, {})},
        {"a.arrays", Value::make_array(ValueType::ARRAY, arrays)},
        {"a.deeper", Value::make_array(ValueType::ARRAY, deeper)},
    };
}

std::vector<TensorSpec> tensor_specs() {
    return {
        {"t.f32.1d", DType::F32, {5}, pattern(20, 1)},
        {"t.f16.2d", DType::F16, {3, 7}, pattern(42, 2)},
        {"t.q4_0.3d", DType::Q4_0, {64, 2, 3}, pattern(2 * 18 * 6, 3)},
        {"t.q8_0.4d", DType::Q8_0, {32, 1, 2, 2}, pattern(34 * 4, 4)},
        {"t.i8", DType::I8, {7}, pattern(7, 5)},
        {"t.q4_k", DType::Q4_K, {256, 2}, pattern(144 * 2, 6)},
    };
}

Writer make_writer() {
    Writer w;
    for (KeyValue& kv : all_value_types())
        w.set(kv.key, kv.value);
    for (const TensorSpec& t : tensor_specs()) {
        Status st = w.add_tensor(t.name, t.type, t.ne, t.data);
        EXPECT_TRUE(st) << st.message();
    }
    return w;
}

void expect_matches_specs(const File& f) {
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.data_offset() % 64, 0u);
    std::vector<KeyValue> want = all_value_types();
    ASSERT_EQ(f.metadata().size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(f.metadata()[i].key, want[i].key);
        EXPECT_TRUE(f.metadata()[i].value == want[i].value) << want[i].key;
    }
    std::vector<TensorSpec> specs = tensor_specs();
    ASSERT_EQ(f.tensors().size(), specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        const TensorInfo& t = f.tensors()[i];
        SCOPED_TRACE(specs[i].name);
        EXPECT_EQ(t.name, specs[i].name);
        EXPECT_EQ(t.type, specs[i].type);
        EXPECT_EQ(t.ne, specs[i].ne);
        EXPECT_EQ(t.n_bytes, specs[i].data.size());
        uint64_t n = 1;
        for (uint64_t d : specs[i].ne)
            n *= d;
        EXPECT_EQ(t.n_elements, n);
        EXPECT_EQ(t.offset % 64, 0u);
        std::span<const uint8_t> data = f.tensor_data(t);
        ASSERT_EQ(data.size(), specs[i].data.size());
        EXPECT_TRUE(std::equal(data.begin(), data.end(), specs[i].data.begin()));
        EXPECT_EQ(f.find_tensor(t.name), &t);
    }
}

TEST(GgufRoundTrip, FromMemory) {
    std::vector<uint8_t> bytes = make_writer().to_bytes();
    auto f = File::from_memory(bytes);
    ASSERT_TRUE(f) << f.message();
    expect_matches_specs(*f);
    for (const TensorInfo& t : f->tensors()) {
        EXPECT_EQ((f->tensor_data(t).data() - bytes.data()) % 64, 0) << t.name;
    }
}

TEST(GgufRoundTrip, WriteAndOpen) {
    char dir_template[] = "/tmp/hearth-gguf-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    std::string dir = dir_template;
    std::string path = dir + "/model.gguf";
    Writer w = make_writer();
    Status st = w.write(path);
    ASSERT_TRUE(st) << st.message();
    {
        auto f = File::open(path);
        ASSERT_TRUE(f) << f.message();
        expect_matches_specs(*f);
        std::vector<uint8_t> bytes = w.to_bytes();
        ASSERT_EQ(f->file_size(), bytes.size());
        // The file is mapped: tensor data points into the mapping, aligned within the file.
        const uint8_t* base = f->tensor_data(f->tensors()[0]).data() - f->data_offset() - f->tensors()[0].offset;
        EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), base));
        File moved = std::move(f).value(); // the mapping survives a move
        EXPECT_EQ(moved.tensor_data(moved.tensors()[1])[0], tensor_specs()[1].data[0]);
    }
    // Only the final file is left: no temporary.
    int entries = 0;
    DIR* d = ::opendir(dir.c_str());
    ASSERT_NE(d, nullptr);
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        EXPECT_EQ(name, "model.gguf");
        ++entries;
    }
    ::closedir(d);
    EXPECT_EQ(entries, 1);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}

// Tensors whose bytes come from a producer at write time give the same file as stored ones; a producer's error or a
// wrong size leaves nothing behind.
TEST(GgufRoundTrip, TensorsAddedLaterAreProducedInOrder) {
    char dir_template[] = "/tmp/hearth-gguf-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template, path = dir + "/later.gguf";
    // make_writer()'s metadata and tensors, the tensors declared now and produced at write time.
    const Writer stored = make_writer();
    Writer later;
    const std::vector<uint8_t> stored_bytes = stored.to_bytes();
    auto stored_file = File::from_memory(stored_bytes);
    ASSERT_TRUE(stored_file) << stored_file.message();
    for (const KeyValue& kv : stored_file->metadata())
        later.set(kv.key, kv.value);
    const auto specs = tensor_specs();
    for (const TensorSpec& t : specs)
        ASSERT_TRUE(later.add_tensor_later(t.name, t.type, t.ne));
    std::vector<size_t> asked;
    ASSERT_TRUE(later.write(path, [&](size_t k, std::vector<uint8_t>& scratch) -> Result<std::span<const uint8_t>> {
        asked.push_back(k);
        scratch = specs[k].data;
        return std::span<const uint8_t>(scratch);
    }));
    EXPECT_EQ(asked.size(), specs.size());
    for (size_t k = 0; k < asked.size(); ++k)
        EXPECT_EQ(asked[k], k);
    {
        auto f = File::open(path);
        ASSERT_TRUE(f) << f.message();
        expect_matches_specs(*f);
        ASSERT_EQ(f->file_size(), stored_bytes.size());
    }
    ::unlink(path.c_str());
    const std::string bad = dir + "/bad.gguf";
    EXPECT_FALSE(later.write(bad, [&](size_t k, std::vector<uint8_t>&) -> Result<std::span<const uint8_t>> {
        if (k == 1) return error("producer failed");
        return std::span<const uint8_t>(specs[k].data);
    }));
    EXPECT_FALSE(later.write(bad, [&](size_t k, std::vector<uint8_t>& scratch) -> Result<std::span<const uint8_t>> {
        scratch.assign(specs[k].data.size() + 1, 0); // one byte too many
        return std::span<const uint8_t>(scratch);
    }));
    EXPECT_FALSE(later.write(bad)); // no producer
    int entries = 0;
    DIR* d = ::opendir(dir.c_str());
    ASSERT_NE(d, nullptr);
    while (dirent* e = ::readdir(d))
        entries += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
    ::closedir(d);
    EXPECT_EQ(entries, 0); // no temporary, no partial file
    ::rmdir(dir.c_str());
}

TEST(GgufRoundTrip, WriteToMissingDirectoryFails) {
    Status st = make_writer().write("/nonexistent-hearth-dir/model.gguf");
    ASSERT_FALSE(st);
    EXPECT_NE(st.message().find("/nonexistent-hearth-dir/model.gguf"), std::string::npos) << st.message();
}

TEST(GgufRoundTrip, DefaultAlignmentAndReplacedKey) {
    Writer w;
    w.set("a", Value::make_u32(1));
    w.set("b", Value::make_string("x"));
    w.set("a", Value::make_string("replaced"));
    ASSERT_TRUE(w.add_tensor("t", DType::F32, {3}, pattern(12, 9)));
    ASSERT_TRUE(w.add_tensor("u", DType::F32, {1}, pattern(4, 9)));
    std::vector<uint8_t> bytes = w.to_bytes();
    auto f = File::from_memory(bytes);
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(f->alignment(), 32u);
    ASSERT_EQ(f->metadata().size(), 2u);
    EXPECT_EQ(f->metadata()[0].key, "a");
    EXPECT_EQ(f->get_string("a").value(), "replaced");
    EXPECT_EQ(f->tensors()[1].offset, 32u);
}

TEST(GgufRoundTrip, AddTensorRejectsBadInput) {
    Writer w;
    std::vector<uint8_t> data = pattern(16, 0);
    EXPECT_FALSE(w.add_tensor("", DType::F32, {4}, data));
    EXPECT_FALSE(w.add_tensor("t", DType::F32, {}, data));
    EXPECT_FALSE(w.add_tensor("t", DType::F32, {1, 1, 1, 1, 4}, data));
    EXPECT_FALSE(w.add_tensor("t", DType::F32, {5}, data));   // size mismatch
    EXPECT_FALSE(w.add_tensor("t", DType::Q8_0, {16}, data)); // not a block multiple
    EXPECT_FALSE(w.add_tensor("t", DType::F32, {1ull << 62, 4}, data));
    ASSERT_TRUE(w.add_tensor("t", DType::F32, {4}, data));
    Status dup = w.add_tensor("t", DType::F32, {4}, data);
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.message().find("duplicate"), std::string::npos) << dup.message();
}

} // namespace
} // namespace hearth::gguf
