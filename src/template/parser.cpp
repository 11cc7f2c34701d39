// template/parser.cpp: recursive descent over the token list; see parser.h.
#include "template/parser.h"

#include <cerrno>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

namespace hearth::tmpl {

namespace {

class Parser {
public:
    explicit Parser(const std::vector<Token>& toks) : toks_(toks) {}

    Result<Body> run() {
        std::string found;
        Body body = parse_until({}, &found);
        if (!err_.is_ok()) return err_;
        return body;
    }

private:
    // ---- token helpers ----
    const Token& cur() const { return toks_[pos_]; }
    const Token& peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
    void next() {
        if (pos_ + 1 < toks_.size()) ++pos_;
    }
    bool is_op(std::string_view op) const { return cur().kind == TokKind::Op && cur().text == op; }
    bool is_name(std::string_view n) const { return cur().kind == TokKind::Name && cur().text == n; }
    bool skip_op(std::string_view op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(std::string_view n) {
        if (!is_name(n)) return false;
        next();
        return true;
    }
    bool failed() const { return !err_.is_ok(); }
    std::nullptr_t fail(const std::string& msg) {
        if (err_.is_ok()) {
            err_ = Status::error("TemplateSyntaxError: " + msg + " (line " + std::to_string(cur().line) + ")");
        }
        return nullptr;
    }
    std::string describe() const {
        switch (cur().kind) {
        case TokKind::End:
            return "end of template";
        case TokKind::BlockEnd:
            return "end of statement block";
        case TokKind::VarEnd:
            return "end of print statement";
        case TokKind::Data:
            return "template data";
        default:
            return "'" + cur().text + "'";
        }
    }
    bool expect_op(std::string_view op) {
        if (skip_op(op)) return true;
        fail("expected '" + std::string(op) + "', got " + describe());
        return false;
    }
    bool expect_kind(TokKind k, const char* what) {
        if (cur().kind == k) {
            next();
            return true;
        }
        fail(std::string("expected ") + what + ", got " + describe());
        return false;
    }
    bool expect_block_end() { return expect_kind(TokKind::BlockEnd, "end of statement block"); }

    struct DepthGuard {
        explicit DepthGuard(Parser& p) : p_(p) { ++p_.depth_; }
        ~DepthGuard() { --p_.depth_; }
        bool too_deep() const { return p_.depth_ > kMaxParseDepth; }
        Parser& p_;
    };

    ExprPtr node(ExprKind k, int line) {
        auto e = std::make_unique<Expr>();
        e->kind = k;
        e->line = line;
        return e;
    }
    ExprPtr binary(ExprKind k, std::string op, ExprPtr a, ExprPtr b, int line) {
        auto e = node(k, line);
        e->name = std::move(op);
        e->args.push_back(std::move(a));
        e->args.push_back(std::move(b));
        return e;
    }

    // ---- statements ----
    Body parse_until(std::initializer_list<std::string_view> ends, std::string* found) {
        Body body;
        DepthGuard guard(*this);
        if (guard.too_deep()) {
            fail("statements nested too deeply");
            return body;
        }
        while (!failed()) {
            const Token& t = cur();
            if (t.kind == TokKind::End) {
                if (ends.size() != 0) fail("unexpected end of template, expected '" + std::string(*ends.begin()) + "'");
                return body;
            }
            if (t.kind == TokKind::Data) {
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Data;
                s->text = t.text;
                body.push_back(std::move(s));
                next();
            } else if (t.kind == TokKind::VarBegin) {
                next();
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Print;
                s->line = t.line;
                s->expr = parse_tuple(true, false);
                if (!s->expr || !expect_kind(TokKind::VarEnd, "end of print statement")) return body;
                body.push_back(std::move(s));
            } else if (t.kind == TokKind::BlockBegin) {
                const Token& name = peek();
                for (std::string_view e : ends) {
                    if (name.kind == TokKind::Name && name.text == e) {
                        *found = name.text;
                        next();
                        next();
                        return body;
                    }
                }
                next();
                StmtPtr s = parse_statement();
                if (!s) return body;
                body.push_back(std::move(s));
            } else {
                fail("unexpected " + describe());
            }
        }
        return body;
    }

    StmtPtr make_stmt(StmtKind k) {
        auto s = std::make_unique<Stmt>();
        s->kind = k;
        s->line = cur().line;
        return s;
    }

    StmtPtr parse_statement() {
        if (cur().kind != TokKind::Name) return fail("tag name expected");
        std::string tag = cur().text;
        next();
        if (tag == "if") return parse_if();
        if (tag == "for") return parse_for();
        if (tag == "set") return parse_set();
        if (tag == "macro") return parse_macro();
        if (tag == "call") return parse_call_block();
        if (tag == "filter") return parse_filter_block();
        if (tag == "with" || tag == "generation") return parse_with(tag);
        if (tag == "break" || tag == "continue") {
            if (loop_depth_ == 0) return fail("'" + tag + "' outside of a loop");
            auto s = make_stmt(tag == "break" ? StmtKind::Break : StmtKind::Continue);
            if (!expect_block_end()) return nullptr;
            return s;
        }
        if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block") {
            return fail("'" + tag + "' is not supported in chat templates");
        }
        return fail("encountered unknown tag '" + tag + "'");
    }

    StmtPtr parse_if() {
        auto s = make_stmt(StmtKind::If);
        ExprPtr cond = parse_tuple(false, false);
        while (!failed()) {
            if (!cond || !expect_block_end()) return nullptr;
            std::string found;
            Body body = parse_until({"elif", "else", "endif"}, &found);
            if (failed()) return nullptr;
            s->branches.emplace_back(std::move(cond), std::move(body));
            if (found == "elif") {
                cond = parse_tuple(false, false);
            } else if (found == "else") {
                if (!expect_block_end()) return nullptr;
                Body else_body = parse_until({"endif"}, &found);
                s->branches.emplace_back(nullptr, std::move(else_body));
                if (failed() || !expect_block_end()) return nullptr;
                return s;
            } else {
                if (!expect_block_end()) return nullptr;
                return s;
            }
        }
        return nullptr;
    }

    bool parse_targets(std::vector<std::string>& names) {
        bool paren = skip_op("(");
        do {
            if (cur().kind != TokKind::Name) {
                fail("expected a name, got " + describe());
                return false;
            }
            names.push_back(cur().text);
            next();
        } while (skip_op(","));
        if (paren && !expect_op(")")) return false;
        return true;
    }

    StmtPtr parse_for() {
        auto s = make_stmt(StmtKind::For);
        if (!parse_targets(s->targets)) return nullptr;
        if (!skip_name("in")) return fail("expected 'in', got " + describe());
        s->expr = parse_tuple(false, false, /*with_condexpr=*/false);
        if (!s->expr) return nullptr;
        if (skip_name("if")) {
            s->cond = parse_expression(true);
            if (!s->cond) return nullptr;
        }
        if (is_name("recursive")) return fail("recursive loops are not supported");
        if (!expect_block_end()) return nullptr;
        std::string found;
        ++loop_depth_;
        s->body = parse_until({"endfor", "else"}, &found);
        --loop_depth_;
        if (failed()) return nullptr;
        if (found == "else") {
            if (!expect_block_end()) return nullptr;
            s->else_body = parse_until({"endfor"}, &found);
            if (failed()) return nullptr;
        }
        if (!expect_block_end()) return nullptr;
        return s;
    }

    StmtPtr parse_set() {
        auto s = make_stmt(StmtKind::Set);
        if (cur().kind == TokKind::Name && peek().kind == TokKind::Op && peek().text == ".") {
            s->targets.push_back(cur().text);
            next();
            next();
            if (cur().kind != TokKind::Name) return fail("expected attribute name, got " + describe());
            s->targets.push_back(cur().text);
            s->attr_target = true;
            next();
        } else if (!parse_targets(s->targets)) {
            return nullptr;
        }
        if (skip_op("=")) {
            s->expr = parse_tuple(true, false);
            if (!s->expr || !expect_block_end()) return nullptr;
            return s;
        }
        s->kind = StmtKind::SetBlock;
        if (s->targets.size() != 1 || s->attr_target) return fail("block assignment needs a single name");
        if (is_op("|")) {
            s->expr = parse_filter_chain(node(ExprKind::FilterInput, cur().line));
            if (!s->expr) return nullptr;
        }
        if (!expect_block_end()) return nullptr;
        std::string found;
        s->body = parse_until({"endset"}, &found);
        if (failed() || !expect_block_end()) return nullptr;
        return s;
    }

    bool parse_signature(MacroDef& m) {
        if (!expect_op("(")) return false;
        while (!is_op(")")) {
            if (!m.params.empty() && !expect_op(",")) return false;
            if (is_op(")")) break;
            if (cur().kind != TokKind::Name) {
                fail("expected parameter name, got " + describe());
                return false;
            }
            m.params.push_back(cur().text);
            next();
            ExprPtr def;
            if (skip_op("=")) {
                def = parse_expression(true);
                if (!def) return false;
            }
            m.defaults.push_back(std::move(def));
        }
        next();
        return true;
    }

    StmtPtr parse_macro() {
        auto s = make_stmt(StmtKind::Macro);
        s->macro = std::make_unique<MacroDef>();
        if (cur().kind != TokKind::Name) return fail("expected macro name, got " + describe());
        s->macro->name = cur().text;
        next();
        if (!parse_signature(*s->macro) || !expect_block_end()) return nullptr;
        std::string found;
        int saved = loop_depth_;
        loop_depth_ = 0;
        s->macro->body = parse_until({"endmacro"}, &found);
        loop_depth_ = saved;
        if (failed() || !expect_block_end()) return nullptr;
        return s;
    }

    StmtPtr parse_call_block() {
        auto s = make_stmt(StmtKind::CallBlock);
        s->macro = std::make_unique<MacroDef>();
        s->macro->name = "caller";
        if (is_op("(") && !parse_signature(*s->macro)) return nullptr;
        s->expr = parse_expression(true);
        if (!s->expr) return nullptr;
        if (s->expr->kind != ExprKind::Call) return fail("expected call");
        if (!expect_block_end()) return nullptr;
        std::string found;
        s->macro->body = parse_until({"endcall"}, &found);
        if (failed() || !expect_block_end()) return nullptr;
        return s;
    }

    StmtPtr parse_filter_block() {
        auto s = make_stmt(StmtKind::FilterBlock);
        auto input = node(ExprKind::FilterInput, cur().line);
        // `{% filter upper|trim %}`: the first filter has no leading pipe.
        s->expr = parse_filter(std::move(input));
        if (s->expr && is_op("|")) s->expr = parse_filter_chain(std::move(s->expr));
        if (!s->expr || !expect_block_end()) return nullptr;
        std::string found;
        s->body = parse_until({"endfilter"}, &found);
        if (failed() || !expect_block_end()) return nullptr;
        return s;
    }

    StmtPtr parse_with(const std::string& tag) {
        auto s = make_stmt(StmtKind::With);
        while (tag == "with" && cur().kind != TokKind::BlockEnd) {
            if (!s->assigns.empty() && !expect_op(",")) return nullptr;
            if (cur().kind != TokKind::Name) return fail("expected a name, got " + describe());
            std::string name = cur().text;
            next();
            if (!expect_op("=")) return nullptr;
            ExprPtr v = parse_expression(true);
            if (!v) return nullptr;
            s->assigns.emplace_back(std::move(name), std::move(v));
        }
        if (!expect_block_end()) return nullptr;
        std::string found;
        std::string end = "end" + tag;
        s->body = parse_until({end}, &found);
        if (failed() || !expect_block_end()) return nullptr;
        return s;
    }

    // ---- expressions ----
    bool tuple_end() const {
        return cur().kind == TokKind::VarEnd || cur().kind == TokKind::BlockEnd || cur().kind == TokKind::End ||
               is_op(")");
    }

    // Jinja's parse_tuple: `a, b` without parentheses is a tuple where allowed.
    ExprPtr parse_tuple(bool allow_implicit, bool explicit_parens, bool with_condexpr = true) {
        int line = cur().line;
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        while (!failed()) {
            if (!items.empty() && !expect_op(",")) return nullptr;
            if (tuple_end() || (!with_condexpr && is_name("if"))) break;
            ExprPtr e = parse_expression(with_condexpr);
            if (!e) return nullptr;
            items.push_back(std::move(e));
            if (is_op(",") && (allow_implicit || explicit_parens)) {
                is_tuple = true;
            } else {
                break;
            }
        }
        if (failed()) return nullptr;
        if (!is_tuple) {
            if (!items.empty()) return std::move(items[0]);
            if (!explicit_parens) return fail("expected an expression, got " + describe());
        }
        auto t = node(ExprKind::Tuple, line);
        t->args = std::move(items);
        return t;
    }

    ExprPtr parse_expression(bool with_condexpr) {
        DepthGuard guard(*this);
        if (guard.too_deep()) return fail("expression nested too deeply");
        if (!with_condexpr) return parse_or();
        ExprPtr e = parse_or();
        while (e && is_name("if")) {
            int line = cur().line;
            next();
            ExprPtr cond = parse_or();
            if (!cond) return nullptr;
            ExprPtr other;
            if (skip_name("else")) {
                other = parse_expression(true);
                if (!other) return nullptr;
            }
            auto c = node(ExprKind::Cond, line);
            c->args.push_back(std::move(cond));
            c->args.push_back(std::move(e));
            c->args.push_back(std::move(other));
            e = std::move(c);
        }
        return e;
    }

    ExprPtr parse_or() {
        ExprPtr e = parse_and();
        while (e && is_name("or")) {
            int line = cur().line;
            next();
            ExprPtr r = parse_and();
            if (!r) return nullptr;
            e = binary(ExprKind::Binary, "or", std::move(e), std::move(r), line);
        }
        return e;
    }

    ExprPtr parse_and() {
        ExprPtr e = parse_not();
        while (e && is_name("and")) {
            int line = cur().line;
            next();
            ExprPtr r = parse_not();
            if (!r) return nullptr;
            e = binary(ExprKind::Binary, "and", std::move(e), std::move(r), line);
        }
        return e;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            DepthGuard guard(*this);
            if (guard.too_deep()) return fail("expression nested too deeply");
            auto e = node(ExprKind::Unary, cur().line);
            next();
            e->name = "not";
            ExprPtr operand = parse_not();
            if (!operand) return nullptr;
            e->args.push_back(std::move(operand));
            return e;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        ExprPtr e = parse_math1();
        ExprPtr chain; // Python chains `a < b < c` as `a < b and b < c`
        while (e) {
            int line = cur().line;
            std::string op;
            if (cur().kind == TokKind::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                              cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
                op = cur().text;
                next();
            } else if (is_name("in")) {
                op = "in";
                next();
            } else if (is_name("not") && peek().kind == TokKind::Name && peek().text == "in") {
                op = "notin";
                next();
                next();
            } else {
                break;
            }
            ExprPtr r = parse_math1();
            if (!r) return nullptr;
            if (chain) return fail("chained comparisons are not supported");
            chain = binary(ExprKind::Compare, op, std::move(e), std::move(r), line);
            e = nullptr;
            break;
        }
        if (chain) {
            if (cur().kind == TokKind::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                              cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
                return fail("chained comparisons are not supported");
            }
            return chain;
        }
        return e;
    }

    template <typename F> ExprPtr parse_binary_level(std::initializer_list<std::string_view> ops, F operand) {
        ExprPtr e = (this->*operand)();
        while (e && cur().kind == TokKind::Op) {
            std::string op;
            for (std::string_view o : ops) {
                if (cur().text == o) op = o;
            }
            if (op.empty()) break;
            int line = cur().line;
            next();
            ExprPtr r = (this->*operand)();
            if (!r) return nullptr;
            e = binary(ExprKind::Binary, op, std::move(e), std::move(r), line);
        }
        return e;
    }
    ExprPtr parse_math1() { return parse_binary_level({"+", "-"}, &Parser::parse_concat); }
    ExprPtr parse_concat() { return parse_binary_level({"~"}, &Parser::parse_math2); }
    ExprPtr parse_math2() { return parse_binary_level({"*", "/", "//", "%"}, &Parser::parse_pow); }
    ExprPtr parse_pow() { return parse_binary_level({"**"}, &Parser::parse_unary_filtered); }
    ExprPtr parse_unary_filtered() { return parse_unary(true); }

    ExprPtr parse_unary(bool with_filter) {
        DepthGuard guard(*this);
        if (guard.too_deep()) return fail("expression nested too deeply");
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            e = node(ExprKind::Unary, cur().line);
            e->name = cur().text;
            next();
            ExprPtr operand = parse_unary(false);
            if (!operand) return nullptr;
            e->args.push_back(std::move(operand));
        } else {
            e = parse_primary();
        }
        e = parse_postfix(std::move(e));
        if (with_filter) e = parse_filter_expr(std::move(e));
        return e;
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        int line = t.line;
        if (t.kind == TokKind::Name) {
            auto e = node(ExprKind::Literal, line);
            if (t.text == "true" || t.text == "True") {
                e->value = Value::boolean(true);
            } else if (t.text == "false" || t.text == "False") {
                e->value = Value::boolean(false);
            } else if (t.text == "none" || t.text == "None") {
                e->value = Value::none();
            } else {
                e->kind = ExprKind::Name;
                e->name = t.text;
            }
            next();
            return e;
        }
        if (t.kind == TokKind::String) {
            std::string s;
            while (cur().kind == TokKind::String) {
                s += cur().text;
                next();
            }
            auto e = node(ExprKind::Literal, line);
            e->value = Value::string(std::move(s));
            return e;
        }
        if (t.kind == TokKind::Int || t.kind == TokKind::Float) {
            auto e = node(ExprKind::Literal, line);
            errno = 0;
            if (t.kind == TokKind::Int) {
                char* end = nullptr;
                long long v = std::strtoll(t.text.c_str(), &end, 10);
                if (errno == ERANGE) return fail("integer literal too large");
                e->value = Value::integer(v);
            } else {
                e->value = Value::real(std::strtod(t.text.c_str(), nullptr));
            }
            next();
            return e;
        }
        if (skip_op("(")) {
            ExprPtr e = parse_tuple(false, true);
            if (!e || !expect_op(")")) return nullptr;
            return e;
        }
        if (is_op("[") || is_op("{")) return parse_collection();
        return fail("unexpected " + describe());
    }

    ExprPtr parse_collection() {
        bool is_dict = is_op("{");
        auto e = node(is_dict ? ExprKind::Dict : ExprKind::List, cur().line);
        next();
        const char* close = is_dict ? "}" : "]";
        while (!is_op(close)) {
            if (!e->args.empty() && !expect_op(",")) return nullptr;
            if (is_op(close)) break;
            ExprPtr item = parse_expression(true);
            if (!item) return nullptr;
            e->args.push_back(std::move(item));
            if (is_dict) {
                if (!expect_op(":")) return nullptr;
                ExprPtr v = parse_expression(true);
                if (!v) return nullptr;
                e->args.push_back(std::move(v));
            }
        }
        next();
        return e;
    }

    ExprPtr parse_postfix(ExprPtr e) {
        while (e) {
            int line = cur().line;
            if (skip_op(".")) {
                if (cur().kind == TokKind::Name) {
                    auto a = node(ExprKind::GetAttr, line);
                    a->name = cur().text;
                    a->args.push_back(std::move(e));
                    e = std::move(a);
                } else if (cur().kind == TokKind::Int) {
                    auto idx = node(ExprKind::Literal, line);
                    idx->value = Value::integer(std::strtoll(cur().text.c_str(), nullptr, 10));
                    e = binary(ExprKind::GetItem, "", std::move(e), std::move(idx), line);
                } else {
                    return fail("expected attribute name, got " + describe());
                }
                next();
            } else if (is_op("[")) {
                next();
                e = parse_subscript(std::move(e), line);
            } else if (is_op("(")) {
                e = parse_call(std::move(e));
            } else {
                break;
            }
        }
        return e;
    }

    ExprPtr parse_subscript(ExprPtr obj, int line) {
        ExprPtr parts[3];
        bool is_slice = false;
        for (int i = 0; i < 3; ++i) {
            if (!is_op(":") && !is_op("]")) {
                parts[i] = parse_expression(true);
                if (!parts[i]) return nullptr;
            }
            if (i < 2 && skip_op(":")) {
                is_slice = true;
            } else {
                break;
            }
        }
        if (!expect_op("]")) return nullptr;
        if (!is_slice) {
            if (!parts[0]) return fail("expected subscript expression");
            return binary(ExprKind::GetItem, "", std::move(obj), std::move(parts[0]), line);
        }
        auto s = node(ExprKind::Slice, line);
        s->args.push_back(std::move(obj));
        for (auto& p : parts)
            s->args.push_back(std::move(p));
        return s;
    }

    // Parses `(args, kw=v)` into e->args (after the existing ones) and e->kwargs.
    bool parse_call_args(Expr& e) {
        if (!expect_op("(")) return false;
        bool first = true;
        while (!is_op(")")) {
            if (!first && !expect_op(",")) return false;
            first = false;
            if (is_op(")")) break;
            if (is_op("*") || is_op("**")) {
                fail("*args and **kwargs are not supported");
                return false;
            }
            if (cur().kind == TokKind::Name && peek().kind == TokKind::Op && peek().text == "=") {
                std::string key = cur().text;
                next();
                next();
                ExprPtr v = parse_expression(true);
                if (!v) return false;
                e.kwargs.emplace_back(std::move(key), std::move(v));
            } else {
                if (!e.kwargs.empty()) {
                    fail("positional argument after keyword argument");
                    return false;
                }
                ExprPtr v = parse_expression(true);
                if (!v) return false;
                e.args.push_back(std::move(v));
            }
        }
        next();
        return true;
    }

    ExprPtr parse_call(ExprPtr callee) {
        auto c = node(ExprKind::Call, cur().line);
        c->args.push_back(std::move(callee));
        if (!parse_call_args(*c)) return nullptr;
        return c;
    }

    ExprPtr parse_filter(ExprPtr operand) {
        if (cur().kind != TokKind::Name) return fail("expected filter name, got " + describe());
        auto f = node(ExprKind::Filter, cur().line);
        f->name = cur().text;
        next();
        f->args.push_back(std::move(operand));
        if (is_op("(") && !parse_call_args(*f)) return nullptr;
        return f;
    }

    ExprPtr parse_filter_chain(ExprPtr e) {
        while (e && skip_op("|"))
            e = parse_filter(std::move(e));
        return e;
    }

    ExprPtr parse_test(ExprPtr operand) {
        auto t = node(ExprKind::Test, cur().line);
        t->negated = skip_name("not");
        if (cur().kind != TokKind::Name) return fail("expected test name, got " + describe());
        t->name = cur().text;
        next();
        t->args.push_back(std::move(operand));
        if (is_op("(")) {
            if (!parse_call_args(*t)) return nullptr;
        } else if ((cur().kind == TokKind::Name || cur().kind == TokKind::String || cur().kind == TokKind::Int ||
                    cur().kind == TokKind::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
            if (is_name("is")) return fail("You cannot chain multiple tests with is");
            ExprPtr arg = parse_postfix(parse_primary());
            if (!arg) return nullptr;
            t->args.push_back(std::move(arg));
        }
        return t;
    }

    ExprPtr parse_filter_expr(ExprPtr e) {
        while (e) {
            if (is_op("|")) {
                next();
                e = parse_filter(std::move(e));
            } else if (is_name("is")) {
                next();
                e = parse_test(std::move(e));
            } else if (is_op("(")) {
                e = parse_call(std::move(e));
            } else {
                break;
            }
        }
        return e;
    }

    const std::vector<Token>& toks_;
    size_t pos_ = 0;
    int depth_ = 0;
    int loop_depth_ = 0;
    Status err_;
};

} // namespace

Result<Body> parse(const std::vector<Token>& tokens) {
    Parser p(tokens);
    return p.run();
}

} // namespace hearth::tmpl
