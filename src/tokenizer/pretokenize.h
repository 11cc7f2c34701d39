// tokenizer/pretokenize.h: byte-level BPE pre-tokenization, the regex splits chosen by `tokenizer.ggml.pre`.
//
// The regex lists follow llama.cpp's per-pre-tokenizer table (they are the HF tokenizer.json patterns, with
// `(?i:...)` contractions spelled out). They run on PCRE2 with UTF and UCP, so \p{L}, \p{N}, \s and
// lookaheads have their real Unicode meaning. Each regex refines the pieces the previous one produced:
// a match becomes a piece and so does every unmatched gap between matches, so no text is ever dropped.
//
// Invariants: split() takes valid UTF-8 (callers sanitize first) and returns non-empty, contiguous
// pieces that cover the input exactly, in order.
#pragma once

#include "base/status.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tok {

struct Piece {
    size_t offset = 0; // bytes into the text
    size_t length = 0;
};

class PreTokenizer {
public:
    // The patterns for a `tokenizer.ggml.pre` name ("" and "default" give llama.cpp's default list).
    // Error for an unknown name, so a new model is never silently split the wrong way.
    static Result<std::vector<std::string>> patterns_for(std::string_view pre);
    // Compiles the patterns (error names the pattern and PCRE2's message).
    static Result<PreTokenizer> compile(const std::vector<std::string>& patterns);

    PreTokenizer();
    PreTokenizer(PreTokenizer&&) noexcept;
    PreTokenizer& operator=(PreTokenizer&&) noexcept;
    ~PreTokenizer();

    bool empty() const;
    // Splits valid UTF-8 text into pieces. Cost is linear in the text for the shipped patterns.
    std::vector<Piece> split(std::string_view text) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace hearth::tok
