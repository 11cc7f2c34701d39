#include "base/mmap_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace hearth {
namespace {

namespace fs = std::filesystem;

TEST(MmapFile, MapsContents) {
    const fs::path p = fs::temp_directory_path() / "hearth_mmap_test.bin";
    {
        std::ofstream o(p, std::ios::binary);
        o << "hello gguf";
    }
    auto m = MmapFile::open(p.string());
    ASSERT_TRUE(m) << m.message();
    ASSERT_EQ(m->size(), 10u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->bytes().data()), 10), "hello gguf");
    fs::remove(p);
}

TEST(MmapFile, EmptyFileIsEmptySpan) {
    const fs::path p = fs::temp_directory_path() / "hearth_mmap_empty.bin";
    { std::ofstream o(p, std::ios::binary); }
    auto m = MmapFile::open(p.string());
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m->size(), 0u);
    fs::remove(p);
}

TEST(MmapFile, ClearErrors) {
    auto missing = MmapFile::open("/nonexistent/hearth/model.gguf");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.message().find("/nonexistent/hearth/model.gguf"), std::string::npos);
    auto dir = MmapFile::open(fs::temp_directory_path().string());
    ASSERT_FALSE(dir);
    EXPECT_NE(dir.message().find("not a regular file"), std::string::npos);
}

} // namespace
} // namespace hearth
