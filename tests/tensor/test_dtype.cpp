#include "tensor/dtype.h"

#include <gtest/gtest.h>
#include <set>

namespace hearth {
namespace {

TEST(DType, TableIsConsistent) {
    size_t n = 0;
    const DTypeInfo* all = dtype_all(&n);
    ASSERT_GE(n, 32u);
    std::set<uint32_t> ids;
    std::set<std::string_view> names;
    for (size_t i = 0; i < n; ++i) {
        EXPECT_TRUE(ids.insert(static_cast<uint32_t>(all[i].type)).second) << all[i].name;
        EXPECT_TRUE(names.insert(all[i].name).second) << all[i].name;
        EXPECT_GT(all[i].block_size, 0u);
        EXPECT_GT(all[i].type_size, 0u);
        EXPECT_EQ(all[i].quantized, all[i].block_size > 1) << all[i].name;
        EXPECT_EQ(dtype_from_name(all[i].name), all[i].type);
        EXPECT_EQ(dtype_info(static_cast<uint32_t>(all[i].type))->name, all[i].name);
    }
}

// Sizes from the GGUF spec / ggml block layouts.
TEST(DType, KnownSizes) {
    EXPECT_EQ(dtype_row_bytes(DType::F32, 10), 40u);
    EXPECT_EQ(dtype_row_bytes(DType::Q4_0, 64), 36u);
    EXPECT_EQ(dtype_row_bytes(DType::Q8_0, 32), 34u);
    EXPECT_EQ(dtype_row_bytes(DType::Q4_K, 512), 288u);
    EXPECT_EQ(dtype_row_bytes(DType::Q6_K, 256), 210u);
    EXPECT_EQ(dtype_row_bytes(DType::IQ4_XS, 256), 136u);
    EXPECT_FALSE(dtype_row_bytes(DType::Q4_K, 100).has_value());
    EXPECT_FALSE(dtype_info(4u).has_value());  // retired Q4_2
    EXPECT_FALSE(dtype_info(31u).has_value()); // retired Q4_0_4_4
    EXPECT_FALSE(dtype_info(1000u).has_value());
    EXPECT_EQ(dtype_from_name("Q4_K"), DType::Q4_K);
    EXPECT_FALSE(dtype_from_name("q4_k_m").has_value());
}

} // namespace
} // namespace hearth
