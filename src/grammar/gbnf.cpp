// grammar/gbnf.cpp: the GBNF parser (gbnf.h). A recursive-descent reader whose only recursion is into
// parenthesized groups (bounded by GbnfLimits::max_nesting); groups and repetitions become generated rules.
#include "grammar/gbnf.h"

#include "base/hex.h"
#include "grammar/utf8_decode.h"

#include <limits>
#include <map>
#include <unordered_map>

namespace hearth::grammar {
namespace {

constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();
constexpr size_t kNoOffset = std::numeric_limits<size_t>::max();

bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

using Seq = std::vector<Elem>;

struct RuleDraft {
    std::string name;
    std::vector<Seq> alts;
    bool defined = false;
    size_t first_use = kNoOffset; // offset of the first reference (for "undefined rule")
    size_t defined_at = kNoOffset;
};

class Parser {
public:
    Parser(std::string_view text, const GbnfLimits& limits) : s_(text), lim_(limits) {}

    Result<Grammar> run() {
        if (s_.size() > lim_.max_input_bytes) {
            return bad_field("grammar", "grammar is " + std::to_string(s_.size()) + " bytes; the limit is " +
                                            std::to_string(lim_.max_input_bytes));
        }
        HEARTH_TRY(check_utf8());
        skip_space(true);
        while (p_ < s_.size()) {
            HEARTH_TRY(parse_rule());
            skip_space(true);
        }
        for (const RuleDraft& r : rules_) {
            if (!r.defined) return fail(r.first_use, "undefined rule '" + r.name + "'");
        }
        auto root = ids_.find("root");
        if (root == ids_.end()) return fail(s_.size(), "missing rule 'root' (the start symbol)");
        Grammar g;
        g.root = root->second;
        for (RuleDraft& r : rules_) {
            Rule out{std::move(r.name), {}};
            for (Seq& alt : r.alts) {
                out.alts.push_back(uint32_t(g.elems.size()));
                g.elems.insert(g.elems.end(), alt.begin(), alt.end());
                g.elems.push_back({ElemKind::End, 0});
            }
            g.rules.push_back(std::move(out));
        }
        g.classes = std::move(classes_);
        HEARTH_TRY(check_grammar(g));
        return g;
    }

private:
    std::string_view s_;
    const GbnfLimits& lim_;
    size_t p_ = 0;
    bool newline_seen_ = false; // the last skip_space crossed a newline
    uint32_t depth_ = 0;
    size_t n_elems_ = 0;
    std::vector<RuleDraft> rules_;
    std::unordered_map<std::string, uint32_t> ids_; // user-visible rule names (not generated ones)
    std::vector<CharClass> classes_;
    std::map<std::vector<uint64_t>, uint32_t> class_ids_;

    Status fail(size_t at, const std::string& msg) const {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < at && i < s_.size(); i++) {
            if (s_[i] == '\n') {
                line++;
                col = 1;
            } else if ((uint8_t(s_[i]) & 0xC0) != 0x80) {
                col++;
            }
        }
        return bad_field("grammar", "line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + msg);
    }

    std::string describe_here() const {
        if (p_ >= s_.size()) return "the end of the grammar";
        char c = s_[p_];
        if (c == '\n' || c == '\r') return "the end of the line";
        if (uint8_t(c) < 0x20) return "a control character";
        if (uint8_t(c) >= 0x80) return "a non-ASCII character";
        return "'" + std::string(1, c) + "'";
    }

    Status check_utf8() const {
        Utf8Decoder d;
        uint32_t cp = 0;
        for (size_t i = 0; i < s_.size(); i++) {
            if (d.feed(uint8_t(s_[i]), cp) == Utf8Step::Invalid) return fail(i, "invalid UTF-8");
        }
        if (!d.idle()) return fail(s_.size(), "invalid UTF-8 (truncated character)");
        return Status::ok();
    }

    void skip_space(bool newline_ok) {
        newline_seen_ = false;
        while (p_ < s_.size()) {
            char c = s_[p_];
            if (c == '#') {
                while (p_ < s_.size() && s_[p_] != '\n' && s_[p_] != '\r')
                    p_++;
            } else if (c == ' ' || c == '\t') {
                p_++;
            } else if (newline_ok && (c == '\n' || c == '\r')) {
                newline_seen_ = true;
                p_++;
            } else {
                break;
            }
        }
    }

    // At `name ::=`? (Used to let a rule start on the line after a trailing '|'.)
    bool at_rule_start() const {
        size_t q = p_;
        while (q < s_.size() && is_word_char(s_[q]))
            q++;
        while (q < s_.size() && (s_[q] == ' ' || s_[q] == '\t'))
            q++;
        return s_.substr(q, 3) == "::=";
    }

    Status charge(size_t n) {
        n_elems_ += n;
        if (n_elems_ > lim_.max_elems) {
            return fail(p_, "grammar too large: more than " + std::to_string(lim_.max_elems) +
                                " elements after expanding repetitions");
        }
        return Status::ok();
    }

    Result<uint32_t> symbol(std::string_view name, size_t at) {
        auto it = ids_.find(std::string(name));
        if (it != ids_.end()) return it->second;
        if (rules_.size() >= lim_.max_rules)
            return fail(at, "too many rules (limit " + std::to_string(lim_.max_rules) + ")");
        uint32_t id = uint32_t(rules_.size());
        rules_.push_back({std::string(name), {}, false, at, kNoOffset});
        ids_.emplace(std::string(name), id);
        return id;
    }

    // A rule for a group or a repetition, named after the rule it appears in.
    Result<uint32_t> new_rule(uint32_t origin, std::vector<Seq> alts) {
        if (rules_.size() >= lim_.max_rules)
            return fail(p_, "too many rules (limit " + std::to_string(lim_.max_rules) + ")");
        uint32_t id = uint32_t(rules_.size());
        rules_.push_back({rules_[origin].name + "-" + std::to_string(id), std::move(alts), true, kNoOffset, p_});
        return id;
    }

    uint32_t intern_class(CharClass cls) {
        std::vector<uint64_t> key;
        for (CharRange r : cls.ranges)
            key.push_back(uint64_t(r.lo) << 32 | r.hi);
        auto [it, inserted] = class_ids_.emplace(std::move(key), uint32_t(classes_.size()));
        if (inserted) classes_.push_back(std::move(cls));
        return it->second;
    }

    Status parse_rule() {
        size_t start = p_;
        size_t n = 0;
        while (p_ + n < s_.size() && is_word_char(s_[p_ + n]))
            n++;
        if (n == 0) return fail(p_, "expected a rule name, found " + describe_here());
        std::string_view name = s_.substr(p_, n);
        p_ += n;
        skip_space(false);
        if (s_.substr(p_, 3) != "::=") {
            return fail(p_, "expected '::=' after rule name '" + std::string(name) + "', found " + describe_here());
        }
        p_ += 3;
        skip_space(true);
        auto id = symbol(name, start);
        if (!id) return id.status();
        if (rules_[*id].defined) {
            return fail(start, "rule '" + std::string(name) + "' is defined twice (first at " +
                                   position(rules_[*id].defined_at) + ")");
        }
        rules_[*id].defined = true;
        rules_[*id].defined_at = start;
        std::vector<Seq> alts;
        HEARTH_TRY(parse_alternates(*id, false, alts));
        rules_[*id].alts = std::move(alts);
        if (p_ >= s_.size()) return Status::ok();
        if (s_[p_] == '\r') {
            p_ += (p_ + 1 < s_.size() && s_[p_ + 1] == '\n') ? 2 : 1;
        } else if (s_[p_] == '\n') {
            p_++;
        } else if (!(newline_seen_ && at_rule_start())) {
            return fail(p_, "unexpected " + describe_here() + " in rule '" + std::string(name) +
                                "' (expected an element, '|' or the end of the line)");
        }
        return Status::ok();
    }

    Status parse_alternates(uint32_t origin, bool nested, std::vector<Seq>& alts) {
        alts.emplace_back();
        HEARTH_TRY(parse_sequence(origin, nested, alts.back()));
        while (p_ < s_.size() && s_[p_] == '|') {
            p_++;
            skip_space(true);
            alts.emplace_back();
            HEARTH_TRY(parse_sequence(origin, nested, alts.back()));
        }
        return Status::ok();
    }

    Status parse_sequence(uint32_t origin, bool nested, Seq& seq) {
        size_t last_start = kNoOffset; // where the last element (what a quantifier repeats) begins in seq
        while (p_ < s_.size()) {
            char c = s_[p_];
            size_t here = p_;
            if (c == '"') {
                last_start = seq.size();
                HEARTH_TRY(parse_literal(seq));
            } else if (c == '[') {
                last_start = seq.size();
                HEARTH_TRY(parse_class(seq));
            } else if (c == '.') {
                last_start = seq.size();
                CharClass any;
                any.add_range(0, kMaxCodePoint);
                any.normalize();
                seq.push_back({ElemKind::Chars, intern_class(std::move(any))});
                HEARTH_TRY(charge(1));
                p_++;
            } else if (is_word_char(c)) {
                if (newline_seen_ && at_rule_start()) break; // the next rule begins
                size_t n = 0;
                while (p_ + n < s_.size() && is_word_char(s_[p_ + n]))
                    n++;
                auto id = symbol(s_.substr(p_, n), p_);
                if (!id) return id.status();
                p_ += n;
                last_start = seq.size();
                seq.push_back({ElemKind::Ref, *id});
                HEARTH_TRY(charge(1));
            } else if (c == '(') {
                if (depth_ >= lim_.max_nesting) {
                    return fail(p_, "groups nested too deeply (limit " + std::to_string(lim_.max_nesting) + ")");
                }
                depth_++;
                p_++;
                skip_space(true);
                std::vector<Seq> alts;
                HEARTH_TRY(parse_alternates(origin, true, alts));
                depth_--;
                if (p_ >= s_.size() || s_[p_] != ')') {
                    return fail(p_, "expected ')' to close the group opened at " + position(here) + ", found " +
                                        describe_here());
                }
                p_++;
                auto id = new_rule(origin, std::move(alts));
                if (!id) return id.status();
                last_start = seq.size();
                seq.push_back({ElemKind::Ref, *id});
                HEARTH_TRY(charge(1));
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (last_start == kNoOffset) {
                    return fail(p_, std::string("quantifier '") + c + "' has nothing before it to repeat");
                }
                uint32_t lo = 0, hi = kUnbounded;
                HEARTH_TRY(parse_quantifier(nested, lo, hi));
                HEARTH_TRY(apply_repeat(origin, seq, last_start, lo, hi));
            } else if (c == '<') {
                return fail(p_, "token references (<...>) are not supported");
            } else {
                break;
            }
            skip_space(nested);
        }
        return Status::ok();
    }

    std::string position(size_t at) const {
        std::string m = fail(at, "").message(); // "line L, column C: "
        return m.substr(0, m.size() - 2);
    }

    Result<uint32_t> parse_char() {
        size_t at = p_;
        if (s_[p_] != '\\') {
            Utf8Decoder d;
            uint32_t cp = 0;
            while (p_ < s_.size() && d.feed(uint8_t(s_[p_++]), cp) == Utf8Step::More) {
            }
            return cp; // the text was checked to be valid UTF-8
        }
        if (p_ + 1 >= s_.size()) return fail(at, "unfinished escape sequence");
        char e = s_[p_ + 1];
        p_ += 2;
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (digits > 0) {
            uint32_t v = 0;
            if (!read_hex(s_, p_, digits, v)) {
                return fail(at, "expected " + std::to_string(digits) + " hex digits after '\\" + e + "'");
            }
            if (v > kMaxCodePoint) return fail(at, "code point above U+10FFFF");
            return v;
        }
        switch (e) {
        case 'n':
            return uint32_t('\n');
        case 'r':
            return uint32_t('\r');
        case 't':
            return uint32_t('\t');
        case '\\':
        case '"':
        case '[':
        case ']':
            return uint32_t(uint8_t(e));
        default:
            return fail(at, "unknown escape '\\" + std::string(1, e) +
                                "' (known: \\n \\r \\t \\\\ \\\" \\[ \\] \\xHH \\uHHHH \\UHHHHHHHH)");
        }
    }

    Status parse_literal(Seq& seq) {
        size_t open = p_++;
        while (p_ < s_.size() && s_[p_] != '"') {
            auto cp = parse_char();
            if (!cp) return cp.status();
            CharClass one;
            one.add_range(*cp, *cp);
            one.normalize();
            seq.push_back({ElemKind::Chars, intern_class(std::move(one))});
            HEARTH_TRY(charge(1));
        }
        if (p_ >= s_.size()) return fail(open, "unterminated string literal");
        p_++;
        return Status::ok();
    }

    Status parse_class(Seq& seq) {
        size_t open = p_++;
        bool negated = p_ < s_.size() && s_[p_] == '^';
        if (negated) p_++;
        CharClass cls;
        while (p_ < s_.size() && s_[p_] != ']') {
            auto lo = parse_char();
            if (!lo) return lo.status();
            uint32_t hi = *lo;
            if (p_ + 1 < s_.size() && s_[p_] == '-' && s_[p_ + 1] != ']') {
                p_++;
                auto h = parse_char();
                if (!h) return h.status();
                if (*h < *lo) return fail(p_, "character range ends before it starts");
                hi = *h;
            }
            cls.add_range(*lo, hi);
        }
        if (p_ >= s_.size()) return fail(open, "unterminated character class");
        p_++;
        cls.normalize();
        if (negated) cls.negate();
        seq.push_back({ElemKind::Chars, intern_class(std::move(cls))});
        return charge(1);
    }

    Status parse_number(uint32_t& out) {
        if (p_ >= s_.size() || !is_digit(s_[p_])) return fail(p_, "expected a number, found " + describe_here());
        uint64_t v = 0;
        size_t at = p_;
        while (p_ < s_.size() && is_digit(s_[p_])) {
            v = v * 10 + uint64_t(s_[p_++] - '0');
            if (v > lim_.max_repeat) {
                return fail(at, "repetition count above the limit of " + std::to_string(lim_.max_repeat));
            }
        }
        out = uint32_t(v);
        return Status::ok();
    }

    Status parse_quantifier(bool nested, uint32_t& lo, uint32_t& hi) {
        char c = s_[p_++];
        if (c == '*') {
            lo = 0, hi = kUnbounded;
        } else if (c == '+') {
            lo = 1, hi = kUnbounded;
        } else if (c == '?') {
            lo = 0, hi = 1;
        } else {
            size_t open = p_ - 1;
            skip_space(nested);
            HEARTH_TRY(parse_number(lo));
            skip_space(nested);
            hi = lo;
            if (p_ < s_.size() && s_[p_] == ',') {
                p_++;
                skip_space(nested);
                hi = kUnbounded;
                if (p_ < s_.size() && is_digit(s_[p_])) {
                    HEARTH_TRY(parse_number(hi));
                    skip_space(nested);
                }
            }
            if (p_ >= s_.size() || s_[p_] != '}') return fail(p_, "expected '}' to close '{' at " + position(open));
            p_++;
            if (hi < lo) return fail(open, "repetition {m,n} with n < m");
        }
        return Status::ok();
    }

    // Replaces seq[start..] (one element as written: a literal, class, name or group) by lo..hi copies.
    Status apply_repeat(uint32_t origin, Seq& seq, size_t start, uint32_t lo, uint32_t hi) {
        Seq item(seq.begin() + long(start), seq.end());
        seq.resize(start);
        if (item.empty()) return Status::ok(); // "" repeated is still ""
        Elem x = item[0];
        if (item.size() > 1) {
            auto id = new_rule(origin, {std::move(item)});
            if (!id) return id.status();
            x = {ElemKind::Ref, *id};
        }
        HEARTH_TRY(charge(lo));
        seq.insert(seq.end(), lo, x);
        if (hi == kUnbounded) {
            // star ::= x star | (empty)
            auto star = new_rule(origin, {});
            if (!star) return star.status();
            rules_[*star].alts = {Seq{x, Elem{ElemKind::Ref, *star}}, Seq{}};
            seq.push_back({ElemKind::Ref, *star});
            return charge(3);
        }
        // opt_1 ::= x | (empty);  opt_k ::= x opt_(k-1) | (empty)
        uint32_t prev = kUnbounded;
        for (uint32_t k = lo; k < hi; k++) {
            Seq body{x};
            if (prev != kUnbounded) body.push_back({ElemKind::Ref, prev});
            std::vector<Seq> alts;
            alts.push_back(std::move(body));
            alts.emplace_back();
            auto opt = new_rule(origin, std::move(alts));
            if (!opt) return opt.status();
            prev = *opt;
            HEARTH_TRY(charge(3));
        }
        if (prev != kUnbounded) seq.push_back({ElemKind::Ref, prev});
        return Status::ok();
    }
};

} // namespace

Result<Grammar> parse_gbnf(std::string_view text, const GbnfLimits& limits) {
    return Parser(text, limits).run();
}

} // namespace hearth::grammar
