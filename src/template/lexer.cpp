// template/lexer.cpp: see lexer.h. Follows jinja2/lexer.py's rules and their order.
#include "template/lexer.h"

#include "base/utf8.h"

#include <cstring>

namespace hearth::tmpl {

namespace {

bool is_py_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
}
bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class Lexer {
public:
    explicit Lexer(std::string_view source) {
        // Normalize line endings and drop one trailing newline, as Jinja2's lexer does.
        for (size_t i = 0; i < source.size(); ++i) {
            if (source[i] == '\r') {
                src_ += '\n';
                if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
            } else {
                src_ += source[i];
            }
        }
        if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    }

    Result<std::vector<Token>> run() {
        while (pos_ < src_.size()) {
            size_t start = src_.find('{', pos_);
            while (start != std::string::npos && start + 1 < src_.size() &&
                   std::strchr("{%#", src_[start + 1]) == nullptr) {
                start = src_.find('{', start + 1);
            }
            if (start == std::string::npos || start + 1 >= src_.size()) {
                emit_data(src_.substr(pos_));
                pos_ = src_.size();
                break;
            }
            HEARTH_TRY(lex_tag(start));
        }
        toks_.push_back({TokKind::End, "", line_});
        return std::move(toks_);
    }

private:
    void emit_data(std::string text) {
        if (text.empty()) return;
        toks_.push_back({TokKind::Data, std::move(text), line_});
    }
    void advance_to(size_t p) {
        for (size_t i = pos_; i < p && i < src_.size(); ++i)
            line_ += src_[i] == '\n';
        pos_ = p;
    }
    size_t skip_space(size_t p) const {
        while (p < src_.size() && is_py_space(src_[p]))
            ++p;
        return p;
    }
    Status fail(const std::string& msg) const {
        return Status::error("TemplateSyntaxError: " + msg + " (line " + std::to_string(line_) + ")");
    }

    Status lex_tag(size_t start) {
        std::string text = src_.substr(pos_, start - pos_);
        char type = src_[start + 1];
        size_t p = start + 2;
        char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : 0;
        if (sign == '-') {
            while (!text.empty() && is_py_space(text.back()))
                text.pop_back();
        } else if (sign != '+' && type != '{') {
            size_t l_pos = text.rfind('\n');
            l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
            if ((l_pos > 0 || line_starting_) && l_pos < text.size()) {
                bool all_space = true;
                for (size_t i = l_pos; i < text.size(); ++i)
                    all_space = all_space && is_py_space(text[i]);
                if (all_space) text.resize(l_pos);
            }
        }
        emit_data(std::move(text));
        advance_to(start);
        if (sign) ++p;
        if (type == '#') return lex_comment(p);
        if (type == '%') {
            bool is_raw = false;
            HEARTH_TRY(try_raw(p, is_raw));
            if (is_raw) return Status::ok();
        }
        return lex_expr_tag(type == '{' ? TokKind::VarBegin : TokKind::BlockBegin, p);
    }

    Status lex_comment(size_t p) {
        size_t e = src_.find("#}", p);
        if (e == std::string::npos) return fail("missing end of comment tag");
        size_t after = e + 2;
        if (e > p && src_[e - 1] == '-') {
            after = skip_space(after);
        } else if (after < src_.size() && src_[after] == '\n') {
            ++after;
        }
        line_starting_ = src_[after - 1] == '\n';
        advance_to(after);
        return Status::ok();
    }

    // Matches `\s*raw\s*(-|+|)%}` at p; on a match emits the raw body as data.
    Status try_raw(size_t p, bool& is_raw) {
        size_t q = skip_space(p);
        if (src_.compare(q, 3, "raw") != 0) return Status::ok();
        q = skip_space(q + 3);
        bool strip_after = false;
        if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) strip_after = src_[q++] == '-';
        if (src_.compare(q, 2, "%}") != 0) return Status::ok();
        is_raw = true;
        size_t body = q + 2;
        if (strip_after) body = skip_space(body);
        for (size_t s = src_.find("{%", body); s != std::string::npos; s = src_.find("{%", s + 1)) {
            size_t r = s + 2;
            char sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r++] : 0;
            r = skip_space(r);
            if (src_.compare(r, 6, "endraw") != 0) continue;
            r = skip_space(r + 6);
            char close_sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r++] : 0;
            if (src_.compare(r, 2, "%}") != 0) continue;
            std::string text = src_.substr(body, s - body);
            if (sign == '-') {
                while (!text.empty() && is_py_space(text.back()))
                    text.pop_back();
            }
            emit_data(std::move(text));
            size_t after = r + 2;
            if (close_sign == '-') {
                after = skip_space(after);
            } else if (close_sign == 0 && after < src_.size() && src_[after] == '\n') {
                ++after;
            }
            line_starting_ = src_[after - 1] == '\n';
            advance_to(after);
            return Status::ok();
        }
        return fail("missing end of raw directive");
    }

    // Is there an end tag at p? Sets the position after it (with whitespace control applied).
    bool match_end(TokKind begin, size_t p, size_t& after) const {
        if (begin == TokKind::VarBegin) {
            if (src_.compare(p, 3, "-}}") == 0) {
                after = skip_space(p + 3);
                return true;
            }
            if (src_.compare(p, 2, "}}") == 0) {
                after = p + 2;
                return true;
            }
            return false;
        }
        if (src_.compare(p, 3, "-%}") == 0) {
            after = skip_space(p + 3);
            return true;
        }
        if (src_.compare(p, 3, "+%}") == 0) {
            after = p + 3;
            return true;
        }
        if (src_.compare(p, 2, "%}") == 0) {
            after = p + 2;
            if (after < src_.size() && src_[after] == '\n') ++after;
            return true;
        }
        return false;
    }

    Status lex_expr_tag(TokKind begin, size_t p) {
        toks_.push_back({begin, "", line_});
        std::string stack;
        while (true) {
            size_t q = skip_space(p);
            advance_to(q);
            p = q;
            if (p >= src_.size()) return fail("unexpected end of template, expected end of tag");
            size_t after = 0;
            if (stack.empty() && match_end(begin, p, after)) {
                toks_.push_back({begin == TokKind::VarBegin ? TokKind::VarEnd : TokKind::BlockEnd, "", line_});
                line_starting_ = src_[after - 1] == '\n';
                advance_to(after);
                return Status::ok();
            }
            char c = src_[p];
            if (is_name_start(c)) {
                size_t e = p;
                while (e < src_.size() && (is_name_start(src_[e]) || is_digit(src_[e])))
                    ++e;
                toks_.push_back({TokKind::Name, src_.substr(p, e - p), line_});
                p = e;
            } else if (is_digit(c)) {
                p = lex_number(p);
            } else if (c == '\'' || c == '"') {
                HEARTH_TRY(lex_string(p));
            } else {
                HEARTH_TRY(lex_operator(p, stack));
            }
        }
    }

    size_t lex_digits(size_t p) const {
        while (p < src_.size() &&
               (is_digit(src_[p]) || (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1]))))
            ++p;
        return p;
    }

    size_t lex_number(size_t p) {
        size_t e = lex_digits(p);
        bool is_float = false;
        bool after_dot = !toks_.empty() && toks_.back().kind == TokKind::Op && toks_.back().text == ".";
        if (!after_dot && e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
            e = lex_digits(e + 1);
            is_float = true;
        }
        if (!after_dot && e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
            size_t x = e + 1;
            if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
            if (x < src_.size() && is_digit(src_[x])) {
                e = lex_digits(x);
                is_float = true;
            }
        }
        std::string text;
        for (size_t i = p; i < e; ++i) {
            if (src_[i] != '_') text += src_[i];
        }
        toks_.push_back({is_float ? TokKind::Float : TokKind::Int, text, line_});
        return e;
    }

    Status lex_string(size_t& p) {
        char quote = src_[p];
        std::string out;
        size_t i = p + 1;
        for (; i < src_.size() && src_[i] != quote; ++i) {
            char c = src_[i];
            if (c != '\\') {
                out += c;
                continue;
            }
            if (++i >= src_.size()) break;
            char e = src_[i];
            switch (e) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'v':
                out += '\v';
                break;
            case 'a':
                out += '\a';
                break;
            case '0':
                out += '\0';
                break;
            case '\\':
                out += '\\';
                break;
            case '\'':
                out += '\'';
                break;
            case '"':
                out += '"';
                break;
            case '\n':
                break; // line continuation
            case 'x':
            case 'u':
            case 'U': {
                int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                uint32_t cp = 0;
                bool ok = i + n < src_.size();
                for (int k = 1; ok && k <= n; ++k) {
                    int h = hex_value(src_[i + k]);
                    ok = h >= 0;
                    cp = cp * 16 + static_cast<uint32_t>(h);
                }
                if (!ok || cp > 0x10ffff) return fail("invalid escape in string literal");
                append_utf8(out, cp);
                i += n;
                break;
            }
            default:
                out += '\\';
                out += e;
            }
        }
        if (i >= src_.size()) return fail("unterminated string literal");
        toks_.push_back({TokKind::String, std::move(out), line_});
        advance_to(i + 1);
        p = i + 1;
        return Status::ok();
    }

    Status lex_operator(size_t& p, std::string& stack) {
        static const char* const kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
        for (const char* op : kTwo) {
            if (src_.compare(p, 2, op) == 0) {
                toks_.push_back({TokKind::Op, op, line_});
                p += 2;
                return Status::ok();
            }
        }
        char c = src_[p];
        if (std::strchr("+-*/%~<>=.:|,;()[]{}", c) == nullptr || c == 0) {
            return fail(std::string("unexpected char '") + c + "'");
        }
        if (c == '(' || c == '[' || c == '{') {
            if (stack.size() >= 256) return fail("brackets nested too deeply");
            stack += c == '(' ? ')' : c == '[' ? ']' : '}';
        } else if (c == ')' || c == ']' || c == '}') {
            if (stack.empty() || stack.back() != c) return fail(std::string("unexpected '") + c + "'");
            stack.pop_back();
        }
        toks_.push_back({TokKind::Op, std::string(1, c), line_});
        ++p;
        return Status::ok();
    }

    std::string src_;
    size_t pos_ = 0;
    int line_ = 1;
    bool line_starting_ = true;
    std::vector<Token> toks_;
};

} // namespace

Result<std::vector<Token>> tokenize(std::string_view source) {
    Lexer lexer(source);
    return lexer.run();
}

} // namespace hearth::tmpl
