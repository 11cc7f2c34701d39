// Files written by gguf-py (an independent writer; tests/fuzz/make_gguf_seeds.py makes them, and they
// double as the fuzz seed corpus) read back with the values the script wrote.
#include "gguf/gguf.h"

#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace hearth::gguf {
namespace {

Result<File> open_seed(const std::string& name) {
    return File::open(std::string(HEARTH_TEST_DATA) + "/gguf/" + name);
}

TEST(GgufReference, EveryTypeFromGgufPy) {
    auto f = open_seed("seed-every-type.gguf.bin");
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->get_string("general.architecture").value(), "seed");
    EXPECT_EQ(f->get_u32("v.u8").value(), 250u);
    EXPECT_EQ(f->get_i64("v.i8").value(), -120);
    EXPECT_EQ(f->get_u32("v.u16").value(), 65000u);
    EXPECT_EQ(f->get_i64("v.i16").value(), -32000);
    EXPECT_EQ(f->get_u32("v.u32").value(), 4000000000u);
    EXPECT_EQ(f->get_i64("v.i32").value(), -2000000000);
    EXPECT_EQ(f->get_u64("v.u64").value(), UINT64_MAX);
    EXPECT_EQ(f->get_i64("v.i64").value(), INT64_MIN);
    EXPECT_EQ(f->get_f32("v.f32").value(), 1.5f);
    EXPECT_EQ(f->get_f64("v.f64").value(), -3.25);
    EXPECT_TRUE(f->get_bool("v.bool").value());
    EXPECT_EQ(f->get_string("v.str").value(), "h\xc3\xa9llo \xf0\x9f\x94\xa5");
    EXPECT_EQ(f->get_string("v.empty").value(), "");
    EXPECT_EQ(f->get_string_array("a.str").value(), (std::vector<std::string>{"<s>", "", "\xe2\x96\x81the"}));
    EXPECT_EQ(f->get_int_array("a.i32").value(), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_EQ(f->get_f32_array("a.f32").value(), (std::vector<float>{0.5f, -1.0f}));
    const Value* nested = f->find("a.nested");
    ASSERT_NE(nested, nullptr);
    EXPECT_EQ(nested->type_name(), "array[array]");
    ASSERT_EQ(nested->arr.size(), 2u);
    EXPECT_EQ(nested->arr[0].arr.size(), 2u);
    EXPECT_EQ(nested->arr[1].type_name(), "array[string]");
    EXPECT_EQ(nested->arr[1].arr[0].str, "x");

    ASSERT_EQ(f->tensors().size(), 3u);
    const TensorInfo* t = f->find_tensor("t.f32");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->ne, (std::vector<uint64_t>{3, 2})); // numpy (2, 3) is ne (3, 2)
    EXPECT_EQ(t->type, DType::F32);
    float values[6];
    ASSERT_EQ(f->tensor_data(*t).size(), sizeof(values));
    std::memcpy(values, f->tensor_data(*t).data(), sizeof(values));
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(values[i], static_cast<float>(i));
    const TensorInfo* t4 = f->find_tensor("t.i8.4d");
    ASSERT_NE(t4, nullptr);
    EXPECT_EQ(t4->ne, (std::vector<uint64_t>{2, 2, 2, 2}));
    EXPECT_EQ(f->tensor_data(*t4)[15], 15);
}

TEST(GgufReference, CustomAlignmentFromGgufPy) {
    auto f = open_seed("seed-q8-align64.gguf.bin");
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->data_offset() % 64, 0u);
    const TensorInfo* t = f->find_tensor("blk.0.q8");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, DType::Q8_0);
    EXPECT_EQ(t->ne, (std::vector<uint64_t>{32, 1}));
    EXPECT_EQ(t->n_bytes, 34u);
    EXPECT_EQ(f->tensor_data(*t)[33], 33);
}

} // namespace
} // namespace hearth::gguf
