// grammar/json_schema_regex.cpp: JSON Schema `pattern` (an ECMAScript regex subset) -> GBNF for the content
// of a JSON string (json_schema_detail.h).
//
// Recursive descent over  alternation := sequence ('|' sequence)* ;  sequence := (atom quantifier?)* ;
// atom := char | escape | '.' | class | group. Group nesting is capped (kMaxGroupDepth), so the recursion
// and the GBNF it produces stay shallow. Character sets become json_char() text: the JSON encoding of one
// decoded character. Where ECMAScript and Python's `re` (the tests' reference) read a construct differently,
// the translation keeps to what both accept (json_schema.h lists these).
#include "base/hex.h"
#include "grammar/json_schema_detail.h"
#include "grammar/utf8_decode.h"

#include <algorithm>

namespace hearth::grammar::schema {
namespace {

constexpr int kMaxGroupDepth = 10;

struct Piece {
    std::string text;
    bool nullable = false; // can match the empty string
};

CharClass make_class(std::initializer_list<CharRange> ranges) {
    CharClass c;
    for (CharRange r : ranges)
        c.add_range(r.lo, r.hi);
    c.normalize();
    return c;
}

// ASCII minus `c` (the negated shorthands, kept to ASCII: see the file comment).
CharClass ascii_complement(const CharClass& c) {
    CharClass out = c;
    out.add_range(0x80, kMaxCodePoint);
    out.normalize();
    out.negate();
    return out;
}

class RegexParser {
public:
    RegexParser(std::string_view p, uint32_t max_repeat, const std::string& field)
        : s_(p), max_repeat_(max_repeat), field_(field) {}

    Result<std::string> run() {
        std::vector<std::string> alts;
        do {
            if (!alts.empty()) pos_++; // '|'
            bool start = false, end = false;
            if (peek('^')) {
                start = true;
                pos_++;
            }
            Piece seq;
            HEARTH_TRY(sequence(0, seq));
            if (peek('$')) {
                end = true;
                pos_++;
            }
            if (pos_ < s_.size() && s_[pos_] != '|') return unexpected();
            std::string a = start ? "" : "char* ";
            a += seq.text.empty() ? "\"\"" : seq.text;
            if (!end) a += " char*";
            alts.push_back(a);
        } while (pos_ < s_.size());
        if (alts.size() == 1) return alts[0];
        std::string out = "(";
        for (size_t i = 0; i < alts.size(); i++)
            out += (i ? " | " : "") + alts[i];
        return out + ")";
    }

private:
    std::string_view s_;
    size_t pos_ = 0;
    uint32_t max_repeat_;
    const std::string& field_;
    bool saw_space_ = false; // single() read \s

    bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

    Status fail(const std::string& msg) const {
        return bad_field(field_, "pattern " + quoted() + ": " + msg + " (at offset " + std::to_string(pos_) + ")");
    }
    std::string quoted() const {
        size_t n = std::min<size_t>(s_.size(), 80);
        while (n < s_.size() && n > 0 && (uint8_t(s_[n]) & 0xC0) == 0x80) // cut at a character boundary
            n--;
        return "'" + std::string(s_.substr(0, n)) + (n < s_.size() ? "...'" : "'");
    }
    Status unexpected() const {
        if (s_[pos_] == '^' || s_[pos_] == '$') return fail("anchors are supported only at the start and end");
        return fail(std::string("unexpected '") + s_[pos_] + "'"); // ASCII: sequence() stops only at | ) $
    }

    Status alternation(int depth, Piece& out) {
        std::vector<Piece> alts(1);
        HEARTH_TRY(sequence(depth, alts.back()));
        while (peek('|')) {
            pos_++;
            alts.emplace_back();
            HEARTH_TRY(sequence(depth, alts.back()));
        }
        out = {"(", false};
        for (size_t i = 0; i < alts.size(); i++) {
            out.text += (i ? " | " : "") + alts[i].text;
            out.nullable = out.nullable || alts[i].nullable;
        }
        out.text += ")";
        return Status::ok();
    }

    Status sequence(int depth, Piece& out) {
        out = {"", true};
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (c == '|' || c == ')') break;
            if (c == '$' && depth == 0 && pos_ + 1 == s_.size()) break;
            if (c == '$' && depth == 0 && pos_ + 1 < s_.size() && s_[pos_ + 1] == '|') break;
            Piece atom;
            HEARTH_TRY(parse_atom(depth, atom));
            HEARTH_TRY(quantifier(atom));
            out.text += (out.text.empty() ? "" : " ") + atom.text;
            out.nullable = out.nullable && atom.nullable;
        }
        return Status::ok();
    }

    Status parse_atom(int depth, Piece& out) {
        char c = s_[pos_];
        if (c == '(') {
            if (depth >= kMaxGroupDepth) return fail("groups nested deeper than " + std::to_string(kMaxGroupDepth));
            pos_++;
            if (peek('?')) {
                if (s_.substr(pos_, 2) == "?:") {
                    pos_ += 2;
                } else if (s_.substr(pos_, 2) == "?<" && pos_ + 2 < s_.size() && s_[pos_ + 2] != '=' &&
                           s_[pos_ + 2] != '!') {
                    size_t close = s_.find('>', pos_);
                    if (close == std::string_view::npos) return fail("unterminated group name");
                    pos_ = close + 1;
                } else {
                    return fail("lookaround and inline flags ((?=, (?!, (?<=, (?<!, (?i)...) are not supported");
                }
            }
            HEARTH_TRY(alternation(depth + 1, out));
            if (!peek(')')) return fail("missing ')'");
            pos_++;
            return Status::ok();
        }
        if (c == '[') return char_class(out);
        if (c == '.') {
            pos_++;
            out = {json_char(make_class({{0, 9}, {11, 12}, {14, 0x2027}, {0x202A, kMaxCodePoint}})), false};
            return Status::ok();
        }
        if (c == '*' || c == '+' || c == '?') return fail(std::string("nothing to repeat before '") + c + "'");
        if (c == '{') return fail("'{' must start a quantifier {n}, {n,} or {n,m}");
        if (c == '^' || c == '$') return fail("anchors are supported only at the start and end");
        CharClass set;
        HEARTH_TRY(single(false, set));
        out = {json_char(set), false};
        return Status::ok();
    }

    // One character or escape (outside or inside a class) as a set.
    // One character or escape (outside or inside a class) as a set; is_char/cp_out: it is one character.
    Status single(bool in_class, CharClass& out, bool* is_char = nullptr, uint32_t* cp_out = nullptr) {
        uint32_t cp = 0;
        bool one = true;
        if (s_[pos_] != '\\') {
            HEARTH_TRY(utf8_char(cp));
        } else {
            pos_++;
            if (pos_ >= s_.size()) return fail("pattern ends with '\\'");
            HEARTH_TRY(escape(s_[pos_++], in_class, out, one, cp));
        }
        if (one) out = make_class({{cp, cp}});
        if (is_char) *is_char = one;
        if (cp_out) *cp_out = cp;
        return Status::ok();
    }

    // The escape \e: a shorthand class (one = false, in `out`) or one code point (`cp`).
    Status escape(char e, bool in_class, CharClass& out, bool& one, uint32_t& cp) {
        static const CharClass digit = make_class({{'0', '9'}});
        static const CharClass word = make_class({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}});
        static const CharClass space = make_class({{'\t', '\r'}, {' ', ' '}});
        // Python's \s also has U+001C..U+001F (ECMAScript's does not): negations leave them out too.
        static const CharClass any_space = make_class({{'\t', '\r'}, {0x1C, 0x1F}, {' ', ' '}});
        one = false;
        switch (e) {
        case 'd':
            out = digit;
            return Status::ok();
        case 'w':
            out = word;
            return Status::ok();
        case 's':
            out = space;
            saw_space_ = true;
            return Status::ok();
        case 'D':
            out = ascii_complement(digit);
            return Status::ok();
        case 'W':
            out = ascii_complement(word);
            return Status::ok();
        case 'S':
            out = ascii_complement(any_space);
            return Status::ok();
        case 'x':
        case 'u':
            one = true;
            return hex_escape(e, cp);
        case 'b':
            if (!in_class) return fail("word boundaries (\\b) are not supported");
            break;
        case 'B':
            return fail("word boundaries (\\B) are not supported");
        case '0':
            if (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') return fail("octal escapes are not supported");
            break;
        case 'p':
        case 'P':
            return fail("Unicode property escapes (\\p{...}) are not supported");
        case 'k':
            return fail("backreferences (\\k<name>) are not supported");
        case 'c':
            return fail("control escapes (\\cX) are not supported");
        default:
            if (e >= '1' && e <= '9') return fail("backreferences (\\1...) are not supported");
        }
        one = true;
        static constexpr std::pair<char, char> kControls[] = {{'t', '\t'}, {'n', '\n'}, {'r', '\r'}, {'f', '\f'},
                                                              {'v', '\v'}, {'b', '\b'}, {'0', '\0'}};
        for (auto [name, value] : kControls) {
            if (e == name) {
                cp = uint8_t(value);
                return Status::ok();
            }
        }
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || uint8_t(e) >= 0x80) {
            return fail(std::string("unknown escape '\\") + e + "'");
        }
        cp = uint8_t(e); // an escaped punctuation character stands for itself
        return Status::ok();
    }

    // \xHH or \uHHHH (no surrogates: a JSON string cannot hold one alone).
    Status hex_escape(char e, uint32_t& cp) {
        int n = e == 'x' ? 2 : 4;
        if (!read_hex(s_, pos_, n, cp))
            return fail(std::string("\\") + e + " needs " + std::to_string(n) + " hex digits");
        if (cp >= 0xD800 && cp <= 0xDFFF) return fail("surrogate code points are not supported");
        return Status::ok();
    }

    Status utf8_char(uint32_t& cp) {
        Utf8Decoder d;
        while (pos_ < s_.size()) {
            Utf8Step k = d.feed(uint8_t(s_[pos_]), cp);
            if (k == Utf8Step::Invalid) break;
            pos_++;
            if (k == Utf8Step::Done) return Status::ok();
        }
        return fail("invalid UTF-8");
    }

    Status char_class(Piece& out) {
        pos_++; // '['
        bool negated = peek('^');
        if (negated) pos_++;
        CharClass set;
        bool shorthand = false;
        saw_space_ = false;
        while (pos_ < s_.size() && s_[pos_] != ']') {
            CharClass item;
            bool is_char = false;
            uint32_t lo = 0;
            HEARTH_TRY(single(true, item, &is_char, &lo));
            if (!is_char) shorthand = true;
            if (is_char && pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
                pos_++;
                CharClass hi_item;
                bool hi_is_char = false;
                uint32_t hi = 0;
                HEARTH_TRY(single(true, hi_item, &hi_is_char, &hi));
                if (!hi_is_char) return fail("a class range cannot end with a shorthand like \\d");
                if (hi < lo) return fail("class range out of order");
                set.add_range(lo, hi);
                continue;
            }
            for (CharRange r : item.ranges)
                set.add_range(r.lo, r.hi);
        }
        if (!peek(']')) return fail("missing ']'");
        pos_++;
        if (negated && saw_space_) set.add_range(0x1C, 0x1F); // see any_space
        set.normalize();
        if (negated && shorthand) {
            set = ascii_complement(set);
        } else if (negated) {
            set.negate();
        }
        out = {json_char(set), false};
        return Status::ok();
    }

    Status number(uint32_t& v) {
        if (!(peek('0') || (pos_ < s_.size() && s_[pos_] >= '1' && s_[pos_] <= '9'))) {
            return fail("'{' must start a quantifier {n}, {n,} or {n,m}");
        }
        uint64_t x = 0;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
            x = x * 10 + uint64_t(s_[pos_++] - '0');
            if (x > max_repeat_) return fail("repetition count above " + std::to_string(max_repeat_));
        }
        v = uint32_t(x);
        return Status::ok();
    }

    Status quantifier(Piece& atom) {
        if (pos_ >= s_.size()) return Status::ok();
        char c = s_[pos_];
        std::string q;
        bool unbounded = false;
        uint32_t lo = 0;
        if (c == '*' || c == '+' || c == '?') {
            pos_++;
            q = std::string(1, c);
            unbounded = c != '?';
            lo = c == '+' ? 1 : 0;
        } else if (c == '{') {
            pos_++;
            uint32_t hi = 0;
            HEARTH_TRY(number(lo));
            q = "{" + std::to_string(lo);
            if (peek(',')) {
                pos_++;
                q += ",";
                if (peek('}')) {
                    unbounded = true;
                } else {
                    HEARTH_TRY(number(hi));
                    if (hi < lo) return fail("quantifier {n,m} with m < n");
                    q += std::to_string(hi);
                }
            }
            if (!peek('}')) return fail("'{' must start a quantifier {n}, {n,} or {n,m}");
            pos_++;
            q += "}";
        } else {
            return Status::ok();
        }
        if (peek('?')) pos_++; // lazy: the same strings
        if (peek('*') || peek('+') || peek('?') || peek('{'))
            return fail("nothing to repeat (a quantifier after a quantifier)");
        if (unbounded && atom.nullable)
            return fail("an unbounded repetition of something that can match the empty string");
        atom.text =
            (atom.text.front() == '(' || atom.text.front() == '[' || atom.text.front() == '"' ? atom.text
                                                                                              : "(" + atom.text + ")") +
            q;
        if (lo == 0) atom.nullable = true;
        return Status::ok();
    }
};

} // namespace

Result<std::string> pattern_to_gbnf(std::string_view pattern, size_t max_bytes, uint32_t max_repeat,
                                    const std::string& field) {
    if (pattern.size() > max_bytes) {
        return bad_field(field, "pattern is " + std::to_string(pattern.size()) + " bytes; the limit is " +
                                    std::to_string(max_bytes));
    }
    return RegexParser(pattern, max_repeat, field).run();
}

} // namespace hearth::grammar::schema
