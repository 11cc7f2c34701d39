// privacy/checksums.h: the check-digit algorithms the detectors validate with. Header-only so that test
// generators (tests/privacy/corpus.h) can make valid and invalid numbers with the same definitions.
// Every function takes ASCII digits (or, for IBAN, upper-case alphanumerics) and never throws.
#pragma once

#include <cstdint>
#include <string_view>

namespace hearth::privacy::check {

// Luhn (ISO/IEC 7812-1): payment cards. `digits` are '0'..'9' only.
inline bool luhn(std::string_view digits) {
    int sum = 0;
    bool dbl = false;
    for (size_t i = digits.size(); i-- > 0;) {
        int d = digits[i] - '0';
        if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
        dbl = !dbl;
    }
    return !digits.empty() && sum % 10 == 0;
}

// ISO 13616 IBAN: move the first four characters to the end, letters -> 10..35, the number mod 97 is 1.
// `iban` is upper-case letters and digits, no spaces.
inline int iban_mod97(std::string_view iban) {
    if (iban.size() < 5) return -1;
    int r = 0;
    auto feed = [&](char c) {
        if (c >= '0' && c <= '9') {
            r = (r * 10 + (c - '0')) % 97;
        } else {
            const int v = c - 'A' + 10;
            r = (r * 100 + v) % 97;
        }
    };
    for (size_t i = 4; i < iban.size(); ++i)
        feed(iban[i]);
    for (size_t i = 0; i < 4; ++i)
        feed(iban[i]);
    return r;
}
inline bool iban(std::string_view s) {
    return iban_mod97(s) == 1;
}

// Verhoeff (dihedral group D5): Indian Aadhaar numbers.
inline bool verhoeff(std::string_view digits) {
    static constexpr uint8_t d[10][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
                                          {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
                                          {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
                                          {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
                                          {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
    static constexpr uint8_t p[8][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
                                         {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
                                         {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
                                         {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};
    int c = 0;
    size_t pos = 0;
    for (size_t i = digits.size(); i-- > 0; ++pos)
        c = d[c][p[pos % 8][digits[i] - '0']];
    return !digits.empty() && c == 0;
}

// Dutch BSN "elfproef": 9*d1 + 8*d2 + ... + 2*d8 - d9 is a multiple of 11 (and not 0).
inline bool bsn(std::string_view digits) {
    if (digits.size() != 9) return false;
    int sum = 0;
    for (int i = 0; i < 8; ++i)
        sum += (9 - i) * (digits[static_cast<size_t>(i)] - '0');
    sum -= digits[8] - '0';
    return sum != 0 && sum % 11 == 0;
}

// Spanish DNI/NIE control letter for the number (NIE: X/Y/Z -> 0/1/2 before the 7 digits).
inline char dni_letter(uint32_t number) {
    return "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23];
}

// Finnish HETU control character for DDMMYY + individual number NNN (as one 9-digit number).
inline char hetu_char(uint32_t nine_digits) {
    return "0123456789ABCDEFHJKLMNPRSTUVWXY"[nine_digits % 31];
}

} // namespace hearth::privacy::check
