// template/gotmpl.cpp: executes a parsed Go template (text/template's exec.go, for JSON data).
//
// Walks the tree with a dot value and a stack of variables, as Go does: a control structure's
// variables are popped at its {{end}}, a range body's at the end of each iteration. break/continue
// travel back up as a Flow value. Errors are thrown as ExecError inside this file and turned into a
// Result at the GoTemplate::render boundary.
#include "template/gotmpl.h"

#include "template/gotmpl_ast.h"
#include "template/gotmpl_value.h"

#include <algorithm>
#include <chrono>
#include <new>

namespace hearth {

using gotmpl::Arg;
using gotmpl::Command;
using gotmpl::FuncEnv;
using gotmpl::FuncError;
using gotmpl::Json;
using gotmpl::Kind;
using gotmpl::Node;
using gotmpl::Pipe;
using gotmpl::Pos;
using gotmpl::Value;

namespace {

struct ExecError {
    Pos pos;
    std::string msg;
};

enum class Flow { Normal, Break, Continue };

class Exec {
public:
    Exec(const GoTemplateOptions& options, const Json& data)
        : opt_(options), env_{options},
          deadline_(std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(std::clamp(options.limits.max_seconds, 0.0, 1e6)))) {
        vars_.emplace_back("$", Value::of(data));
    }

    std::string take_output() { return std::move(out_); }

    Flow walk_list(const Value& dot, const std::vector<Node>& list) {
        for (const Node& n : list) {
            Flow f = walk(dot, n);
            if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
    }

    Flow walk(const Value& dot, const Node& n) {
        count_step(n.pos);
        switch (n.kind) {
        case Node::Kind::List:
            return walk_list(dot, n.list);
        case Node::Kind::Text:
            emit(n.text, n.pos);
            return Flow::Normal;
        case Node::Kind::Action: {
            Value v = eval_pipeline(dot, n.pipe);
            if (n.pipe.decl.empty() && !v.missing()) {
                std::string s;
                if (v.nil())
                    s = "<no value>";
                else
                    gotmpl::format_value(s, v, opt_.objects_as_json);
                emit(s, n.pos);
            }
            return Flow::Normal;
        }
        case Node::Kind::If:
        case Node::Kind::With: {
            DepthGuard guard(*this, n.pos);
            size_t mark = vars_.size();
            Value v = eval_pipeline(dot, n.pipe);
            Flow f = gotmpl::truth(v) ? walk_list(n.kind == Node::Kind::With ? v : dot, n.list)
                                      : walk_list(dot, n.else_list);
            pop(mark);
            return f;
        }
        case Node::Kind::Range:
            return walk_range(dot, n);
        case Node::Kind::Break:
            return Flow::Break;
        case Node::Kind::Continue:
            return Flow::Continue;
        }
        return Flow::Normal;
    }

private:
    struct DepthGuard {
        DepthGuard(Exec& e, Pos pos) : e_(e) {
            if (++e_.depth_ > e_.opt_.limits.max_depth)
                throw ExecError{pos, "LimitError: nesting deeper than " + std::to_string(e_.opt_.limits.max_depth)};
        }
        ~DepthGuard() { --e_.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;
        Exec& e_;
    };

    void emit(std::string_view s, Pos pos) {
        out_ += s;
        if (out_.size() > opt_.limits.max_output)
            throw ExecError{pos, "LimitError: output exceeds " + std::to_string(opt_.limits.max_output) + " bytes"};
    }

    void pop(size_t mark) { vars_.erase(vars_.begin() + static_cast<std::ptrdiff_t>(mark), vars_.end()); }

    Value& var_ref(const std::string& name, Pos pos) {
        for (size_t i = vars_.size(); i-- > 0;)
            if (vars_[i].first == name) return vars_[i].second;
        throw ExecError{pos, "undefined variable: " + name};
    }

    // Every node walked and pipeline evaluated is a step: the budget and the deadline of TemplateLimits.
    void count_step(Pos pos) {
        if (++steps_ > opt_.limits.max_steps)
            throw ExecError{pos, "LimitError: template rendering took more than " +
                                     std::to_string(opt_.limits.max_steps) + " steps"};
        if ((steps_ & 63) == 0 && std::chrono::steady_clock::now() > deadline_)
            throw ExecError{pos, "LimitError: template rendering took too long (limit " +
                                     std::to_string(opt_.limits.max_seconds) + " s)"};
    }

    void count_iteration(Pos pos) {
        if (++iterations_ > opt_.limits.max_loop_iterations)
            throw ExecError{pos, "LimitError: more than " + std::to_string(opt_.limits.max_loop_iterations) +
                                     " range iterations"};
    }

    Flow walk_range(const Value& dot, const Node& n) {
        DepthGuard guard(*this, n.pos);
        size_t mark = vars_.size();
        Value val = eval_pipeline(dot, n.pipe);
        size_t body_mark = vars_.size();
        const auto& decl = n.pipe.decl;
        bool ran = false;
        // Runs the body once; true when it hit {{break}}.
        auto iteration = [&](const Value& index, const Value& elem) {
            ran = true;
            count_iteration(n.pos);
            if (!decl.empty()) {
                if (n.pipe.is_assign) {
                    var_ref(decl[0], n.pos) = decl.size() > 1 ? index : elem;
                    if (decl.size() > 1) var_ref(decl[1], n.pos) = elem;
                } else {
                    vars_[body_mark - 1].second = elem;
                    if (decl.size() > 1) vars_[body_mark - 2].second = index;
                }
            }
            Flow f = walk_list(elem, n.list);
            pop(body_mark);
            return f == Flow::Break;
        };
        switch (gotmpl::kind_of(val)) {
        case Kind::Array:
            for (size_t i = 0; i < val.size(); ++i)
                if (iteration(Value::own(static_cast<int64_t>(i)), val.at(i))) break;
            break;
        case Kind::Object: {
            std::vector<const std::string*> keys;
            for (const auto& [k, v] : val.json().items())
                keys.push_back(&k);
            std::sort(keys.begin(), keys.end(), [](auto a, auto b) { return *a < *b; });
            for (const std::string* k : keys)
                if (iteration(Value::own(*k), val.child(val.json().at(*k)))) break;
            break;
        }
        case Kind::Int: {
            const Json& j = val.json();
            if (decl.size() > 1)
                throw ExecError{n.pos, "can't use " + j.dump() + " to iterate over more than one variable"};
            int64_t count = j.is_number_unsigned() ? INT64_MAX : j.get<int64_t>();
            if (j.is_number_unsigned() && j.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX))
                count = static_cast<int64_t>(j.get<uint64_t>());
            if (count > opt_.limits.max_range)
                throw ExecError{n.pos, "LimitError: range over " + j.dump() + " exceeds the limit of " +
                                           std::to_string(opt_.limits.max_range)};
            for (int64_t i = 0; i < count; ++i) {
                Value v = Value::own(i);
                if (iteration(v, v)) break;
            }
            break;
        }
        case Kind::Invalid:
            break; // nil: like an empty list
        default: {
            std::string s;
            gotmpl::format_value(s, val, opt_.objects_as_json);
            throw ExecError{n.pos, "range can't iterate over " + s};
        }
        }
        Flow f = ran ? Flow::Normal : walk_list(dot, n.else_list);
        pop(mark);
        return f;
    }

    Value eval_pipeline(const Value& dot, const Pipe& p) {
        count_step(Pos{});
        Value v;
        for (size_t i = 0; i < p.cmds.size(); ++i) {
            Value next = eval_command(dot, p.cmds[i], i > 0 ? &v : nullptr);
            v = std::move(next);
        }
        for (const std::string& name : p.decl) {
            if (p.is_assign)
                var_ref(name, p.pos) = v;
            else
                vars_.emplace_back(name, v);
        }
        return v;
    }

    void not_a_function(const Command& cmd, const Value* final) {
        if (cmd.args.size() > 1 || final)
            throw ExecError{cmd.args[0].pos, "can't give argument to non-function " + cmd.args[0].text};
    }

    Value eval_command(const Value& dot, const Command& cmd, const Value* final) {
        const Arg& first = cmd.args[0];
        bool has_args = cmd.args.size() > 1 || final;
        switch (first.kind) {
        case Arg::Kind::Field:
            return eval_fields(dot, first.fields, has_args, first.pos);
        case Arg::Kind::Chain:
            return eval_fields(eval_chain_base(dot, first), first.fields, has_args, first.pos);
        case Arg::Kind::Variable: {
            Value v = var_ref(first.name, first.pos);
            if (first.fields.empty()) {
                not_a_function(cmd, final);
                return v;
            }
            return eval_fields(v, first.fields, has_args, first.pos);
        }
        case Arg::Kind::Identifier:
            return eval_function(dot, first, std::span<const Arg>(cmd.args).subspan(1), final);
        case Arg::Kind::Pipe: {
            not_a_function(cmd, final);
            DepthGuard guard(*this, first.pos);
            return eval_pipeline(dot, *first.pipe);
        }
        case Arg::Kind::Literal:
            not_a_function(cmd, final);
            return Value::of(first.literal);
        case Arg::Kind::Dot:
            not_a_function(cmd, final);
            return dot;
        case Arg::Kind::Nil:
            throw ExecError{first.pos, "nil is not a command"};
        }
        return Value();
    }

    Value eval_fields(Value receiver, const std::vector<std::string>& fields, bool has_args, Pos pos) {
        for (size_t k = 0; k < fields.size(); ++k) {
            const std::string& name = fields[k];
            if (receiver.missing()) return receiver; // missing.X is missing
            if (receiver.json().is_null()) throw ExecError{pos, "nil pointer evaluating interface {}." + name};
            if (gotmpl::kind_of(receiver) != Kind::Object)
                throw ExecError{pos, "can't evaluate field " + name + " in type " + gotmpl::type_name(receiver)};
            if (has_args && k + 1 == fields.size()) throw ExecError{pos, name + " is not a method but has arguments"};
            auto it = receiver.json().find(name);
            receiver = it == receiver.json().end() ? Value() : receiver.child(*it);
        }
        return receiver;
    }

    Value eval_chain_base(const Value& dot, const Arg& chain) {
        if (chain.base->kind == Arg::Kind::Nil)
            throw ExecError{chain.pos, "indirection through explicit nil in " + chain.text};
        return eval_arg(dot, *chain.base);
    }

    Value eval_arg(const Value& dot, const Arg& a) {
        static const Json kNull;
        switch (a.kind) {
        case Arg::Kind::Dot:
            return dot;
        case Arg::Kind::Nil:
            return Value::of(kNull);
        case Arg::Kind::Field:
            return eval_fields(dot, a.fields, false, a.pos);
        case Arg::Kind::Variable:
            return eval_fields(var_ref(a.name, a.pos), a.fields, false, a.pos);
        case Arg::Kind::Chain:
            return eval_fields(eval_chain_base(dot, a), a.fields, false, a.pos);
        case Arg::Kind::Identifier:
            return eval_function(dot, a, {}, nullptr);
        case Arg::Kind::Literal:
            return Value::of(a.literal);
        case Arg::Kind::Pipe: {
            DepthGuard guard(*this, a.pos);
            return eval_pipeline(dot, *a.pipe);
        }
        }
        return Value();
    }

    Value eval_function(const Value& dot, const Arg& fn, std::span<const Arg> args, const Value* final) {
        const std::string& name = fn.name;
        if (name == "and" || name == "or") { // short-circuit: the deciding operand is the result
            if (args.empty() && !final)
                throw ExecError{fn.pos, "wrong number of args for " + name + ": want at least 1 got 0"};
            Value v;
            for (const Arg& a : args) {
                v = eval_arg(dot, a);
                if (gotmpl::truth(v) == (name == "or")) return v;
            }
            return final ? *final : v;
        }
        std::vector<Value> values;
        values.reserve(args.size() + 1);
        for (const Arg& a : args)
            values.push_back(eval_arg(dot, a));
        if (final) values.push_back(*final);
        try {
            return gotmpl::call_builtin(name, values, env_);
        } catch (const FuncError& e) {
            bool arity = e.msg.starts_with("wrong number of args");
            throw ExecError{fn.pos, arity ? e.msg : "error calling " + name + ": " + e.msg};
        }
    }

    const GoTemplateOptions& opt_;
    FuncEnv env_;
    std::string out_;
    std::vector<std::pair<std::string, Value>> vars_;
    std::chrono::steady_clock::time_point deadline_;
    uint64_t iterations_ = 0;
    uint64_t steps_ = 0;
    int depth_ = 0;
};

bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

} // namespace

bool looks_like_go_template(std::string_view text) {
    if (text.find("{%") != std::string_view::npos || text.find("{#") != std::string_view::npos) return false;
    static constexpr std::string_view kKeywords[] = {"if",   "range",    "with",   "end",
                                                     "else", "template", "define", "block"};
    for (size_t p = text.find("{{"); p != std::string_view::npos; p = text.find("{{", p + 2)) {
        std::string_view a = text.substr(p + 2);
        if (a.size() >= 2 && a[0] == '-' && (a[1] == ' ' || a[1] == '\t' || a[1] == '\r' || a[1] == '\n'))
            a.remove_prefix(1);
        if (a.starts_with("/*")) return true;
        size_t s = a.find_first_not_of(" \t\r\n");
        if (s == std::string_view::npos) break;
        a.remove_prefix(s);
        if (a[0] == '.' || a[0] == '$') return true;
        for (std::string_view k : kKeywords)
            if (a.starts_with(k) && (a.size() == k.size() || !is_word_char(a[k.size()]))) return true;
    }
    return false;
}

GoTemplate::GoTemplate() = default;
GoTemplate::GoTemplate(GoTemplate&&) noexcept = default;
GoTemplate& GoTemplate::operator=(GoTemplate&&) noexcept = default;
GoTemplate::~GoTemplate() = default;

Result<GoTemplate> GoTemplate::parse(std::string_view source) {
    try {
        auto root = gotmpl::parse(source);
        if (!root) return root.status();
        GoTemplate t;
        t.root_ = std::move(root.value());
        return t;
    } catch (const std::bad_alloc&) {
        return error("template: out of memory while parsing");
    } catch (const std::exception& e) {
        return error(std::string("template: ") + e.what());
    }
}

Result<std::string> GoTemplate::render(const nlohmann::ordered_json& data, const GoTemplateOptions& options) const {
    try {
        Exec exec(options, data);
        exec.walk(Value::of(data), *root_);
        return exec.take_output();
    } catch (const ExecError& e) {
        return error(gotmpl::format_error(e.pos, e.msg));
    } catch (const std::bad_alloc&) {
        return error("template: out of memory");
    } catch (const std::exception& e) {
        return error(std::string("template: ") + e.what());
    }
}

Result<std::string> render_go_template(std::string_view tmpl, const nlohmann::ordered_json& data,
                                       const TemplateLimits& limits) {
    GoTemplateOptions options;
    options.limits = limits;
    return render_go_template(tmpl, data, options);
}

Result<std::string> render_go_template(std::string_view tmpl, const nlohmann::ordered_json& data,
                                       const GoTemplateOptions& options) {
    auto t = GoTemplate::parse(tmpl);
    if (!t) return t.status();
    return t->render(data, options);
}

} // namespace hearth
