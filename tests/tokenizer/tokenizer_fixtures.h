// tests/tokenizer/tokenizer_fixtures.h: loading vocabularies and llama.cpp's .inp/.out test pairs.
#pragma once

#include "model_paths.h"
#include "tokenizer/tokenizer.h"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

namespace hearth::test {

inline std::string vocab_dir() {
    return fixtures_dir() + "/vocab";
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline Tokenizer load_or_fail(const std::string& path) {
    auto file = gguf::File::open(path);
    if (!file) {
        ADD_FAILURE() << file.message();
        return {};
    }
    auto tok = load_tokenizer(*file);
    if (!tok) {
        ADD_FAILURE() << path << ": " << tok.message();
        return {};
    }
    return std::move(tok.value());
}

// The strings of a .inp file: separated by "\n__ggml_vocab_test__\n" (the separator owns its line breaks).
inline std::vector<std::string> read_inp(const std::string& path) {
    const std::string all = read_file(path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t pos; (pos = all.find(sep, start)) != std::string::npos; start = pos + sep.size()) {
        out.push_back(all.substr(start, pos - start));
    }
    return out;
}

// The token lists of a .out file: one line each, ids separated by spaces.
inline std::vector<std::vector<int32_t>> read_out(const std::string& path) {
    std::vector<std::vector<int32_t>> out;
    std::istringstream in(read_file(path));
    for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::vector<int32_t> ids;
        for (int32_t id; ls >> id;)
            ids.push_back(id);
        out.push_back(std::move(ids));
    }
    return out;
}

} // namespace hearth::test
