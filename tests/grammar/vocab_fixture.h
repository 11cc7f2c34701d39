// tests/grammar/vocab_fixture.h: the Qwen2.5 vocabulary (151k tokens) of the qwen2.5-coder-0.5b fixture
// model, as the bytes each token stands for, and its VocabTrie; loaded once per process.
#pragma once

#include "grammar/token_mask.h"
#include "model_paths.h"
#include "tokenizer/tokenizer.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace hearth::grammar::test {

struct QwenVocab {
    Tokenizer tok;
    VocabTrie trie;
};

inline const QwenVocab& qwen_vocab() {
    static const QwenVocab v = [] {
        std::string path = hearth::test::model_path("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
        auto file = gguf::File::open(path);
        if (!file) throw std::runtime_error(hearth::test::missing_model_message(path) + ": " + file.message());
        auto tok = load_tokenizer(*file);
        if (!tok) throw std::runtime_error(tok.message());
        std::vector<std::string> bytes(size_t(tok->n_vocab()));
        for (int32_t id = 0; id < tok->n_vocab(); id++)
            bytes[size_t(id)] = token_to_piece(*tok, id, /*special=*/false);
        return QwenVocab{std::move(tok.value()), VocabTrie::build(std::move(bytes))};
    }();
    return v;
}

} // namespace hearth::grammar::test
