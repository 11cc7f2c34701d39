// privacy/detect.h (internal): the built-in detectors. Each match_* function looks at text t at position pos,
// which the caller has found to be a plausible start (a word start, '+', '(', '@'...), and returns the end of
// a validated match beginning at pos, or 0. Every detector looks at most a bounded distance from pos (so a
// scan stays linear), checks its own left and right boundaries, and validates checksums before answering.
#pragma once

#include "privacy/privacy.h"

#include <string_view>
#include <vector>

namespace hearth::privacy::detail {

struct Hit {
    Entity entity;
    size_t begin, end;
    const char* detector;
};

// Byte classes, one table lookup each (the scanner calls these for nearly every byte).
enum : unsigned char { kDigit = 1, kUpper = 2, kLower = 4, kHexLetter = 8 };
inline constexpr struct ClassTable {
    unsigned char v[256] = {};
    constexpr ClassTable() {
        for (int c = '0'; c <= '9'; ++c)
            v[c] = kDigit;
        for (int c = 'A'; c <= 'Z'; ++c)
            v[c] = kUpper | (c <= 'F' ? kHexLetter : 0);
        for (int c = 'a'; c <= 'z'; ++c)
            v[c] = kLower | (c <= 'f' ? kHexLetter : 0);
    }
} kClass;
inline unsigned char byte_class(char c) {
    return kClass.v[static_cast<unsigned char>(c)];
}
inline bool is_digit(char c) {
    return byte_class(c) & kDigit;
}
inline bool is_upper(char c) {
    return byte_class(c) & kUpper;
}
inline bool is_lower(char c) {
    return byte_class(c) & kLower;
}
inline bool is_alpha(char c) {
    return byte_class(c) & (kUpper | kLower);
}
inline bool is_alnum(char c) {
    return byte_class(c) != 0;
}
inline bool is_hex(char c) {
    return byte_class(c) & (kDigit | kHexLetter);
}
inline char to_lower(char c) {
    return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}
// The byte at i, or 0 outside the text.
inline char at(std::string_view t, size_t i) {
    return i < t.size() ? t[i] : '\0';
}
inline char before(std::string_view t, size_t pos) {
    return pos > 0 ? t[pos - 1] : '\0';
}
// True if one of `words` (lower-case) occurs case-insensitively in the `window` bytes before pos, on the
// same line. Used where a bare number is only sensitive next to a label ("SSN: 123456789").
bool has_context(std::string_view t, size_t pos, std::initializer_list<std::string_view> words, size_t window = 40);

// Numbers (detect_numbers.cpp). Start: a digit, '+' (e164) or '(' (nanp).
size_t match_card(std::string_view t, size_t pos);
size_t match_phone_e164(std::string_view t, size_t pos);
size_t match_phone_nanp(std::string_view t, size_t pos);
size_t match_phone_national(std::string_view t, size_t pos); // UK, DE, FR: leading 0, grouped
size_t match_us_ssn(std::string_view t, size_t pos);
size_t match_nl_bsn(std::string_view t, size_t pos); // bare 9 digits: only with a context word
size_t match_in_aadhaar(std::string_view t, size_t pos);
size_t match_es_dni(std::string_view t, size_t pos); // also NIE (start X/Y/Z)
size_t match_fi_hetu(std::string_view t, size_t pos);
size_t match_uk_nino(std::string_view t, size_t pos); // start: upper-case letter
size_t match_iban(std::string_view t, size_t pos);    // start: upper-case letter
size_t match_ipv4(std::string_view t, size_t pos);
// The end of four dotted decimal octets (0-255, no leading zeros) at pos, or 0; no boundary checks.
size_t ipv4_end(std::string_view t, size_t pos);

// Tokens (detect_tokens.cpp).
size_t match_ipv6(std::string_view t, size_t pos);
size_t match_mac(std::string_view t, size_t pos);
// Known secret prefixes at pos; on a match, *name is the detector name ("github_token", ...).
size_t match_secret_prefix(std::string_view t, size_t pos, const char** name);
size_t match_jwt(std::string_view t, size_t pos);
// A high-entropy token at pos (see detect_tokens.cpp for the rule); *name is "high_entropy" or
// "keyword_secret". *token_end receives the end of the token examined, matched or not.
size_t match_entropy(std::string_view t, size_t pos, const char** name, size_t* token_end);

// Whole-text passes, appending to out: every '@' (emails), every "://" (URLs with credentials), every
// "-----BEGIN " (PEM private keys).
void find_emails(std::string_view t, std::vector<Hit>& out);
void find_url_credentials(std::string_view t, std::vector<Hit>& out);
void find_pem_keys(std::string_view t, std::vector<Hit>& out);

} // namespace hearth::privacy::detail
