// grammar/utf8_decode.h: byte-at-a-time UTF-8 decoding for the matcher and the token-mask walk.
//
// Tokens need not end on a character boundary (byte-fallback tokens, byte-level BPE pieces), so the matcher
// keeps the bytes of an unfinished code point between tokens. Utf8Decoder holds them as the bits gathered so
// far plus the range the next byte must fall in (Unicode 15, table 3-7, "well-formed UTF-8 byte sequences"),
// which rejects overlong forms, surrogates and values above U+10FFFF at the first byte that makes them so.
#pragma once

#include "grammar/grammar.h"

#include <cstdint>

namespace hearth::grammar {

enum class Utf8Step : uint8_t {
    Done,    // a code point is complete
    More,    // valid so far; more bytes needed
    Invalid, // this byte cannot continue (or start) a well-formed sequence
};

struct Utf8Decoder {
    uint32_t bits = 0;   // payload bits gathered so far
    uint8_t need = 0;    // continuation bytes still expected (0: between code points)
    uint8_t next_lo = 0; // the next continuation byte must lie in [next_lo, next_hi]
    uint8_t next_hi = 0;

    bool idle() const { return need == 0; }
    bool operator==(const Utf8Decoder&) const = default;
    uint64_t key() const { return uint64_t(bits) << 24 | uint32_t(need) << 16 | uint32_t(next_lo) << 8 | next_hi; }

    // Feeds one byte. On Done, `cp` is the code point and the decoder is idle again. On Invalid the decoder
    // is unchanged.
    Utf8Step feed(uint8_t b, uint32_t& cp) {
        if (need == 0) {
            if (b < 0x80) {
                cp = b;
                return Utf8Step::Done;
            }
            if (b < 0xC2 || b > 0xF4) return Utf8Step::Invalid; // continuation byte, overlong lead, > U+10FFFF
            Utf8Decoder d;
            if (b < 0xE0) {
                d = {uint32_t(b & 0x1F), 1, 0x80, 0xBF};
            } else if (b < 0xF0) {
                d = {uint32_t(b & 0x0F), 2, uint8_t(b == 0xE0 ? 0xA0 : 0x80), uint8_t(b == 0xED ? 0x9F : 0xBF)};
            } else {
                d = {uint32_t(b & 0x07), 3, uint8_t(b == 0xF0 ? 0x90 : 0x80), uint8_t(b == 0xF4 ? 0x8F : 0xBF)};
            }
            *this = d;
            return Utf8Step::More;
        }
        if (b < next_lo || b > next_hi) return Utf8Step::Invalid;
        bits = bits << 6 | (b & 0x3F);
        need--;
        next_lo = 0x80;
        next_hi = 0xBF;
        if (need > 0) return Utf8Step::More;
        cp = bits;
        *this = Utf8Decoder{};
        return Utf8Step::Done;
    }

    // The code points a pending sequence can still become (a superset is fine: callers use it to prune).
    CharRange pending_range() const {
        uint32_t lo = (bits << 6 | (next_lo & 0x3F)) << 6 * (need - 1);
        uint32_t hi = (bits << 6 | (next_hi & 0x3F)) << 6 * (need - 1) | ((1u << 6 * (need - 1)) - 1);
        return {lo, hi};
    }
};

} // namespace hearth::grammar
