// tests/model_paths.h: where tests find the fixture models fetched by scripts/fetch-models.
// A missing model is a test failure with a message saying how to get it, never a silent skip.
#pragma once

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace hearth::test {

inline std::string models_dir() {
    if (const char* env = std::getenv("HEARTH_MODELS"); env && *env) return env;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "/root") + "/.cache/hearth/models";
}

inline std::string model_path(const std::string& file) {
    return models_dir() + "/" + file;
}

inline std::string missing_model_message(const std::string& path) {
    return "fixture model " + path + " is missing: run scripts/fetch-models";
}

// llama.cpp's vocabulary conformance files (vocab/) and real models' chat templates (templates/), unpacked
// from the pinned llama-cpp-python sdist by scripts/fetch-fixtures. Same lookup as that script:
// $HEARTH_FIXTURES, else $HEARTH_CACHE/fixtures/llama.cpp-0.3.36, else ~/.cache/hearth/fixtures/...
inline std::string fixtures_dir() {
    if (const char* env = std::getenv("HEARTH_FIXTURES"); env && *env) return env;
    if (const char* cache = std::getenv("HEARTH_CACHE"); cache && *cache)
        return std::string(cache) + "/fixtures/llama.cpp-0.3.36";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "/root") + "/.cache/hearth/fixtures/llama.cpp-0.3.36";
}

inline std::string missing_fixture_message(const std::string& path) {
    return "fixture file " + path + " is missing: run scripts/fetch-fixtures";
}

// The fixture models: {short name, file name}.
struct FixtureModel {
    const char* name;
    const char* file;
};
inline constexpr FixtureModel kFixtureModels[] = {
    {"smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf"},
    {"gemma3-270m", "gemma-3-270m-q4_k_m.gguf"},
    {"qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"},
};

// gtest's test-name generator for FixtureModel parameters: the short name, anything but letters and digits as '_'
// (a template so this header needs no gtest).
struct FixtureParamName {
    template <typename Info> std::string operator()(const Info& info) const {
        std::string n = info.param.name;
        for (char& c : n)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return n;
    }
};

// The mission-size model (1.1 GB): its tests run only when asked for (scripts/test --mission sets
// HEARTH_MISSION_TESTS=1 after fetching it); otherwise they report themselves skipped, saying how to run them.
inline constexpr FixtureModel kMissionModel = {"qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"};
inline bool mission_tests_enabled() {
    const char* env = std::getenv("HEARTH_MISSION_TESTS");
    return env && std::string(env) == "1";
}

} // namespace hearth::test
