// template/evaluator.cpp: statements and expressions; see evaluator.h.
#include "template/evaluator.h"

#include <algorithm>
#include <chrono>

namespace hearth::tmpl {

namespace {
// Bounds C++ recursion (eval and exec) whatever the macro depth limit: a few thousand small frames.
constexpr int kMaxEvalDepth = 2000;
} // namespace

const Value* CallArgs::get(size_t i, std::string_view name) const {
    if (i < pos.size()) return &pos[i];
    for (const auto& [k, v] : kw) {
        if (k == name) return &v;
    }
    return nullptr;
}

Renderer::Renderer(const TemplateOptions& options) : opts_(options) {}

Renderer::~Renderer() {
    for (auto& ns : namespaces_)
        ns->items.clear();
}

Status Renderer::check_string_size(size_t n) const {
    if (n > opts_.limits.max_output) {
        return Status::error("LimitError: string of " + std::to_string(n) + " bytes exceeds the output limit of " +
                             std::to_string(opts_.limits.max_output));
    }
    return Status::ok();
}

Status Renderer::check_list_size(size_t n) const {
    if (n > static_cast<uint64_t>(std::max<int64_t>(opts_.limits.max_range, 0))) {
        return Status::error("LimitError: list of " + std::to_string(n) + " items exceeds the limit of " +
                             std::to_string(opts_.limits.max_range));
    }
    return Status::ok();
}

Status Renderer::count_work(uint64_t units) {
    const uint64_t before = steps_;
    steps_ = units > opts_.limits.max_steps - std::min(opts_.limits.max_steps, steps_) ? opts_.limits.max_steps + 1
                                                                                       : steps_ + units;
    if (steps_ > opts_.limits.max_steps) {
        return Status::error("LimitError: template rendering took more than " + std::to_string(opts_.limits.max_steps) +
                             " steps");
    }
    if ((before >> kClockEverySteps) != (steps_ >> kClockEverySteps) && std::chrono::steady_clock::now() > deadline_) {
        return Status::error("LimitError: template rendering took longer than " +
                             format_float(opts_.limits.max_seconds) + " s");
    }
    return Status::ok();
}

Status Renderer::count_new(Value& v) {
    if (v.depth() > kMaxNesting) {
        return Status::error("LimitError: lists and dicts nested deeper than " + std::to_string(kMaxNesting));
    }
    const size_t bytes = v.track(live_);
    if (bytes == 0) return Status::ok();
    if (*live_ > opts_.limits.max_memory) {
        return Status::error("LimitError: template rendering holds more than " +
                             std::to_string(opts_.limits.max_memory) + " bytes of strings and lists");
    }
    return count_work(bytes / kAllocBytesPerStep);
}

Result<bool> Renderer::equal(const Value& a, const Value& b) {
    CompareWork w{opts_.limits.max_steps - std::min(opts_.limits.max_steps, steps_)};
    const uint64_t left = w.left;
    const bool eq = equals(a, b, w);
    HEARTH_TRY(count_work(w.exhausted ? UINT64_MAX : left - w.left));
    return eq;
}

Result<bool> Renderer::less(const Value& a, const Value& b) {
    CompareWork w{opts_.limits.max_steps - std::min(opts_.limits.max_steps, steps_)};
    const uint64_t left = w.left;
    auto lt = less_than(a, b, w);
    HEARTH_TRY(count_work(w.exhausted ? UINT64_MAX : left - w.left));
    return lt;
}

Status Renderer::count_iterations(uint64_t n) {
    iterations_ += n;
    if (iterations_ > opts_.limits.max_loop_iterations) {
        return Status::error("LimitError: more than " + std::to_string(opts_.limits.max_loop_iterations) +
                             " loop iterations");
    }
    return Status::ok();
}

Value Renderer::make_namespace(ValueDict attrs) {
    auto ns = std::make_shared<ValueDict>(std::move(attrs));
    namespaces_.push_back(ns);
    return Value::ns(std::move(ns));
}

std::tm Renderer::now() const {
    if (opts_.now) return opts_.now();
    std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    localtime_r(&t, &tm);
    return tm;
}

Result<std::string> Renderer::render(const Body& body, const Value& context) {
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(std::clamp(opts_.limits.max_seconds, 0.0, 1e6)));
    steps_ = 0;
    live_ = std::make_shared<uint64_t>(0);
    root_ = std::make_shared<Frame>();
    if (context.is_dict()) root_->vars = context.as_dict();
    std::string out;
    out_ = &out;
    Flow flow = Flow::Normal;
    HEARTH_TRY(exec_body(body, root_, flow));
    return out;
}

Status Renderer::emit(std::string_view text) {
    if (out_->size() + text.size() > opts_.limits.max_output) {
        return Status::error("LimitError: output exceeds " + std::to_string(opts_.limits.max_output) + " bytes");
    }
    out_->append(text);
    return Status::ok();
}

Status Renderer::capture(const Body& body, const std::shared_ptr<Frame>& frame, std::string& out) {
    std::string* saved = out_;
    out_ = &out;
    Flow flow = Flow::Normal;
    Status st = exec_body(body, frame, flow);
    out_ = saved;
    return st;
}

Status Renderer::exec_body(const Body& body, const std::shared_ptr<Frame>& frame, Flow& flow) {
    for (const auto& s : body) {
        HEARTH_TRY(exec(*s, frame, flow));
        if (flow != Flow::Normal) return Status::ok();
    }
    return Status::ok();
}

namespace {
struct DepthGuard {
    explicit DepthGuard(int& d) : d_(d) { ++d_; }
    ~DepthGuard() { --d_; }
    int& d_;
};
} // namespace

Status Renderer::exec(const Stmt& s, const std::shared_ptr<Frame>& frame, Flow& flow) {
    DepthGuard guard(eval_depth_);
    if (eval_depth_ > kMaxEvalDepth) return Status::error("LimitError: template nesting too deep");
    HEARTH_TRY(count_step());
    switch (s.kind) {
    case StmtKind::Data:
        return emit(s.text);
    case StmtKind::Print: {
        auto v = eval(*s.expr, frame);
        if (!v) return v.status();
        if (v->is_list() && v->as_list().is_generator) return emit("<generator object>");
        return emit(to_str(*v, opts_.limits.max_output));
    }
    case StmtKind::If:
        for (const auto& [cond, body] : s.branches) {
            if (cond) {
                auto c = eval(*cond, frame);
                if (!c) return c.status();
                if (!truthy(*c)) continue;
            }
            return exec_body(body, frame, flow);
        }
        return Status::ok();
    case StmtKind::For:
        return exec_for(s, frame, flow);
    case StmtKind::Set:
    case StmtKind::SetBlock:
        return exec_set(s, frame);
    case StmtKind::Macro: {
        Callable c;
        c.macro = s.macro.get();
        c.closure = frame;
        frame->vars.set(s.macro->name, Value::callable(std::move(c)));
        return Status::ok();
    }
    case StmtKind::CallBlock: {
        Callable caller;
        caller.macro = s.macro.get();
        caller.closure = frame;
        const Expr& call = *s.expr;
        auto fn = eval(*call.args[0], frame);
        if (!fn) return fn.status();
        auto args = eval_args(call, 1, frame);
        if (!args) return args.status();
        if (!fn->is_callable() || !fn->as_callable().macro) return Status::error("TypeError: call block needs a macro");
        Value caller_value = Value::callable(std::move(caller));
        auto r = call_macro(fn->as_callable(), std::move(*args), &caller_value);
        if (!r) return r.status();
        return emit(r->as_string());
    }
    case StmtKind::FilterBlock: {
        std::string text;
        HEARTH_TRY(capture(s.body, frame, text));
        Value input = Value::string(std::move(text));
        HEARTH_TRY(count_new(input));
        const Value* saved = filter_input_;
        filter_input_ = &input;
        auto r = eval(*s.expr, frame);
        filter_input_ = saved;
        if (!r) return r.status();
        return emit(to_str(*r, opts_.limits.max_output));
    }
    case StmtKind::Break:
        flow = Flow::Break;
        return Status::ok();
    case StmtKind::Continue:
        flow = Flow::Continue;
        return Status::ok();
    case StmtKind::With: {
        auto inner = std::make_shared<Frame>();
        inner->parent = frame;
        for (const auto& [name, expr] : s.assigns) {
            auto v = eval(*expr, frame);
            if (!v) return v.status();
            inner->vars.set(name, std::move(*v));
        }
        return exec_body(s.body, inner, flow);
    }
    }
    return Status::ok();
}

static Status bind_targets(Renderer& r, const std::vector<std::string>& targets, const Value& item, Frame& frame) {
    if (targets.size() == 1) {
        frame.vars.set(targets[0], item);
        return Status::ok();
    }
    auto items = iterate(r, item);
    if (!items) return items.status();
    if (items->size() != targets.size()) {
        return Status::error(std::string("ValueError: ") +
                             (items->size() < targets.size() ? "not enough" : "too many") +
                             " values to unpack (expected " + std::to_string(targets.size()) + ")");
    }
    for (size_t i = 0; i < targets.size(); ++i)
        frame.vars.set(targets[i], (*items)[i]);
    return Status::ok();
}

Status Renderer::exec_for(const Stmt& s, const std::shared_ptr<Frame>& frame, Flow& flow) {
    auto seq = eval(*s.expr, frame);
    if (!seq) return seq.status();
    auto all = iterate(*this, *seq);
    if (!all) return all.status();
    auto inner = std::make_shared<Frame>();
    inner->parent = frame;
    std::vector<Value> items;
    if (s.cond) {
        for (const Value& item : *all) {
            HEARTH_TRY(count_iterations(1));
            HEARTH_TRY(bind_targets(*this, s.targets, item, *inner));
            auto keep = eval(*s.cond, inner);
            if (!keep) return keep.status();
            if (truthy(*keep)) items.push_back(item);
        }
    } else {
        items = std::move(*all);
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
        HEARTH_TRY(count_iterations(1));
        HEARTH_TRY(bind_targets(*this, s.targets, items[i], *inner));
        ValueDict loop;
        loop.set("index", Value::integer(i + 1));
        loop.set("index0", Value::integer(i));
        loop.set("revindex", Value::integer(n - i));
        loop.set("revindex0", Value::integer(n - i - 1));
        loop.set("first", Value::boolean(i == 0));
        loop.set("last", Value::boolean(i == n - 1));
        loop.set("length", Value::integer(n));
        loop.set("depth", Value::integer(1));
        loop.set("depth0", Value::integer(0));
        loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
        loop.set("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
        inner->vars.set("loop", Value::dict(std::move(loop)));
        Flow body_flow = Flow::Normal;
        HEARTH_TRY(exec_body(s.body, inner, body_flow));
        if (body_flow == Flow::Break) break;
    }
    if (n == 0) {
        auto else_frame = std::make_shared<Frame>();
        else_frame->parent = frame;
        HEARTH_TRY(exec_body(s.else_body, else_frame, flow));
        flow = Flow::Normal;
    }
    return Status::ok();
}

Status Renderer::exec_set(const Stmt& s, const std::shared_ptr<Frame>& frame) {
    Value v;
    if (s.kind == StmtKind::SetBlock) {
        std::string text;
        HEARTH_TRY(capture(s.body, frame, text));
        v = Value::string(std::move(text));
        HEARTH_TRY(count_new(v));
        if (s.expr) {
            const Value* saved = filter_input_;
            filter_input_ = &v;
            auto r = eval(*s.expr, frame);
            filter_input_ = saved;
            if (!r) return r.status();
            v = std::move(*r);
        }
    } else {
        auto r = eval(*s.expr, frame);
        if (!r) return r.status();
        v = std::move(*r);
    }
    if (s.attr_target) {
        auto ns = lookup(s.targets[0], *frame);
        if (!ns) return ns.status();
        if (!ns->is_ns()) return Status::error("TemplateRuntimeError: cannot assign attribute on non-namespace object");
        if (!s.targets[1].empty() && s.targets[1][0] == '_') {
            return Status::error("SecurityError: access to attribute '" + s.targets[1] + "' is unsafe");
        }
        ns->ns_attrs().set(s.targets[1], std::move(v));
        return Status::ok();
    }
    return bind_targets(*this, s.targets, v, *frame);
}

Result<Value> Renderer::lookup(const std::string& name, const Frame& frame) const {
    for (const Frame* f = &frame; f; f = f->parent.get()) {
        if (const Value* v = f->vars.find(name)) return *v;
    }
    static const std::pair<const char*, Builtin> kGlobals[] = {
        {"range", Builtin::Range},
        {"namespace", Builtin::Namespace},
        {"dict", Builtin::Dict},
        {"raise_exception", Builtin::RaiseException},
        {"strftime_now", Builtin::StrftimeNow},
    };
    for (const auto& [g, b] : kGlobals) {
        if (name == g) {
            Callable c;
            c.builtin = b;
            return Value::callable(std::move(c));
        }
    }
    return Value::undefined("'" + name + "' is undefined");
}

Result<Value> Renderer::eval(const Expr& e, const std::shared_ptr<Frame>& frame) {
    DepthGuard guard(eval_depth_);
    if (eval_depth_ > kMaxEvalDepth) return Status::error("LimitError: template nesting too deep");
    HEARTH_TRY(count_step());
    auto v = eval_inner(e, frame);
    if (v) HEARTH_TRY(count_new(*v));
    return v;
}

Result<CallArgs> Renderer::eval_args(const Expr& e, size_t first, const std::shared_ptr<Frame>& frame) {
    CallArgs args;
    for (size_t i = first; i < e.args.size(); ++i) {
        auto v = eval(*e.args[i], frame);
        if (!v) return v.status();
        args.pos.push_back(std::move(*v));
    }
    for (const auto& [k, expr] : e.kwargs) {
        auto v = eval(*expr, frame);
        if (!v) return v.status();
        args.kw.emplace_back(k, std::move(*v));
    }
    return args;
}

Result<Value> Renderer::eval_inner(const Expr& e, const std::shared_ptr<Frame>& frame) {
    switch (e.kind) {
    case ExprKind::Literal:
        return e.value;
    case ExprKind::Name:
        return lookup(e.name, *frame);
    case ExprKind::FilterInput:
        return filter_input_ ? *filter_input_ : Value::undefined("no filter input");
    case ExprKind::List:
    case ExprKind::Tuple: {
        std::vector<Value> items;
        for (const auto& a : e.args) {
            auto v = eval(*a, frame);
            if (!v) return v.status();
            items.push_back(std::move(*v));
        }
        return Value::list(std::move(items), e.kind == ExprKind::Tuple);
    }
    case ExprKind::Dict: {
        ValueDict d;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
            auto k = eval(*e.args[i], frame);
            if (!k) return k.status();
            auto v = eval(*e.args[i + 1], frame);
            if (!v) return v.status();
            if (!k->is_string()) return Status::error("TypeError: dict keys must be strings in chat templates");
            HEARTH_TRY(count_work(1 + d.items.size() / 16)); // set() looks the key up linearly
            d.set(k->as_string(), std::move(*v));
        }
        return Value::dict(std::move(d));
    }
    case ExprKind::GetAttr: {
        auto obj = eval(*e.args[0], frame);
        if (!obj) return obj.status();
        return get_attr(*obj, e.name);
    }
    case ExprKind::GetItem: {
        auto obj = eval(*e.args[0], frame);
        if (!obj) return obj.status();
        auto key = eval(*e.args[1], frame);
        if (!key) return key.status();
        return get_item(*obj, *key);
    }
    case ExprKind::Slice: {
        Value parts[4];
        for (int i = 0; i < 4; ++i) {
            if (!e.args[i]) continue;
            auto v = eval(*e.args[i], frame);
            if (!v) return v.status();
            parts[i] = std::move(*v);
        }
        return slice(parts[0], parts[1], parts[2], parts[3]);
    }
    case ExprKind::Call:
        return eval_call(e, frame);
    case ExprKind::Filter: {
        auto v = eval(*e.args[0], frame);
        if (!v) return v.status();
        auto args = eval_args(e, 1, frame);
        if (!args) return args.status();
        return apply_filter(*this, e.name, *v, *args);
    }
    case ExprKind::Test: {
        auto v = eval(*e.args[0], frame);
        if (!v) return v.status();
        auto args = eval_args(e, 1, frame);
        if (!args) return args.status();
        auto r = apply_test(*this, e.name, *v, *args);
        if (!r) return r.status();
        return Value::boolean(*r != e.negated);
    }
    case ExprKind::Unary: {
        auto v = eval(*e.args[0], frame);
        if (!v) return v.status();
        if (e.name == "not") return Value::boolean(!truthy(*v));
        if (v->is_undefined()) return undefined_error(*v);
        if (!v->is_number()) {
            return Status::error("TypeError: bad operand type for unary " + e.name + ": '" + type_name(*v) + "'");
        }
        if (e.name == "+") return v->is_float() ? *v : Value::integer(v->as_int());
        if (v->is_float()) return Value::real(-v->as_float());
        if (v->as_int() == INT64_MIN) return Status::error("OverflowError: integer overflow");
        return Value::integer(-v->as_int());
    }
    case ExprKind::Binary: {
        auto a = eval(*e.args[0], frame);
        if (!a) return a.status();
        if (e.name == "and" && !truthy(*a)) return a;
        if (e.name == "or" && truthy(*a)) return a;
        auto b = eval(*e.args[1], frame);
        if (!b) return b.status();
        if (e.name == "and" || e.name == "or") return b;
        return binary_op(*this, e.name, *a, *b);
    }
    case ExprKind::Compare: {
        auto a = eval(*e.args[0], frame);
        if (!a) return a.status();
        auto b = eval(*e.args[1], frame);
        if (!b) return b.status();
        const std::string& op = e.name;
        if (op == "==" || op == "!=") {
            auto eq = equal(*a, *b);
            if (!eq) return eq.status();
            return Value::boolean(*eq == (op == "=="));
        }
        if (op == "in" || op == "notin") {
            auto r = contains(*this, *b, *a);
            if (!r) return r.status();
            return Value::boolean(*r == (op == "in"));
        }
        if (a->is_undefined()) return undefined_error(*a);
        if (b->is_undefined()) return undefined_error(*b);
        Result<bool> r = (op == "<" || op == ">=") ? less(*a, *b) : less(*b, *a);
        if (!r) {
            std::string msg = r.message();
            size_t at = msg.find("'<'");
            if (at != std::string::npos) msg.replace(at, 3, "'" + op + "'");
            return Status::error(msg);
        }
        bool lt = *r;
        if (op == "<" || op == ">") return Value::boolean(lt);
        return Value::boolean(!lt); // >= is not <, <= is not >
    }
    case ExprKind::Cond: {
        auto c = eval(*e.args[0], frame);
        if (!c) return c.status();
        if (truthy(*c)) return eval(*e.args[1], frame);
        if (!e.args[2]) return Value::undefined("the inline if-expression evaluated to false and no else section");
        return eval(*e.args[2], frame);
    }
    }
    return Status::error("internal error: unknown expression");
}

Result<Value> Renderer::eval_call(const Expr& e, const std::shared_ptr<Frame>& frame) {
    const Expr& callee = *e.args[0];
    if (callee.kind == ExprKind::GetAttr) {
        auto obj = eval(*callee.args[0], frame);
        if (!obj) return obj.status();
        auto args = eval_args(e, 1, frame);
        if (!args) return args.status();
        if (obj->is_undefined()) return undefined_error(*obj);
        if (callee.name.empty() || callee.name[0] == '_') {
            return Status::error("SecurityError: access to attribute '" + callee.name + "' of '" + type_name(*obj) +
                                 "' object is unsafe.");
        }
        const Value* member = nullptr;
        if (obj->is_dict()) member = obj->as_dict().find(callee.name);
        if (obj->is_ns()) member = obj->ns_attrs().find(callee.name);
        if (member && member->is_callable()) return call(*member, std::move(*args));
        if (obj->is_ns()) return Status::error("TypeError: namespace attribute '" + callee.name + "' is not callable");
        return call_method(*this, *obj, callee.name, *args);
    }
    auto fn = eval(callee, frame);
    if (!fn) return fn.status();
    auto args = eval_args(e, 1, frame);
    if (!args) return args.status();
    return call(*fn, std::move(*args));
}

Result<Value> Renderer::call(const Value& fn, CallArgs args) {
    if (fn.is_undefined()) return undefined_error(fn);
    if (!fn.is_callable())
        return Status::error(std::string("TypeError: '") + type_name(fn) + "' object is not callable");
    const Callable& c = fn.as_callable();
    if (c.macro) return call_macro(c, std::move(args), nullptr);
    return call_builtin(*this, c.builtin, args);
}

Result<Value> Renderer::call_macro(const Callable& fn, CallArgs args, const Value* caller) {
    const MacroDef& m = *fn.macro;
    if (macro_depth_ >= opts_.limits.max_depth) {
        return Status::error("LimitError: macro calls nested deeper than " + std::to_string(opts_.limits.max_depth));
    }
    if (args.pos.size() > m.params.size()) {
        return Status::error("TypeError: macro '" + m.name + "' takes not more than " +
                             std::to_string(m.params.size()) + " argument(s)");
    }
    auto frame = std::make_shared<Frame>();
    frame->parent = fn.closure.lock();
    if (!frame->parent) frame->parent = root_;
    for (const auto& [k, v] : args.kw) {
        bool known = false;
        for (const auto& p : m.params)
            known = known || p == k;
        if (!known) return Status::error("TypeError: macro '" + m.name + "' takes no keyword argument '" + k + "'");
    }
    for (size_t i = 0; i < m.params.size(); ++i) {
        const Value* v = args.get(i, m.params[i]);
        if (v) {
            frame->vars.set(m.params[i], *v);
        } else if (m.defaults[i]) {
            auto d = eval(*m.defaults[i], frame);
            if (!d) return d.status();
            frame->vars.set(m.params[i], std::move(*d));
        } else {
            frame->vars.set(m.params[i], Value::undefined("'" + m.params[i] + "' is undefined"));
        }
    }
    if (caller) frame->vars.set("caller", *caller);
    ++macro_depth_;
    std::string out;
    Status st = capture(m.body, frame, out);
    --macro_depth_;
    HEARTH_TRY(st);
    return Value::string(std::move(out));
}

} // namespace hearth::tmpl
