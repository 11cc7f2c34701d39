// base/hex.h: bytes as lower-case hex (digests in the store, downloads and their tests).
#pragma once

#include <cstddef>
#include <string>

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

} // namespace hearth
