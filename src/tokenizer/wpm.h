// tokenizer/wpm.h: WordPiece (BERT) encoding, internal to the tokenizer library.
//
// BERT normalization as llama.cpp does it: optional NFD + accent stripping and lowercasing, control
// characters dropped, split on whitespace, punctuation / ASCII symbols / CJK ideographs as one-character
// words. Each word, prefixed with '▁', is split greedily into the longest vocabulary pieces; a word that
// cannot be covered becomes [UNK]. Unicode properties come from ICU.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace hearth {
struct Tokenizer;
}

namespace hearth::tok {
void encode_wpm(const Tokenizer& t, std::string_view text, std::vector<int32_t>& out);
}
