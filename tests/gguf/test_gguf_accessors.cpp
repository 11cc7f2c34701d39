// Typed metadata accessors: conversions that fit succeed; wrong types and ranges fail naming the
// key and both types.
#include "gguf/gguf.h"
#include "gguf/writer.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace hearth::gguf {
namespace {

class GgufAccessors : public ::testing::Test {
protected:
    void SetUp() override {
        Writer w;
        w.set("s", Value::make_string("text"));
        w.set("u8", Value::make_u8(200));
        w.set("u64.big", Value::make_u64(1ull << 40));
        w.set("u64.max", Value::make_u64(UINT64_MAX));
        w.set("i32.neg", Value::make_i32(-5));
        w.set("f32", Value::make_f32(0.5f));
        w.set("f64", Value::make_f64(1e-6));
        w.set("b", Value::make_bool(true));
        w.set("toks", Value::make_string_array({"a", "b"}));
        w.set("ints", Value::make_array(ValueType::U8, {Value::make_u8(1), Value::make_u8(255)}));
        w.set("big.ints", Value::make_array(ValueType::U64, {Value::make_u64(UINT64_MAX)}));
        w.set("floats", Value::make_array(ValueType::F32, {Value::make_f32(1.5f), Value::make_f32(-2.0f)}));
        bytes_ = w.to_bytes();
        auto f = File::from_memory(bytes_);
        ASSERT_TRUE(f) << f.message();
        file_ = std::make_unique<File>(std::move(f).value());
    }

    // Asserts `r` failed with a message containing each of `parts`.
    template <typename T> void expect_error(const Result<T>& r, std::vector<std::string> parts) {
        ASSERT_FALSE(r);
        for (const std::string& p : parts)
            EXPECT_NE(r.message().find(p), std::string::npos) << r.message();
    }

    std::vector<uint8_t> bytes_;
    std::unique_ptr<File> file_;
};

TEST_F(GgufAccessors, ValuesThatFit) {
    const File& f = *file_;
    EXPECT_EQ(f.get_string("s").value(), "text");
    EXPECT_EQ(f.get_u32("u8").value(), 200u);
    EXPECT_EQ(f.get_u64("u8").value(), 200u);
    EXPECT_EQ(f.get_i64("u8").value(), 200);
    EXPECT_EQ(f.get_u64("u64.big").value(), 1ull << 40);
    EXPECT_EQ(f.get_i64("i32.neg").value(), -5);
    EXPECT_EQ(f.get_f32("f32").value(), 0.5f);
    EXPECT_EQ(f.get_f64("f64").value(), 1e-6);
    EXPECT_EQ(f.get_f32("f64").value(), 1e-6f);
    EXPECT_TRUE(f.get_bool("b").value());
    EXPECT_EQ(f.get_string_array("toks").value(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(f.get_int_array("ints").value(), (std::vector<int64_t>{1, 255}));
    EXPECT_EQ(f.get_f32_array("floats").value(), (std::vector<float>{1.5f, -2.0f}));
    EXPECT_EQ(f.get_array_size("toks").value(), 2u);
    EXPECT_NE(f.find("s"), nullptr);
    EXPECT_EQ(f.find("nope"), nullptr);
}

TEST_F(GgufAccessors, WrongTypesNameKeyAndTypes) {
    const File& f = *file_;
    expect_error(f.get_u32("s"), {"'s'", "has type string", "expected an integer (u32)"});
    expect_error(f.get_string("u8"), {"'u8'", "has type u8", "expected string"});
    expect_error(f.get_f32("u8"), {"'u8'", "has type u8", "expected f32 or f64"});
    expect_error(f.get_bool("u8"), {"'u8'", "has type u8", "expected bool"});
    expect_error(f.get_u64("b"), {"'b'", "has type bool"});
    expect_error(f.get_string_array("ints"), {"'ints'", "has type array[u8]", "expected array[string]"});
    expect_error(f.get_int_array("toks"), {"'toks'", "has type array[string]", "array of integers"});
    expect_error(f.get_f32_array("ints"), {"'ints'", "has type array[u8]", "array[f32]"});
    expect_error(f.get_string_array("s"), {"'s'", "has type string", "array[string]"});
    expect_error(f.get_array_size("s"), {"'s'", "has type string", "an array"});
}

TEST_F(GgufAccessors, OutOfRangeAndMissing) {
    const File& f = *file_;
    expect_error(f.get_u32("u64.big"), {"'u64.big'", "1099511627776 does not fit in u32"});
    expect_error(f.get_i64("u64.max"), {"'u64.max'", "18446744073709551615 does not fit in i64"});
    expect_error(f.get_u64("i32.neg"), {"'i32.neg'", "-5 does not fit in u64"});
    expect_error(f.get_int_array("big.ints"), {"'big.ints'", "element 0", "does not fit in i64"});
    expect_error(f.get_string("missing.key"), {"'missing.key'", "not found"});
    expect_error(f.get_u32("missing.key"), {"'missing.key'", "not found"});
    expect_error(f.get_array_size("missing.key"), {"'missing.key'", "not found"});
}

} // namespace
} // namespace hearth::gguf
