// template/gotmpl_parse.cpp: lexer and parser for Go text/template, following text/template/parse.
//
// The lexer turns the source into tokens (text, delimiters, and the words of each action, spaces
// included, since spaces separate operands); trim markers and comments are resolved here. The parser
// builds the tree of gotmpl_ast.h and checks what Go checks at parse time: undefined variables and
// functions, break/continue outside range, misplaced else/end, empty pipelines.
#include "base/utf8.h"
#include "template/gotmpl_ast.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace hearth::gotmpl {

std::string format_error(Pos pos, std::string_view msg) {
    return "template: " + std::to_string(pos.line) + ":" + std::to_string(pos.col) + ": " + std::string(msg);
}

namespace {

enum class Tok {
    Error,
    Eof,
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Field,
    Variable,
    Identifier,
    Dot,
    Bool,
    Nil,
    Number,
    CharConst,
    String,
    RawString,
    Assign,
    Declare,
    PipeBar,
    LeftParen,
    RightParen,
    Char,
    // keywords
    If,
    Else,
    End,
    Range,
    With,
    Break,
    Continue,
    Define,
    Template,
    Block
};

struct Token {
    Tok type = Tok::Eof;
    std::string val;
    size_t off = 0;
};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_alnum(char c) {
    auto u = static_cast<unsigned char>(c);
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || u >= 0x80;
}
bool is_keyword(Tok t) {
    return t >= Tok::If;
}

struct ParseError {
    size_t off;
    std::string msg;
};

class Lexer {
public:
    explicit Lexer(std::string_view in) : in_(in) {}

    // Lexes everything; a lexing error becomes a final Error token.
    std::vector<Token> run() {
        while (lex_text_and_action()) {
        }
        return std::move(toks_);
    }

private:
    bool starts(size_t p, std::string_view s) const { return p <= in_.size() && in_.substr(p).starts_with(s); }
    bool left_trim_at(size_t p) const { return p + 1 < in_.size() && in_[p] == '-' && is_space(in_[p + 1]); }
    bool right_trim_at(size_t p) const { return p + 1 < in_.size() && is_space(in_[p]) && in_[p + 1] == '-'; }
    // {delim, trim}: a right delimiter "}}" or " -}}" starts at p.
    std::pair<bool, bool> at_right_delim(size_t p) const {
        if (right_trim_at(p) && starts(p + 2, "}}")) return {true, true};
        if (starts(p, "}}")) return {true, false};
        return {false, false};
    }
    bool at_terminator(size_t p) const {
        if (p >= in_.size()) return true;
        char c = in_[p];
        if (is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(') return true;
        return starts(p, "}}");
    }
    void emit(Tok t, size_t start, size_t end) {
        toks_.push_back({t, std::string(in_.substr(start, end - start)), start});
    }
    bool fail(size_t off, std::string msg) {
        toks_.push_back({Tok::Error, std::move(msg), off});
        return false;
    }
    size_t skip_space(size_t p) const {
        while (p < in_.size() && is_space(in_[p]))
            ++p;
        return p;
    }

    bool lex_text_and_action() {
        size_t x = in_.find("{{", pos_);
        if (x == std::string_view::npos) {
            if (pos_ < in_.size()) emit(Tok::Text, pos_, in_.size());
            toks_.push_back({Tok::Eof, "", in_.size()});
            return false;
        }
        size_t text_end = x;
        bool ltrim = left_trim_at(x + 2);
        if (ltrim)
            while (text_end > pos_ && is_space(in_[text_end - 1]))
                --text_end;
        if (text_end > pos_) emit(Tok::Text, pos_, text_end);
        size_t after = x + 2 + (ltrim ? 2 : 0);
        if (starts(after, "/*")) {
            size_t c = in_.find("*/", after + 2);
            if (c == std::string_view::npos) return fail(x, "unclosed comment");
            pos_ = c + 2;
            auto [delim, trim] = at_right_delim(pos_);
            if (!delim) return fail(x, "comment ends before closing delimiter");
            pos_ += (trim ? 2 : 0) + 2;
            if (trim) pos_ = skip_space(pos_);
            return true;
        }
        emit(Tok::LeftDelim, x, x + 2);
        pos_ = after;
        return lex_action();
    }

    bool lex_action() {
        int parens = 0;
        for (;;) {
            auto [delim, trim] = at_right_delim(pos_);
            if (delim) {
                if (parens != 0) return fail(pos_, "unclosed left paren");
                if (trim) pos_ += 2;
                emit(Tok::RightDelim, pos_, pos_ + 2);
                pos_ += 2;
                if (trim) pos_ = skip_space(pos_);
                return true;
            }
            if (pos_ >= in_.size()) return fail(pos_, "unclosed action");
            size_t start = pos_;
            char c = in_[pos_];
            if (is_space(c)) {
                pos_ = skip_space(pos_);
                // " -}}": leave the last space to the delimiter.
                if (right_trim_at(pos_ - 1) && starts(pos_ + 1, "}}")) {
                    --pos_;
                    if (pos_ == start) continue;
                }
                emit(Tok::Space, start, pos_);
                continue;
            }
            ++pos_;
            switch (c) {
            case '=':
                emit(Tok::Assign, start, pos_);
                continue;
            case ':':
                if (pos_ >= in_.size() || in_[pos_] != '=') return fail(start, "expected :=");
                ++pos_;
                emit(Tok::Declare, start, pos_);
                continue;
            case '|':
                emit(Tok::PipeBar, start, pos_);
                continue;
            case '"':
                for (;;) {
                    if (pos_ >= in_.size() || in_[pos_] == '\n') return fail(start, "unterminated quoted string");
                    char q = in_[pos_++];
                    if (q == '\\') {
                        if (pos_ >= in_.size() || in_[pos_] == '\n') return fail(start, "unterminated quoted string");
                        ++pos_;
                    } else if (q == '"') {
                        break;
                    }
                }
                emit(Tok::String, start, pos_);
                continue;
            case '`': {
                size_t e = in_.find('`', pos_);
                if (e == std::string_view::npos) return fail(start, "unterminated raw quoted string");
                pos_ = e + 1;
                emit(Tok::RawString, start, pos_);
                continue;
            }
            case '\'':
                for (;;) {
                    if (pos_ >= in_.size() || in_[pos_] == '\n') return fail(start, "unterminated character constant");
                    char q = in_[pos_++];
                    if (q == '\\') {
                        if (pos_ >= in_.size() || in_[pos_] == '\n')
                            return fail(start, "unterminated character constant");
                        ++pos_;
                    } else if (q == '\'') {
                        break;
                    }
                }
                emit(Tok::CharConst, start, pos_);
                continue;
            case '$':
            case '.': {
                if (c == '.' && (pos_ >= in_.size() || (in_[pos_] >= '0' && in_[pos_] <= '9'))) {
                    pos_ = start;
                    if (!lex_number()) return false;
                    continue;
                }
                Tok t = c == '$' ? Tok::Variable : Tok::Field;
                if (at_terminator(pos_)) {
                    emit(c == '$' ? Tok::Variable : Tok::Dot, start, pos_);
                    continue;
                }
                while (pos_ < in_.size() && is_alnum(in_[pos_]))
                    ++pos_;
                if (!at_terminator(pos_)) return fail(pos_, bad_char(pos_));
                emit(t, start, pos_);
                continue;
            }
            case '(':
                ++parens;
                emit(Tok::LeftParen, start, pos_);
                continue;
            case ')':
                if (--parens < 0) return fail(start, "unexpected right paren");
                emit(Tok::RightParen, start, pos_);
                continue;
            default:
                break;
            }
            if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
                pos_ = start;
                if (!lex_number()) return false;
                continue;
            }
            if (is_alnum(c)) {
                while (pos_ < in_.size() && is_alnum(in_[pos_]))
                    ++pos_;
                if (!at_terminator(pos_)) return fail(pos_, bad_char(pos_));
                emit(keyword(in_.substr(start, pos_ - start)), start, pos_);
                continue;
            }
            if (c > 0x20 && c < 0x7f) {
                emit(Tok::Char, start, pos_);
                continue;
            }
            return fail(start, "unrecognized character in action: " + quote_char(c));
        }
    }

    bool accept(std::string_view set) {
        if (pos_ < in_.size() && set.find(in_[pos_]) != std::string_view::npos) {
            ++pos_;
            return true;
        }
        return false;
    }
    void accept_run(std::string_view set) {
        while (accept(set)) {
        }
    }
    bool lex_number() {
        size_t start = pos_;
        accept("+-");
        std::string_view digits = "0123456789_";
        if (accept("0")) {
            if (accept("xX"))
                digits = "0123456789abcdefABCDEF_";
            else if (accept("oO"))
                digits = "01234567_";
            else if (accept("bB"))
                digits = "01_";
        }
        accept_run(digits);
        if (accept(".")) accept_run(digits);
        if (digits.size() == 11 && accept("eE")) {
            accept("+-");
            accept_run("0123456789_");
        }
        if (digits.size() == 23 && accept("pP")) {
            accept("+-");
            accept_run("0123456789_");
        }
        accept("i");
        if (pos_ < in_.size() && is_alnum(in_[pos_])) {
            ++pos_;
            return fail(start, "bad number syntax: \"" + std::string(in_.substr(start, pos_ - start)) + "\"");
        }
        emit(Tok::Number, start, pos_);
        return true;
    }

    static Tok keyword(std::string_view w) {
        static constexpr std::pair<std::string_view, Tok> kKeys[] = {{"if", Tok::If},
                                                                     {"else", Tok::Else},
                                                                     {"end", Tok::End},
                                                                     {"range", Tok::Range},
                                                                     {"with", Tok::With},
                                                                     {"break", Tok::Break},
                                                                     {"continue", Tok::Continue},
                                                                     {"define", Tok::Define},
                                                                     {"template", Tok::Template},
                                                                     {"block", Tok::Block},
                                                                     {"nil", Tok::Nil},
                                                                     {"true", Tok::Bool},
                                                                     {"false", Tok::Bool}};
        for (const auto& [k, t] : kKeys)
            if (k == w) return t;
        return Tok::Identifier;
    }
    static std::string quote_char(char c) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned char>(c));
        return buf;
    }
    std::string bad_char(size_t p) const { return "bad character " + quote_char(p < in_.size() ? in_[p] : '\0'); }

    std::string_view in_;
    size_t pos_ = 0;
    std::vector<Token> toks_;
};

// --- literals ---

int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Go's strconv.Unquote for "..." and '...' bodies (quotes stripped). Returns false on bad syntax.
bool unquote_body(std::string_view s, char quote, std::string& out) {
    for (size_t i = 0; i < s.size();) {
        char c = s[i++];
        if (c == quote) return false;
        if (c != '\\') {
            out += c;
            continue;
        }
        if (i >= s.size()) return false;
        char e = s[i++];
        switch (e) {
        case 'a':
            out += '\a';
            break;
        case 'b':
            out += '\b';
            break;
        case 'f':
            out += '\f';
            break;
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        case 'v':
            out += '\v';
            break;
        case '\\':
            out += '\\';
            break;
        case '\'':
        case '"':
            if (e != quote) return false;
            out += e;
            break;
        case 'x':
        case 'u':
        case 'U': {
            size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (i + n > s.size()) return false;
            uint32_t v = 0;
            for (size_t k = 0; k < n; ++k) {
                int h = hex_val(s[i + k]);
                if (h < 0) return false;
                v = v * 16 + static_cast<uint32_t>(h);
            }
            i += n;
            if (e == 'x') {
                out += static_cast<char>(v);
            } else {
                if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) return false;
                append_utf8(out, v);
            }
            break;
        }
        default: {
            if (e < '0' || e > '7' || i + 2 > s.size()) return false;
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (size_t k = 0; k < 2; ++k) {
                char o = s[i + k];
                if (o < '0' || o > '7') return false;
                v = v * 8 + static_cast<uint32_t>(o - '0');
            }
            if (v > 255) return false;
            i += 2;
            out += static_cast<char>(v);
        }
        }
    }
    return true;
}

// First UTF-8 code point of s (s non-empty), and its byte length.
std::pair<uint32_t, size_t> decode_utf8(std::string_view s) {
    auto b = static_cast<unsigned char>(s[0]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > s.size()) return {0xFFFD, 1};
    uint32_t r = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
        auto c = static_cast<unsigned char>(s[k]);
        if ((c & 0xC0) != 0x80) return {0xFFFD, 1};
        r = (r << 6) | (c & 0x3F);
    }
    return {r, n};
}

// Number token → JSON int or float, as text/template's idealConstant would type it.
bool parse_number(std::string_view text, Json& out, std::string& err) {
    if (text.ends_with("i")) {
        err = "complex numbers are not supported: " + std::string(text);
        return false;
    }
    std::string t;
    for (char c : text)
        if (c != '_') t += c;
    bool neg = false;
    std::string_view body = t;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        neg = body[0] == '-';
        body.remove_prefix(1);
    }
    bool hex = body.size() > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X');
    bool is_float =
        hex ? body.find_first_of("pP.") != std::string_view::npos : body.find_first_of(".eE") != std::string_view::npos;
    if (is_float) {
        if (hex) {
            err = "hex floats are not supported: " + std::string(text);
            return false;
        }
        char* end = nullptr;
        double d = std::strtod(t.c_str(), &end);
        if (end != t.c_str() + t.size() || body == "." || body.empty()) {
            err = "illegal number syntax: \"" + std::string(text) + "\"";
            return false;
        }
        out = d;
        return true;
    }
    int base = 10;
    if (body.size() > 1 && body[0] == '0') {
        char p = body[1];
        if (p == 'x' || p == 'X')
            base = 16, body.remove_prefix(2);
        else if (p == 'o' || p == 'O')
            base = 8, body.remove_prefix(2);
        else if (p == 'b' || p == 'B')
            base = 2, body.remove_prefix(2);
        else
            base = 8, body.remove_prefix(1);
    }
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v, base);
    if (body.empty() || ptr != body.data() + body.size() || ec == std::errc::invalid_argument) {
        err = "illegal number syntax: \"" + std::string(text) + "\"";
        return false;
    }
    if (ec == std::errc::result_out_of_range || v > (neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1)) {
        err = std::string(text) + " overflows int";
        return false;
    }
    out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
    return true;
}

bool is_builtin(std::string_view name) {
    static constexpr std::string_view kFuncs[] = {"and",   "or",     "not",     "len",  "index",  "slice",
                                                  "print", "printf", "println", "eq",   "ne",     "lt",
                                                  "le",    "gt",     "ge",      "json", "toJson", "currentDate"};
    return std::find(std::begin(kFuncs), std::end(kFuncs), name) != std::end(kFuncs);
}

// --- parser ---

enum class Marker { None, End, Else };

class Parser {
public:
    Parser(std::string_view src, std::vector<Token> toks) : src_(src), toks_(std::move(toks)) {
        for (size_t i = 0; i < src.size(); ++i)
            if (src[i] == '\n') newlines_.push_back(i);
    }

    Pos pos_of(size_t off) const {
        auto it = std::lower_bound(newlines_.begin(), newlines_.end(), off);
        int line = static_cast<int>(it - newlines_.begin()) + 1;
        size_t line_start = it == newlines_.begin() ? 0 : *(it - 1) + 1;
        return {line, static_cast<int>(off - line_start)};
    }

    std::unique_ptr<Node> parse_root() {
        auto root = std::make_unique<Node>();
        while (peek().type != Tok::Eof) {
            Marker m = Marker::None;
            Node n = text_or_action(m);
            if (m != Marker::None) fail(n.pos, m == Marker::End ? "unexpected {{end}}" : "unexpected {{else}}");
            root->list.push_back(std::move(n));
        }
        return root;
    }

private:
    [[noreturn]] void fail(size_t off, std::string msg) { throw ParseError{off, std::move(msg)}; }
    [[noreturn]] void fail(Pos pos, std::string msg) {
        // Positions are kept as offsets while parsing; Pos errors re-derive one.
        throw ParseError{offset_of(pos), std::move(msg)};
    }
    size_t offset_of(Pos p) const {
        size_t line_start = p.line <= 1 ? 0 : newlines_[static_cast<size_t>(p.line - 2)] + 1;
        return line_start + static_cast<size_t>(p.col);
    }

    const Token& peek() {
        const Token& t = toks_[std::min(i_, toks_.size() - 1)];
        if (t.type == Tok::Error) fail(t.off, t.val);
        return t;
    }
    const Token& next() {
        const Token& t = peek();
        if (i_ < toks_.size() - 1) ++i_;
        return t;
    }
    const Token& peek_non_space() {
        while (peek().type == Tok::Space)
            ++i_;
        return peek();
    }
    const Token& next_non_space() {
        peek_non_space();
        return next();
    }
    std::string describe(const Token& t) const {
        if (t.type == Tok::Eof) return "EOF";
        if (is_keyword(t.type)) return "<" + t.val + ">";
        if (t.val.size() > 10) return "\"" + t.val.substr(0, 10) + "\"...";
        return "\"" + t.val + "\"";
    }
    [[noreturn]] void unexpected(const Token& t, std::string_view context) {
        fail(t.off, "unexpected " + describe(t) + " in " + std::string(context));
    }
    void expect(Tok type, std::string_view context) {
        const Token& t = next_non_space();
        if (t.type != type) unexpected(t, context);
    }
    void enter(size_t off) {
        if (++depth_ > kMaxParseDepth) fail(off, "template nesting deeper than " + std::to_string(kMaxParseDepth));
    }

    Node text_or_action(Marker& marker) {
        const Token& t = next_non_space();
        if (t.type == Tok::Text) {
            Node n;
            n.kind = Node::Kind::Text;
            n.pos = pos_of(t.off);
            n.text = t.val;
            return n;
        }
        if (t.type == Tok::LeftDelim) return action(marker);
        unexpected(t, "input");
    }

    Node action(Marker& marker) {
        const Token& t = next_non_space();
        Node n;
        n.pos = pos_of(t.off);
        switch (t.type) {
        case Tok::Break:
        case Tok::Continue: {
            bool brk = t.type == Tok::Break;
            expect(Tok::RightDelim, brk ? "{{break}}" : "{{continue}}");
            if (range_depth_ == 0) fail(t.off, brk ? "{{break}} outside {{range}}" : "{{continue}} outside {{range}}");
            n.kind = brk ? Node::Kind::Break : Node::Kind::Continue;
            return n;
        }
        case Tok::Else: {
            marker = Marker::Else;
            Tok p = peek_non_space().type;
            if (p != Tok::If && p != Tok::With) expect(Tok::RightDelim, "else");
            return n;
        }
        case Tok::End:
            marker = Marker::End;
            expect(Tok::RightDelim, "end");
            return n;
        case Tok::If:
            return control(Node::Kind::If, "if", t.off);
        case Tok::Range:
            return control(Node::Kind::Range, "range", t.off);
        case Tok::With:
            return control(Node::Kind::With, "with", t.off);
        case Tok::Define:
        case Tok::Template:
        case Tok::Block:
            fail(t.off, "{{" + t.val + "}} is not supported");
        default:
            break;
        }
        --i_;
        n.kind = Node::Kind::Action;
        n.pos = pos_of(peek().off);
        n.pipe = pipeline("command", Tok::RightDelim);
        return n;
    }

    Node control(Node::Kind kind, std::string_view context, size_t off) {
        enter(off);
        size_t n_vars = vars_.size();
        Node n;
        n.kind = kind;
        n.pos = pos_of(off);
        n.pipe = pipeline(context, Tok::RightDelim);
        if (kind == Node::Kind::Range) ++range_depth_;
        Marker next = item_list(n.list);
        if (kind == Node::Kind::Range) --range_depth_;
        if (next == Marker::Else) {
            n.has_else = true;
            Tok p = peek().type;
            if ((kind == Node::Kind::If && p == Tok::If) || (kind == Node::Kind::With && p == Tok::With)) {
                size_t o = next_non_space().off;
                n.else_list.push_back(control(kind, context, o));
            } else if (item_list(n.else_list) != Marker::End) {
                fail(peek().off, "expected end; found {{else}}");
            }
        }
        vars_.resize(n_vars);
        --depth_;
        return n;
    }

    Marker item_list(std::vector<Node>& list) {
        while (peek_non_space().type != Tok::Eof) {
            Marker m = Marker::None;
            Node n = text_or_action(m);
            if (m != Marker::None) return m;
            list.push_back(std::move(n));
        }
        fail(peek().off, "unexpected EOF");
    }

    Pipe pipeline(std::string_view context, Tok end) {
        Pipe p;
        p.pos = pos_of(peek_non_space().off);
        for (;;) { // declarations
            if (peek_non_space().type != Tok::Variable) break;
            size_t save = i_;
            const Token& v = next();
            const Token& after = peek_non_space();
            if (after.type == Tok::Assign || after.type == Tok::Declare) {
                p.is_assign = after.type == Tok::Assign;
                next();
                p.decl.push_back(v.val);
                vars_.push_back(v.val);
                break;
            }
            if (after.type == Tok::Char && after.val == ",") {
                next();
                p.decl.push_back(v.val);
                vars_.push_back(v.val);
                if (context == "range" && p.decl.size() < 2) {
                    Tok t = peek_non_space().type;
                    if (t == Tok::Variable || t == Tok::RightDelim || t == Tok::RightParen) continue;
                    fail(peek().off, "range can only initialize variables");
                }
                fail(v.off, "too many declarations in " + std::string(context));
            }
            i_ = save;
            break;
        }
        for (;;) {
            const Token& t = next_non_space();
            if (t.type == end) break;
            switch (t.type) {
            case Tok::Bool:
            case Tok::CharConst:
            case Tok::Dot:
            case Tok::Field:
            case Tok::Identifier:
            case Tok::Number:
            case Tok::Nil:
            case Tok::RawString:
            case Tok::String:
            case Tok::Variable:
            case Tok::LeftParen:
                --i_;
                p.cmds.push_back(command());
                break;
            default:
                unexpected(t, context);
            }
        }
        if (p.cmds.empty()) fail(offset_of(p.pos), "missing value for " + std::string(context));
        for (size_t k = 1; k < p.cmds.size(); ++k) {
            Arg::Kind first = p.cmds[k].args[0].kind;
            bool literal = first == Arg::Kind::Literal || first == Arg::Kind::Dot || first == Arg::Kind::Nil;
            if (literal)
                fail(offset_of(p.cmds[k].pos), "non executable command in pipeline stage " + std::to_string(k + 1));
        }
        return p;
    }

    Command command() {
        Command c;
        c.pos = pos_of(peek_non_space().off);
        for (;;) {
            peek_non_space();
            if (auto a = operand()) c.args.push_back(std::move(*a));
            const Token& t = next();
            if (t.type == Tok::Space) continue;
            if (t.type == Tok::RightDelim || t.type == Tok::RightParen) {
                --i_;
            } else if (t.type != Tok::PipeBar) {
                unexpected(t, "operand");
            }
            break;
        }
        if (c.args.empty()) fail(offset_of(c.pos), "empty command");
        return c;
    }

    std::unique_ptr<Arg> operand() {
        auto term_arg = term();
        if (!term_arg || peek().type != Tok::Field) return term_arg;
        std::vector<std::string> fields;
        std::string text = term_arg->text;
        while (peek().type == Tok::Field) {
            const Token& f = next();
            fields.push_back(f.val.substr(1));
            text += f.val;
        }
        switch (term_arg->kind) {
        case Arg::Kind::Field:
        case Arg::Kind::Variable:
            term_arg->fields.insert(term_arg->fields.end(), fields.begin(), fields.end());
            term_arg->text = text;
            return term_arg;
        case Arg::Kind::Literal:
        case Arg::Kind::Nil:
        case Arg::Kind::Dot:
            fail(offset_of(term_arg->pos), "unexpected . after term \"" + term_arg->text + "\"");
        default: {
            auto chain = std::make_unique<Arg>();
            chain->kind = Arg::Kind::Chain;
            chain->pos = term_arg->pos;
            chain->fields = std::move(fields);
            chain->text = text;
            chain->base = std::move(term_arg);
            return chain;
        }
        }
    }

    std::unique_ptr<Arg> term() {
        const Token& t = next_non_space();
        auto a = std::make_unique<Arg>();
        a->pos = pos_of(t.off);
        a->text = t.val;
        switch (t.type) {
        case Tok::Identifier:
            if (!is_builtin(t.val)) fail(t.off, "function \"" + t.val + "\" not defined");
            a->kind = Arg::Kind::Identifier;
            a->name = t.val;
            return a;
        case Tok::Dot:
            a->kind = Arg::Kind::Dot;
            return a;
        case Tok::Nil:
            a->kind = Arg::Kind::Nil;
            return a;
        case Tok::Variable:
            if (std::find(vars_.begin(), vars_.end(), t.val) == vars_.end())
                fail(t.off, "undefined variable \"" + t.val + "\"");
            a->kind = Arg::Kind::Variable;
            a->name = t.val;
            return a;
        case Tok::Field:
            a->kind = Arg::Kind::Field;
            a->fields.push_back(t.val.substr(1));
            return a;
        case Tok::Bool:
            a->kind = Arg::Kind::Literal;
            a->literal = t.val == "true";
            return a;
        case Tok::Number: {
            a->kind = Arg::Kind::Literal;
            std::string err;
            if (!parse_number(t.val, a->literal, err)) fail(t.off, err);
            return a;
        }
        case Tok::CharConst: {
            std::string s;
            std::string_view body = std::string_view(t.val).substr(1, t.val.size() - 2);
            if (!unquote_body(body, '\'', s) || s.empty()) fail(t.off, "malformed character constant: " + t.val);
            int64_t rune = static_cast<unsigned char>(s[0]);
            if (s.size() > 1) {
                auto [r, len] = decode_utf8(s);
                if (len != s.size()) fail(t.off, "malformed character constant: " + t.val);
                rune = r;
            }
            a->kind = Arg::Kind::Literal;
            a->literal = rune;
            return a;
        }
        case Tok::String:
        case Tok::RawString: {
            std::string s;
            std::string_view body = std::string_view(t.val).substr(1, t.val.size() - 2);
            if (t.type == Tok::RawString) {
                for (char c : body)
                    if (c != '\r') s += c;
            } else if (!unquote_body(body, '"', s)) {
                fail(t.off, "invalid syntax in string " + t.val);
            }
            a->kind = Arg::Kind::Literal;
            a->literal = std::move(s);
            return a;
        }
        case Tok::LeftParen:
            enter(t.off);
            a->kind = Arg::Kind::Pipe;
            a->pipe = std::make_unique<Pipe>(pipeline("parenthesized pipeline", Tok::RightParen));
            --depth_;
            return a;
        default:
            --i_;
            return nullptr;
        }
    }

    std::string_view src_;
    std::vector<Token> toks_;
    std::vector<size_t> newlines_;
    size_t i_ = 0;
    std::vector<std::string> vars_{"$"};
    int range_depth_ = 0;
    int depth_ = 0;
};

} // namespace

Result<std::unique_ptr<Node>> parse(std::string_view source) {
    Lexer lexer(source);
    Parser parser(source, lexer.run());
    try {
        return parser.parse_root();
    } catch (const ParseError& e) {
        return error(format_error(parser.pos_of(e.off), e.msg));
    }
}

} // namespace hearth::gotmpl
