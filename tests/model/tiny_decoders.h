// tests/model/tiny_decoders.h: the tiny decoder models of tests/data/tiny (five architectures: RoPE factors, q/k
// norms, fused projections, biases, sliding windows), for the tests parameterized over them.
#pragma once

#include <cctype>
#include <gtest/gtest.h>
#include <string>

namespace hearth {

inline std::string tiny_decoder(const std::string& name) {
    return std::string(HEARTH_TEST_DATA) + "/tiny/" + name + ".gguf";
}

inline constexpr const char* kTinyDecoders[] = {"tiny-llama3", "tiny-qwen3", "tiny-phi3", "tiny-qwen2", "tiny-gemma3"};

// A test name of the model's (gtest names: letters, digits and _).
inline std::string tiny_decoder_test_name(const ::testing::TestParamInfo<const char*>& info) {
    std::string n = info.param;
    for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return n;
}

} // namespace hearth
