// template/evaluator.h: walks the syntax tree and renders it (internal to hearth_template).
//
// Scoping follows Jinja2: the template root, each for loop, each macro call and each with block own a
// Frame; `if` does not. Lookups walk parent frames, then the globals. Every limit in TemplateLimits is
// checked where the growth happens, and eval depth is bounded so hostile templates cannot overflow the
// C++ stack.
#pragma once

#include "template/ast.h"
#include "template/chat_template.h"
#include "template/value.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hearth::tmpl {

struct Frame {
    std::shared_ptr<Frame> parent;
    ValueDict vars;
};

struct CallArgs {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    // Positional i, else keyword `name`, else null.
    const Value* get(size_t i, std::string_view name) const;
};

class Renderer {
public:
    explicit Renderer(const TemplateOptions& options);
    ~Renderer();
    Result<std::string> render(const Body& body, const Value& context);

    // Used by the builtins.
    const TemplateLimits& limits() const { return opts_.limits; }
    Status check_string_size(size_t n) const;
    Status check_list_size(size_t n) const;
    Status count_iterations(uint64_t n);
    Status count_step() { return count_work(1); } // one statement or expression
    // `units` of work (one step each) against the step budget and the wall-clock deadline.
    Status count_work(uint64_t units);
    // A value just built: its unshared bytes are tracked (Value::track) against max_memory for as long as
    // they live, and count as work (one step per kAllocBytesPerStep bytes: copying memory takes time too);
    // lists and dicts nested deeper than kMaxNesting are refused.
    Status count_new(Value& v);
    // ==, < and the containment walk with this render's remaining steps as their work (CompareWork).
    Result<bool> equal(const Value& a, const Value& b);
    Result<bool> less(const Value& a, const Value& b);
    Result<Value> call(const Value& fn, CallArgs args);
    Value make_namespace(ValueDict attrs);
    std::tm now() const;

private:
    enum class Flow { Normal, Break, Continue };
    Status exec_body(const Body& body, const std::shared_ptr<Frame>& frame, Flow& flow);
    Status exec(const Stmt& s, const std::shared_ptr<Frame>& frame, Flow& flow);
    Status exec_for(const Stmt& s, const std::shared_ptr<Frame>& frame, Flow& flow);
    Status exec_set(const Stmt& s, const std::shared_ptr<Frame>& frame);
    Status capture(const Body& body, const std::shared_ptr<Frame>& frame, std::string& out);
    Status emit(std::string_view text);

    Result<Value> eval(const Expr& e, const std::shared_ptr<Frame>& frame);
    Result<Value> eval_inner(const Expr& e, const std::shared_ptr<Frame>& frame);
    Result<Value> eval_call(const Expr& e, const std::shared_ptr<Frame>& frame);
    Result<CallArgs> eval_args(const Expr& e, size_t first, const std::shared_ptr<Frame>& frame);
    Result<Value> lookup(const std::string& name, const Frame& frame) const;
    Result<Value> call_macro(const Callable& fn, CallArgs args, const Value* caller);

    TemplateOptions opts_;
    std::string* out_ = nullptr;
    std::shared_ptr<Frame> root_;
    const Value* filter_input_ = nullptr;
    uint64_t iterations_ = 0;
    uint64_t steps_ = 0;
    std::shared_ptr<uint64_t> live_ =
        std::make_shared<uint64_t>(0); // bytes held by the values count_new tracked (shared with their deleters)
    std::chrono::steady_clock::time_point deadline_;
    int macro_depth_ = 0;
    int eval_depth_ = 0;
    std::vector<std::shared_ptr<ValueDict>> namespaces_; // cleared at the end: namespaces may form cycles
};

inline constexpr uint64_t kAllocBytesPerStep = 1024;
// The deadline is read every 2^kClockEverySteps steps: a step may walk a 1 MiB string (about a millisecond),
// so 64 of them stay well inside the deadline's tolerance, and reading the clock costs well under 1%.
inline constexpr int kClockEverySteps = 6;

// builtins.cpp
Result<Value> apply_filter(Renderer& r, const std::string& name, const Value& v, const CallArgs& args);
Result<bool> apply_test(Renderer& r, const std::string& name, const Value& v, const CallArgs& args);
// obj.name(args) for str and dict methods; a SecurityError for anything else.
Result<Value> call_method(Renderer& r, const Value& obj, const std::string& name, const CallArgs& args);
Result<Value> call_builtin(Renderer& r, Builtin b, const CallArgs& args);
// Shared Python operations.
Result<Value> binary_op(Renderer& r, const std::string& op, const Value& a, const Value& b);
Result<Value> get_item(const Value& obj, const Value& key);
Result<Value> get_attr(const Value& obj, const std::string& name);
Result<Value> slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
Result<bool> contains(Renderer& r, const Value& container, const Value& item);
// The items of a list, the keys of a dict, the characters of a string (at most max_range of them).
Result<std::vector<Value>> iterate(Renderer& r, const Value& v);
// s.find(sub, from) in linear time whatever the text (std::string::find can take len(s) * len(sub)).
size_t find_text(std::string_view s, std::string_view sub, size_t from = 0);
Status undefined_error(const Value& v);

} // namespace hearth::tmpl
