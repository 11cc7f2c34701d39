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
// llama.cpp's decoder (unicode_cpt_from_utf8 as used by unicode_cpts_from_utf8), which byte-level BPE must
// copy to give the same tokens for invalid UTF-8: the lead byte alone sets the length (C0..DF: 2, E0..EF: 3,
// F0..F7: 4) and only the continuation bytes are checked, so overlong forms (C0 80 -> U+0000) and
// surrogates (ED A0 80 -> U+D800) decode. Anything else is U+FFFD, *n = 1. A value past U+10FFFF (F4 90..,
// F5..F7) also gives U+FFFD, *n = 1: llama.cpp throws on those (its process aborts), so there is nothing to
// agree with.
uint32_t utf8_decode_lenient(std::string_view text, size_t pos, size_t* n);
// Appends the UTF-8 form of cp (no checks: a surrogate gets its 3-byte form, as in llama.cpp).
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
