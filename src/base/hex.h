// base/hex.h: bytes as lower-case hex (digests in the store, downloads and their tests), and reading hex
// digits back (escapes in grammars and patterns).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth {

inline std::string to_hex(const unsigned char* p, size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s(2 * n, '0');
    for (size_t i = 0; i < n; ++i) {
        s[2 * i] = kHex[p[i] >> 4];
        s[2 * i + 1] = kHex[p[i] & 15];
    }
    return s;
}

// The value of one hex digit (either case), or -1.
inline int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Reads exactly n hex digits of s at pos into out, advancing pos; false (pos unspecified) if there are fewer.
inline bool read_hex(std::string_view s, size_t& pos, int n, uint32_t& out) {
    out = 0;
    for (int i = 0; i < n; i++, pos++) {
        int v = pos < s.size() ? hex_value(s[pos]) : -1;
        if (v < 0) return false;
        out = out << 4 | uint32_t(v);
    }
    return true;
}

} // namespace hearth
