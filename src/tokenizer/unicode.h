// tokenizer/unicode.h: the few UTF-8 and byte-level helpers the tokenizers share.
//
// Invariants: decoding never reads past the end of its input and never throws; an invalid or truncated
// sequence decodes as U+FFFD consuming exactly one byte, as llama.cpp and the HF tokenizers do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::tok {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Length of the UTF-8 sequence a lead byte announces (1 for ASCII and for stray continuation bytes).
inline size_t utf8_len(uint8_t lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1;
}

// Decodes one code point at text[pos]; sets *n to the bytes consumed (>= 1). Invalid: U+FFFD, *n = 1.
uint32_t utf8_decode(std::string_view text, size_t pos, size_t* n);
void utf8_append(std::string& out, uint32_t cp);
// The text with every invalid or truncated sequence replaced by U+FFFD (valid input is returned as is).
std::string utf8_sanitize(std::string_view text);
// Number of leading bytes of `text` that form complete sequences; the rest is an incomplete tail
// (at most 3 bytes) that more bytes could still complete.
size_t utf8_complete_prefix(std::string_view text);

// GPT-2's byte-level alphabet: every byte maps to one printable code point (so merges never see raw
// control bytes or spaces). byte_to_unicode(' ') == U+0120 'Ġ'.
uint32_t byte_to_unicode(uint8_t b);
// Inverse of byte_to_unicode; -1 for a code point outside the alphabet.
int unicode_to_byte(uint32_t cp);

} // namespace hearth::tok
