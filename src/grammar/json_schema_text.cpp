// grammar/json_schema_text.cpp: GBNF text helpers, the fixed rules and numeric ranges for the JSON Schema
// converter (json_schema_detail.h).
#include "base/utf8.h"
#include "grammar/json_schema_detail.h"

#include <algorithm>

namespace hearth::grammar::schema {

namespace {

constexpr const char* kHex = "0123456789ABCDEF";

void append_hex(std::string& out, uint32_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--)
        out += kHex[(v >> (4 * i)) & 15];
}

// A code point inside a GBNF class: letters and digits as they are, everything else escaped.
void append_class_char(std::string& out, uint32_t cp) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')) {
        out += char(cp);
    } else if (cp < 0x100) {
        out += "\\x";
        append_hex(out, cp, 2);
    } else if (cp < 0x10000) {
        out += "\\u";
        append_hex(out, cp, 4);
    } else {
        out += "\\U";
        append_hex(out, cp, 8);
    }
}

} // namespace

std::string gbnf_literal(std::string_view utf8) {
    std::string out = "\"";
    for (char c : utf8) {
        uint8_t u = uint8_t(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7F) {
            out += "\\x";
            append_hex(out, u, 2);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string gbnf_class(const CharClass& c) {
    std::string out = "[";
    for (CharRange r : c.ranges) {
        append_class_char(out, r.lo);
        if (r.hi > r.lo) {
            if (r.hi > r.lo + 1) out += '-';
            append_class_char(out, r.hi);
        }
    }
    return out + "]";
}

std::string json_char(const CharClass& decoded) {
    std::vector<std::string> alts;
    CharClass plain = decoded;
    CharClass special;
    special.add_range(0, 0x1F);
    special.add_range('"', '"');
    special.add_range('\\', '\\');
    special.normalize();
    special.negate();
    // plain = decoded minus specials: intersect with the complement of the specials.
    {
        CharClass out;
        for (CharRange a : plain.ranges)
            for (CharRange b : special.ranges)
                if (a.lo <= b.hi && b.lo <= a.hi) out.add_range(std::max(a.lo, b.lo), std::min(a.hi, b.hi));
        out.normalize();
        plain = std::move(out);
    }
    if (!plain.empty()) alts.push_back(gbnf_class(plain));
    if (decoded.contains('"')) alts.push_back("\"\\\\\\\"\"");  // \"
    if (decoded.contains('\\')) alts.push_back("\"\\\\\\\\\""); // \\ (two backslashes)
    bool all_controls = true;
    for (uint32_t c = 0; c < 0x20; c++)
        all_controls = all_controls && decoded.contains(c);
    if (all_controls) {
        alts.push_back("\"\\\\\" ([bfnrt] | \"u00\" [01] [0-9a-fA-F])");
    } else {
        for (uint32_t c = 0; c < 0x20; c++) {
            if (!decoded.contains(c)) continue;
            const char* short_esc = c == 8    ? "b"
                                    : c == 9  ? "t"
                                    : c == 10 ? "n"
                                    : c == 12 ? "f"
                                    : c == 13 ? "r"
                                              : nullptr;
            std::string esc = "\"\\\\";
            if (short_esc) {
                esc += short_esc;
            } else {
                esc += "u00";
                append_hex(esc, c, 2);
            }
            alts.push_back(esc + "\"");
        }
    }
    if (alts.empty()) return "[]";
    if (alts.size() == 1) return alts[0];
    std::string out = "(";
    for (size_t i = 0; i < alts.size(); i++)
        out += (i ? " | " : "") + alts[i];
    return out + ")";
}

const std::vector<FixedRule>& fixed_rules() {
    static const std::vector<FixedRule> rules = {
        // At most one space, or a newline and some indentation: room for pretty-printing, not for padding.
        {"ws", R"(| " " | "\n" [ \t]{0,40})", {}},
        // One JSON string character; \u escapes of surrogates are left out so lengths match code points.
        {"char",
         R"([^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2})))",
         {}},
        {"string", R"("\"" char* "\"")", {"char"}},
        {"key-char", R"([^"\\\x00-\x1F])", {}}, // extra object keys: no escapes
        {"integer", R"("-"? ("0" | [1-9] [0-9]{0,15}))", {}},
        {"number", R"(integer ("." [0-9]{1,6})? ([eE] [-+]? [0-9]{1,2})?)", {"integer"}}, // finite doubles
        {"boolean", R"("true" | "false")", {}},
        {"null", R"("null")", {}},
        {"value",
         "object | array | string | number | boolean | null",
         {"object", "array", "string", "number", "boolean", "null"}},
        {"object",
         R"("{" ws (string ws ":" ws value ws ("," ws string ws ":" ws value ws)*)? "}")",
         {"ws", "string", "value"}},
        {"array", R"("[" ws (value ws ("," ws value ws)*)? "]")", {"ws", "value"}},
        // RFC 3339 full-date with real month lengths and leap years (year 0000 excluded, as Python does).
        {"date", R"(year "-" month-day | leap-year "-02-29")", {"year", "month-day", "leap-year"}},
        {"year", R"([1-9] [0-9]{3} | "0" ([1-9] [0-9]{2} | "0" ([1-9] [0-9] | "0" [1-9])))", {}},
        {"leap-year",
         R"([0-9] [0-9] ("0" [48] | [2468] [048] | [13579] [26]) | ("0" [48] | [2468] [048] | [13579] [26]) "00")",
         {}},
        {"month-day",
         R"(("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8]))",
         {}},
        // RFC 3339 full-time: the offset is required; seconds up to 59.
        {"time",
         R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))",
         {}},
        {"date-time", R"(date "T" time)", {"date", "time"}},
        {"uuid", R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})", {}},
        {"email", R"([a-zA-Z0-9_%+-] [a-zA-Z0-9._%+-]{0,30} "@" email-label ("." email-label){1,3})", {"email-label"}},
        {"email-label", R"([a-zA-Z0-9] [a-zA-Z0-9-]{0,30})", {}},
    };
    return rules;
}

const FixedRule* find_fixed_rule(std::string_view name) {
    for (const FixedRule& r : fixed_rules())
        if (name == r.name) return &r;
    return nullptr;
}

const char* format_rule(std::string_view format) {
    for (const char* f : {"date", "time", "date-time", "uuid", "email"})
        if (format == f) return f;
    return nullptr;
}

// ---- numeric ranges ----

namespace {

std::string paren(const std::vector<std::string>& alts) {
    if (alts.size() == 1) return alts[0];
    std::string out = "(";
    for (size_t i = 0; i < alts.size(); i++)
        out += (i ? " | " : "") + alts[i];
    return out + ")";
}

bool all_of_digit(std::string_view s, char d) {
    return std::all_of(s.begin(), s.end(), [d](char c) { return c == d; });
}

std::string digit_class(char lo, char hi) {
    if (lo == hi) return std::string("\"") + lo + "\"";
    return std::string("[") + lo + "-" + hi + "]";
}

std::string any_digits(size_t n) {
    if (n == 0) return "";
    return n == 1 ? " [0-9]" : " [0-9]{" + std::to_string(n) + "}";
}

// Digit strings of equal length n from x to y (x <= y), e.g. "120".."345".
std::string same_length(std::string_view x, std::string_view y) {
    size_t n = x.size();
    if (x == y) return "\"" + std::string(x) + "\"";
    if (x[0] == y[0]) return "\"" + std::string(1, x[0]) + "\" " + same_length(x.substr(1), y.substr(1));
    std::string_view xr = x.substr(1), yr = y.substr(1);
    std::vector<std::string> alts;
    char mid_lo = all_of_digit(xr, '0') ? x[0] : char(x[0] + 1);
    char mid_hi = all_of_digit(yr, '9') ? y[0] : char(y[0] - 1);
    if (mid_lo != x[0]) alts.push_back("\"" + std::string(1, x[0]) + "\" " + same_length(xr, std::string(n - 1, '9')));
    if (mid_lo <= mid_hi) alts.push_back(digit_class(mid_lo, mid_hi) + any_digits(n - 1));
    if (mid_hi != y[0]) alts.push_back("\"" + std::string(1, y[0]) + "\" " + same_length(std::string(n - 1, '0'), yr));
    return paren(alts);
}

constexpr size_t kMaxDigits = 19; // unbounded ranges stop at 19 digits

uint64_t pow10(size_t n) {
    uint64_t v = 1;
    while (n--)
        v *= 10;
    return v;
}

// Non-negative integers in [a, b] (b nullopt: unbounded), as alternatives.
void natural_range(uint64_t a, std::optional<uint64_t> b, std::vector<std::string>& alts) {
    size_t da = std::to_string(a).size();
    size_t db = b ? std::to_string(*b).size() : da;
    for (size_t len = da; len <= db; len++) {
        uint64_t lo = len == da ? a : pow10(len - 1);
        uint64_t hi = (b && len == db) ? *b : pow10(len) - 1;
        alts.push_back(same_length(std::to_string(lo), std::to_string(hi)));
    }
    if (!b && da < kMaxDigits)
        alts.push_back("[1-9] [0-9]{" + std::to_string(da) + "," + std::to_string(kMaxDigits - 1) + "}");
}

std::string natural_range_text(uint64_t a, std::optional<uint64_t> b) {
    std::vector<std::string> alts;
    natural_range(a, b, alts);
    return paren(alts);
}

} // namespace

std::string integer_range(std::optional<int64_t> lo, std::optional<int64_t> hi) {
    std::vector<std::string> alts;
    if (!lo || *lo < 0) { // negatives: "-" then |x| in [max(1, -hi), -lo]
        uint64_t abs_lo = (hi && *hi < 0) ? uint64_t(-*hi) : 1;
        std::optional<uint64_t> abs_hi;
        if (lo) abs_hi = uint64_t(-*lo);
        alts.push_back("\"-\" " + natural_range_text(abs_lo, abs_hi));
    }
    if (!hi || *hi >= 0) {
        std::optional<uint64_t> b;
        if (hi) b = uint64_t(*hi);
        natural_range(lo && *lo > 0 ? uint64_t(*lo) : 0, b, alts);
    }
    return paren(alts);
}

std::string number_range(std::optional<int64_t> lo, bool lo_exclusive, std::optional<int64_t> hi, bool hi_exclusive) {
    std::vector<std::string> alts;
    std::optional<int64_t> ilo = lo, ihi = hi;
    if (ilo && lo_exclusive) *ilo += 1;
    if (ihi && hi_exclusive) *ihi -= 1;
    if (!ilo || !ihi || *ilo <= *ihi) alts.push_back(integer_range(ilo, ihi));
    // Non-integers: integer part I and a fraction in (0, 1) (digits ending in a nonzero one).
    constexpr int64_t kExactLimit = 1'000'000'000;
    bool fractions = !(lo && lo_exclusive && (*lo >= kExactLimit || *lo <= -kExactLimit)) &&
                     !(hi && hi_exclusive && (*hi >= kExactLimit || *hi <= -kExactLimit));
    if (fractions) {
        const std::string frac = " \".\" [0-9]{0,5} [1-9]";
        // Positive: I in [max(lo, 0), hi - 1] gives values in (I, I + 1) inside [lo, hi].
        if (!hi || *hi >= 1) {
            uint64_t a = lo && *lo > 0 ? uint64_t(*lo) : 0;
            std::optional<uint64_t> b;
            if (hi) b = uint64_t(*hi - 1);
            if (!b || a <= *b) alts.push_back(natural_range_text(a, b) + frac);
        }
        // Negative: "-" I "." f is in (-(I + 1), -I): needs I >= -hi and I <= -lo - 1.
        if (!lo || *lo <= -1) {
            uint64_t a = hi && *hi < 0 ? uint64_t(-*hi) : 0;
            std::optional<uint64_t> b;
            if (lo) b = uint64_t(-*lo - 1);
            if (!b || a <= *b) alts.push_back("\"-\" " + natural_range_text(a, b) + frac);
        }
    }
    if (alts.empty()) return "";
    return paren(alts);
}

} // namespace hearth::grammar::schema
