// privacy/detect_numbers.cpp: payment cards, phone numbers, national IDs, IBANs and IPv4 addresses.
//
// Common rules: a number starts where the previous byte is not a letter, digit, '_' or '.', and not a '-',
// '/' or ':' glued to a word or number before it (so "v1.2-3", "x-4111..." and "12:34" are not starts);
// it ends where the next byte is not a letter, digit or '_', and not a '-', '.', '/' or ':' followed by a
// digit (so a match is never the head of a longer number). A space followed by a digit does not extend a
// number: "card 4111 1111 1111 1111 2024" still finds the card in its first four groups.
#include "privacy/checksums.h"
#include "privacy/detect.h"

#include <cstring>

namespace hearth::privacy::detail {

bool has_context(std::string_view t, size_t pos, std::initializer_list<std::string_view> words, size_t window) {
    const size_t from = pos > window ? pos - window : 0;
    size_t start = from;
    for (size_t i = pos; i > from; --i) {
        if (t[i - 1] == '\n') {
            start = i;
            break;
        }
    }
    char buf[64];
    const size_t n = pos - start;
    for (size_t i = 0; i < n && i < sizeof buf; ++i)
        buf[i] = to_lower(t[start + i]);
    const std::string_view hay(buf, n < sizeof buf ? n : sizeof buf);
    for (std::string_view w : words)
        if (hay.find(w) != std::string_view::npos) return true;
    return false;
}

namespace {

bool left_ok(std::string_view t, size_t pos) {
    const char p = before(t, pos);
    if (is_alnum(p) || p == '_' || p == '.') return false;
    if ((p == '-' || p == '/' || p == ':') && is_alnum(before(t, pos - 1))) return false;
    return true;
}

bool right_ok(std::string_view t, size_t end) {
    const char c = at(t, end);
    if (is_alnum(c) || c == '_') return false;
    if ((c == '-' || c == '.' || c == '/' || c == ':') && is_digit(at(t, end + 1))) return false;
    return true;
}

// Digit groups separated by single bytes from `seps`: "4111 1111 1111 1111" -> 4 groups of 4.
struct Groups {
    static constexpr int kMaxGroups = 8, kMaxDigits = 24;
    int ng = 0, n = 0;
    char d[kMaxDigits];
    int len[kMaxGroups];
    size_t end[kMaxGroups];    // end of group i in t
    char sep[kMaxGroups] = {}; // separator after group i (0 after the last)

    // Digits in the first k groups.
    int digits(int k) const {
        int s = 0;
        for (int i = 0; i < k; ++i)
            s += len[i];
        return s;
    }
    // The first k groups are joined by one and the same separator.
    bool same_sep(int k) const {
        for (int i = 1; i + 1 < k; ++i)
            if (sep[i] != sep[0]) return false;
        return true;
    }
    std::string_view digit_view(int k) const { return {d, static_cast<size_t>(digits(k))}; }
};

Groups parse_groups(std::string_view t, size_t pos, std::string_view seps) {
    Groups g;
    size_t i = pos;
    while (g.ng < Groups::kMaxGroups) {
        int gl = 0;
        while (i < t.size() && is_digit(t[i]) && g.n < Groups::kMaxDigits) {
            g.d[g.n++] = t[i++];
            ++gl;
        }
        if (gl == 0) break;
        g.len[g.ng] = gl;
        g.end[g.ng] = i;
        ++g.ng;
        const char c = at(t, i);
        if (c == '\0' || seps.find(c) == std::string_view::npos || !is_digit(at(t, i + 1))) break;
        g.sep[g.ng - 1] = c;
        ++i;
    }
    return g;
}

bool all_same(std::string_view digits) {
    return digits.find_first_not_of(digits[0]) == std::string_view::npos;
}

int num(std::string_view s) {
    int v = 0;
    for (char c : s)
        v = v * 10 + (c - '0');
    return v;
}

// Issuer identification number ranges (ISO/IEC 7812) of the networks in use, with their lengths.
bool card_iin_ok(std::string_view d) {
    const size_t n = d.size();
    const int p2 = num(d.substr(0, 2)), p3 = num(d.substr(0, 3)), p4 = num(d.substr(0, 4));
    if (d[0] == '4') return n == 13 || n == 16 || n == 19;                                       // Visa
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;                    // Mastercard
    if (p2 == 34 || p2 == 37) return n == 15;                                                    // Amex
    if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) return n >= 16 && n <= 19;           // Discover
    if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;                                     // JCB
    if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14 && n <= 19; // Diners
    if (p2 == 62) return n >= 16 && n <= 19;                                                     // UnionPay
    if (p2 == 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19;                           // Maestro
    return false;
}

// 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4, or one bare run.
bool card_shape_ok(const Groups& g, int k) {
    if (k == 1) return true;
    if (k == 3 && g.len[0] == 4 && g.len[1] == 6 && (g.len[2] == 5 || g.len[2] == 4)) return true;
    for (int i = 0; i + 1 < k; ++i)
        if (g.len[i] != 4) return false;
    return g.len[k - 1] >= 1 && g.len[k - 1] <= 4;
}

} // namespace

size_t match_card(std::string_view t, size_t pos) {
    if (!left_ok(t, pos)) return 0;
    const Groups g = parse_groups(t, pos, " -");
    for (int k = g.ng; k >= 1; --k) {
        const int n = g.digits(k);
        if (n < 13 || n > 19 || !g.same_sep(k) || !card_shape_ok(g, k)) continue;
        const std::string_view d = g.digit_view(k);
        if (!right_ok(t, g.end[k - 1]) || all_same(d) || !card_iin_ok(d) || !check::luhn(d)) continue;
        return g.end[k - 1];
    }
    return 0;
}

size_t match_phone_e164(std::string_view t, size_t pos) {
    if (at(t, pos) != '+' || is_alnum(before(t, pos)) || !is_digit(at(t, pos + 1)) || at(t, pos + 1) == '0') return 0;
    size_t i = pos + 1, end = 0;
    int digits = 0;
    while (i < t.size() && i - pos < 32) {
        if (is_digit(t[i])) {
            while (i < t.size() && is_digit(t[i])) {
                ++digits;
                ++i;
            }
            end = i;
            if (digits > 15) return 0;
            continue;
        }
        const char c = t[i];
        if ((c == ' ' || c == '-' || c == '.') && is_digit(at(t, i + 1))) {
            ++i;
        } else if ((c == ' ' || c == '-') && at(t, i + 1) == '(' && is_digit(at(t, i + 2))) {
            ++i;
        } else if (c == '(' && is_digit(at(t, i + 1))) {
            size_t j = i + 1;
            while (j < t.size() && is_digit(t[j]) && j - i <= 5)
                ++j;
            if (at(t, j) != ')') break;
            digits += static_cast<int>(j - i - 1);
            i = j + 1;
            if (at(t, i) == ' ' || at(t, i) == '-') ++i;
            if (!is_digit(at(t, i))) return 0;
        } else {
            break;
        }
    }
    if (digits < 8 || digits > 15 || !right_ok(t, end)) return 0;
    return end;
}

size_t match_phone_nanp(std::string_view t, size_t pos) {
    // NANP: area code and exchange start with 2-9.
    auto nanp_ok = [](std::string_view a, std::string_view e) { return a[0] >= '2' && e[0] >= '2'; };
    if (at(t, pos) == '(') {
        // (415) 555-2671, (415)555-2671, (415) 555 2671
        if (is_alnum(before(t, pos))) return 0;
        const std::string_view a = t.substr(pos + 1, 3);
        if (a.size() < 3 || !is_digit(a[0]) || !is_digit(a[1]) || !is_digit(a[2]) || at(t, pos + 4) != ')') return 0;
        size_t i = pos + 5;
        if (at(t, i) == ' ') ++i;
        if (!is_digit(at(t, i))) return 0;
        const Groups g = parse_groups(t, i, " -.");
        if (g.ng < 2 || g.len[0] != 3 || g.len[1] != 4 || !right_ok(t, g.end[1])) return 0;
        return nanp_ok(a, g.digit_view(1)) ? g.end[1] : 0;
    }
    if (!left_ok(t, pos)) return 0;
    // 415-555-2671, 415.555.2671, 415 555 2671, 1-415-555-2671
    const Groups g = parse_groups(t, pos, " -.");
    int first = 0;
    if (g.ng >= 4 && g.len[0] == 1 && g.d[0] == '1') first = 1;
    if (g.ng < first + 3 || g.len[first] != 3 || g.len[first + 1] != 3 || g.len[first + 2] != 4) return 0;
    if (!g.same_sep(first + 3) || !right_ok(t, g.end[first + 2])) return 0;
    const std::string_view d = g.digit_view(first + 3).substr(static_cast<size_t>(first));
    return nanp_ok(d.substr(0, 3), d.substr(3, 3)) ? g.end[first + 2] : 0;
}

size_t match_phone_national(std::string_view t, size_t pos) {
    // UK "020 7946 0958", "07700 900123"; DE "030 12345678", "0171-1234567", "089/1234567";
    // FR "01 23 45 67 89", "06.12.34.56.78": a trunk '0', an area code, groups of two or more digits.
    if (at(t, pos) != '0' || at(t, pos + 1) == '0' || !left_ok(t, pos)) return 0;
    const Groups g = parse_groups(t, pos, " -./");
    for (int k = g.ng; k >= 2; --k) {
        const int n = g.digits(k);
        if (n < 10 || n > 12 || !g.same_sep(k) || g.len[0] > 5) continue;
        bool ok = true;
        for (int i = 0; i < k; ++i)
            ok = ok && g.len[i] >= 2;
        const std::string_view d = g.digit_view(k);
        if (!ok || all_same(d.substr(1)) || !right_ok(t, g.end[k - 1])) continue;
        if (g.sep[0] == '.' && !(n == 10 && k == 5)) continue; // dots only in the French 2-2-2-2-2 form
        return g.end[k - 1];
    }
    return 0;
}

size_t match_us_ssn(std::string_view t, size_t pos) {
    if (!left_ok(t, pos)) return 0;
    const Groups g = parse_groups(t, pos, "- ");
    std::string_view d;
    size_t end = 0;
    if (g.ng >= 3 && g.len[0] == 3 && g.len[1] == 2 && g.len[2] == 4 && g.sep[0] == g.sep[1]) {
        // 123-45-6789; with spaces only next to a label.
        if (g.sep[0] == ' ' && !has_context(t, pos, {"ssn", "social security"})) return 0;
        d = g.digit_view(3);
        end = g.end[2];
    } else if (g.len[0] == 9 && has_context(t, pos, {"ssn", "social security"})) {
        d = g.digit_view(1);
        end = g.end[0];
    } else {
        return 0;
    }
    if (!right_ok(t, end)) return 0;
    const int area = num(d.substr(0, 3)), group = num(d.substr(3, 2)), serial = num(d.substr(5, 4));
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return 0;
    if (d == "078051120" || d == "219099999") return 0; // famous advertising numbers, never issued
    return end;
}

size_t match_nl_bsn(std::string_view t, size_t pos) {
    if (!left_ok(t, pos)) return 0;
    const Groups g = parse_groups(t, pos, "");
    if (g.ng != 1 || g.len[0] != 9 || !right_ok(t, g.end[0])) return 0;
    if (!check::bsn(g.digit_view(1)) || !has_context(t, pos, {"bsn", "burgerservice", "sofinummer"})) return 0;
    return g.end[0];
}

size_t match_in_aadhaar(std::string_view t, size_t pos) {
    if (!left_ok(t, pos) || at(t, pos) < '2') return 0;
    const Groups g = parse_groups(t, pos, " -");
    size_t end = 0;
    if (g.ng == 3 && g.len[0] == 4 && g.len[1] == 4 && g.len[2] == 4 && g.same_sep(3)) {
        end = g.end[2];
    } else if (g.len[0] == 12 && has_context(t, pos, {"aadhaar", "aadhar", "uidai"})) {
        end = g.end[0];
    } else {
        return 0;
    }
    const std::string_view d = g.digit_view(g.len[0] == 12 ? 1 : 3);
    if (!right_ok(t, end) || all_same(d) || !check::verhoeff(d)) return 0;
    return end;
}

size_t match_es_dni(std::string_view t, size_t pos) {
    // DNI "12345678Z" (8 digits + letter); NIE "X1234567L" (X/Y/Z + 7 digits + letter); '-' or ' ' may
    // separate the letter.
    if (is_alnum(before(t, pos)) || before(t, pos) == '_') return 0;
    const char c0 = at(t, pos);
    uint32_t v = 0;
    size_t i = pos;
    if (c0 == 'X' || c0 == 'Y' || c0 == 'Z') {
        v = static_cast<uint32_t>(c0 - 'X');
        ++i;
    }
    const size_t want = c0 >= 'X' ? 7 : 8;
    const size_t d0 = i;
    while (i < t.size() && is_digit(t[i]) && i - d0 < want)
        v = v * 10 + static_cast<uint32_t>(t[i++] - '0');
    if (i - d0 != want) return 0;
    if (at(t, i) == '-' || at(t, i) == ' ') ++i;
    if (at(t, i) != check::dni_letter(v)) return 0;
    ++i;
    if (is_alnum(at(t, i)) || at(t, i) == '_') return 0;
    return i;
}

size_t match_fi_hetu(std::string_view t, size_t pos) {
    // DDMMYYCZZZQ: century sign (+ 1800s; - Y X W V U 1900s; A B C D E F 2000s), individual number
    // 002-899, control character of DDMMYYZZZ mod 31.
    if (!left_ok(t, pos) || t.size() - pos < 11) return 0;
    const std::string_view s = t.substr(pos, 11);
    for (size_t i : {0, 1, 2, 3, 4, 5, 7, 8, 9})
        if (!is_digit(s[i])) return 0;
    if (std::strchr("+-YXWVUABCDEF", s[6]) == nullptr || s[6] == '\0') return 0;
    const int day = num(s.substr(0, 2)), month = num(s.substr(2, 2)), ind = num(s.substr(7, 3));
    if (day < 1 || day > 31 || month < 1 || month > 12 || ind < 2 || ind > 899) return 0;
    const uint32_t v = static_cast<uint32_t>(num(s.substr(0, 6))) * 1000u + static_cast<uint32_t>(ind);
    if (s[10] != check::hetu_char(v)) return 0;
    const char c = at(t, pos + 11);
    if (is_alnum(c) || c == '_') return 0;
    return pos + 11;
}

size_t match_uk_nino(std::string_view t, size_t pos) {
    // HMRC rules: first letter not D F I Q U V, second not D F I O Q U V, prefixes BG GB KN NK NT TN ZZ
    // never issued; six digits (optionally spaced in pairs); suffix A-D.
    if (is_alnum(before(t, pos)) || before(t, pos) == '_' || t.size() - pos < 9) return 0;
    const char a = t[pos], b = t[pos + 1];
    if (!is_upper(a) || !is_upper(b) || std::strchr("DFIQUV", a) || std::strchr("DFIOQUV", b)) return 0;
    static constexpr const char* kBad[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
    for (const char* p : kBad)
        if (a == p[0] && b == p[1]) return 0;
    size_t i = pos + 2;
    const bool spaced = at(t, i) == ' ';
    for (int pair = 0; pair < 3; ++pair) {
        if (spaced) {
            if (at(t, i) != ' ') return 0;
            ++i;
        }
        if (!is_digit(at(t, i)) || !is_digit(at(t, i + 1))) return 0;
        i += 2;
    }
    if (spaced && at(t, i) == ' ') ++i;
    const char s = at(t, i);
    if (s < 'A' || s > 'D') return 0;
    ++i;
    if (is_alnum(at(t, i)) || at(t, i) == '_') return 0;
    return i;
}

namespace {

// IBAN lengths by country (SWIFT IBAN registry).
int iban_length(char a, char b) {
    static constexpr struct {
        char cc[3];
        int len;
    } kTable[] = {
        {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
        {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
        {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27},
        {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
        {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
        {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
        {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
        {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
        {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23},
        {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
    };
    for (const auto& e : kTable)
        if (e.cc[0] == a && e.cc[1] == b) return e.len;
    return 0;
}

} // namespace

size_t match_iban(std::string_view t, size_t pos) {
    // "GB82WEST12345698765432" or "GB82 WEST 1234 5698 7654 32" (groups of four).
    if (!is_digit(at(t, pos + 2)) || !is_digit(at(t, pos + 3)) || is_alnum(before(t, pos)) || before(t, pos) == '_')
        return 0;
    const int want = iban_length(at(t, pos), at(t, pos + 1));
    if (want == 0) return 0;
    char buf[40];
    int n = 0;
    size_t i = pos;
    const bool spaced = at(t, pos + 4) == ' ';
    while (n < want) {
        if (spaced && n > 0 && n % 4 == 0) {
            if (at(t, i) != ' ') return 0;
            ++i;
        }
        const char c = at(t, i);
        if (!is_digit(c) && !is_upper(c)) return 0;
        buf[n++] = c;
        ++i;
    }
    if (is_alnum(at(t, i)) || at(t, i) == '_') return 0;
    return check::iban(std::string_view(buf, static_cast<size_t>(n))) ? i : 0;
}

size_t ipv4_end(std::string_view t, size_t pos) {
    size_t i = pos;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (at(t, i) != '.') return 0;
            ++i;
        }
        const size_t s = i;
        int v = 0;
        while (is_digit(at(t, i)) && i - s < 3)
            v = v * 10 + (t[i++] - '0');
        if (i == s || v > 255 || (i - s > 1 && t[s] == '0')) return 0;
    }
    return i;
}

size_t match_ipv4(std::string_view t, size_t pos) {
    // Dotted quads that are versions: "version=6.6.0.0", "/opt/sdk/6.6.0.0" (a path segment, unlike the
    // host in "http://10.0.0.1"), "SDK\\6.6.0.0".
    const char p = before(t, pos);
    if (is_alnum(p) || p == '_' || p == '.' || p == '\\') return 0;
    if (p == '/' && before(t, pos - 1) != '/') return 0;
    const size_t i = ipv4_end(t, pos);
    if (i == 0) return 0;
    const char c = at(t, i);
    if (is_alnum(c) || c == '_' || (c == '.' && is_digit(at(t, i + 1)))) return 0;
    return has_context(t, pos, {"version"}, 12) ? 0 : i;
}

} // namespace hearth::privacy::detail
