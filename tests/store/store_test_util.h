// tests/store/store_test_util.h: a fresh temporary directory per test, removed afterwards.
#pragma once

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <string>

namespace hearth::test {

inline std::filesystem::path make_temp_dir(const std::string& tag) {
    std::random_device rd;
    const auto dir = std::filesystem::temp_directory_path() /
                     ("hearth-" + tag + "-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir);
    return dir;
}

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

inline std::string tiny_model(const std::string& name) {
    return std::string(HEARTH_TEST_DATA) + "/tiny/" + name;
}

// A gtest fixture owning a temp dir.
class TempDirTest : public ::testing::Test {
protected:
    void SetUp() override { dir_ = make_temp_dir("store"); }
    void TearDown() override {
        std::error_code ec;
        // Make everything removable first (tests may chmod).
        std::filesystem::remove_all(dir_, ec);
    }
    std::filesystem::path dir_;
};

} // namespace hearth::test
