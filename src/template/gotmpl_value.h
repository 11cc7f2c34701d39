// template/gotmpl_value.h: values, printing and builtin functions of the Go template interpreter
// (internal to gotmpl*.cpp).
//
// A Value is a read-only view of JSON: a pointer into the caller's data or the parse tree, or into
// a JSON value it shares ownership of; arrays carry a [begin, end) window so `slice` copies nothing.
// A default Value is "missing" (a key that does not exist), which Go would call an invalid value.
#pragma once

#include "template/gotmpl.h"
#include "template/gotmpl_ast.h"

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace hearth::gotmpl {

class Value {
public:
    Value() = default; // missing
    static Value of(const Json& j) {
        Value v;
        v.p_ = &j;
        v.end_ = j.is_array() ? j.size() : 0;
        return v;
    }
    static Value own(Json j) {
        Value v;
        v.owned_ = std::make_shared<const Json>(std::move(j));
        v.p_ = v.owned_.get();
        v.end_ = v.p_->is_array() ? v.p_->size() : 0;
        return v;
    }
    // A value inside this one (an element or member), keeping this one's storage alive.
    Value child(const Json& c) const {
        Value v = *this;
        v.p_ = &c;
        v.begin_ = 0;
        v.end_ = c.is_array() ? c.size() : 0;
        return v;
    }
    // Elements [b, e) of this array, relative to its window.
    Value window(size_t b, size_t e) const {
        Value v = *this;
        v.begin_ = begin_ + b;
        v.end_ = begin_ + e;
        return v;
    }

    bool missing() const { return p_ == nullptr; }
    bool nil() const { return p_ == nullptr || p_->is_null(); } // Go's invalid value
    bool is_array() const { return p_ && p_->is_array(); }
    const Json& json() const { return *p_; }                      // not missing; for arrays ignore the window
    size_t size() const { return end_ - begin_; }                 // arrays
    Value at(size_t i) const { return child((*p_)[begin_ + i]); } // arrays, i < size()

private:
    const Json* p_ = nullptr;
    std::shared_ptr<const Json> owned_;
    size_t begin_ = 0, end_ = 0;
};

// Go's basic kinds, for comparisons; Int covers int and uint.
enum class Kind { Invalid, Bool, Int, Float, String, Array, Object };
Kind kind_of(const Value& v);
bool truth(const Value& v);
std::string type_name(const Value& v); // "string", "int", "float64", "[]interface {}", ...

// An error from a builtin; the interpreter prefixes "error calling NAME: ".
struct FuncError {
    std::string msg;
};

struct FuncEnv {
    const GoTemplateOptions& options;
};

// fmt's %v: nil is "<nil>", lists "[a b]", objects "map[k:v]" (or JSON with objects_as_json).
void format_value(std::string& out, const Value& v, bool objects_as_json);
// Go's json.Marshal.
void encode_json(std::string& out, const Value& v);
// Calls builtin `name` (not and/or, which the interpreter short-circuits) on evaluated arguments.
Value call_builtin(std::string_view name, std::span<const Value> args, const FuncEnv& env);

} // namespace hearth::gotmpl
