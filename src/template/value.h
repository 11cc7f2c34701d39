// template/value.h: the values a chat template computes with, with Python semantics.
//
// Jinja2 templates run on Python objects, so rendering byte for byte like Python means str(), repr(),
// ==, <, truthiness and json.dumps behave as in CPython: `{{ 1.0 }}` is "1.0", `{{ [1, 'a'] }}` is
// "[1, 'a']", dicts keep insertion order. Lists and dicts are immutable once built (transformers renders
// in an ImmutableSandboxedEnvironment) and shared by pointer, and so is the text of a string: copying a value
// never copies its data, so `[s] * 100000` costs 100000 small values, not 100000 copies of s. A namespace()
// is the only mutable value.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::tmpl {

class Value;
struct Frame;
struct MacroDef;

// Nesting: a list or dict knows how deeply it nests (1 + its deepest item), so the renderer can refuse one
// deeper than kMaxNesting before any walk of it (repr, ==, <, destruction) could overflow the C++ stack.
inline constexpr int kMaxNesting = 256;

struct ValueList {
    std::vector<Value> items;
    int depth = 1;             // set by Value::list
    bool is_tuple = false;     // repr "(a, b)"
    bool is_generator = false; // result of map/select/...: not JSON-serializable, always truthy, no len()
};

struct ValueDict {
    std::vector<std::pair<std::string, Value>> items; // insertion order, unique keys
    int depth = 1;                                    // set by Value::dict
    const Value* find(std::string_view key) const;
    void set(std::string key, Value v);
};

enum class Builtin { Range, Namespace, Dict, RaiseException, StrftimeNow, Caller };

struct Callable {
    const MacroDef* macro = nullptr; // null: a builtin
    Builtin builtin = Builtin::Range;
    std::weak_ptr<Frame> closure; // the scope a macro or caller() body reads through
};

class Value {
public:
    enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

    Value() = default; // undefined
    static Value undefined(std::string name = {});
    static Value none();
    static Value boolean(bool b);
    static Value integer(int64_t i);
    static Value real(double f);
    static Value string(std::string s);
    static Value safe_string(std::string s); // markupsafe.Markup: `+` with a plain str escapes the str
    static Value list(ValueList l);
    static Value list(std::vector<Value> items, bool is_tuple = false);
    static Value dict(ValueDict d);
    static Value ns(std::shared_ptr<ValueDict> attrs);
    static Value callable(Callable c);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::Undefined; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_bool() const { return kind_ == Kind::Bool; }
    bool is_int() const { return kind_ == Kind::Int; }
    bool is_float() const { return kind_ == Kind::Float; }
    bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_safe() const { return kind_ == Kind::String && b_; }
    bool is_list() const { return kind_ == Kind::List; }
    bool is_dict() const { return kind_ == Kind::Dict; }
    bool is_ns() const { return kind_ == Kind::Namespace; }
    bool is_callable() const { return kind_ == Kind::Callable; }

    bool as_bool() const { return b_; }
    int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; } // Int or Bool
    double as_float() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
    const std::string& as_string() const; // also the name of an undefined value; "" for other kinds
    const ValueList& as_list() const { return *list_; }
    const ValueDict& as_dict() const { return *dict_; }
    ValueDict& ns_attrs() const { return *ns_; }
    const Callable& as_callable() const { return *fn_; }

    // Bytes this value holds that no other value shares: its text, or its items (sizeof(Value) each) and
    // the unshared text of its strings. For a value just built, what building it allocated.
    size_t unshared_bytes() const;
    // Ties those bytes to `live`: they are added to it now and taken back when the last copy of this value's
    // text or items goes, so *live is what the values tracked so far hold (Renderer::count_new). Returns the
    // bytes added (0 when nothing is unshared).
    size_t track(const std::shared_ptr<uint64_t>& live);
    int depth() const; // 0 for a scalar, else how deeply its lists and dicts nest (a namespace counts 1)

private:
    Kind kind_ = Kind::Undefined;
    bool b_ = false;
    int64_t i_ = 0;
    double f_ = 0.0;
    std::shared_ptr<const std::string> s_; // String, Undefined (its name); null: ""
    std::shared_ptr<const ValueList> list_;
    std::shared_ptr<const ValueDict> dict_;
    std::shared_ptr<ValueDict> ns_;
    std::shared_ptr<const Callable> fn_;
};

// Python type name, for error messages: "str", "int", "dict", "NoneType", ...
const char* type_name(const Value& v);
bool truthy(const Value& v);
// str(v) and repr(v); undefined is "". A list or dict stops growing once its text passes max_bytes: the
// result is then longer than max_bytes, which the caller's size check refuses.
std::string to_str(const Value& v, size_t max_bytes = SIZE_MAX);
std::string repr(const Value& v, size_t max_bytes = SIZE_MAX);
std::string format_float(double f); // float.__repr__
// Comparisons walk lists and dicts (which may share items, so a small template can build one whose walk never
// ends) and compare text: each costs work, one unit per item and per kCompareBytesPerUnit bytes. `work` is
// what may still be spent; when it runs out the comparison stops with work.exhausted set and a meaningless
// result, and the caller reports a LimitError (Renderer::equal and Renderer::less do).
struct CompareWork {
    uint64_t left = UINT64_MAX;
    bool exhausted = false;
};
inline constexpr size_t kCompareBytesPerUnit = 256;
bool equals(const Value& a, const Value& b, CompareWork& work);
// a < b as Python orders ints, floats, strings and lists; other pairs are a TypeError.
Result<bool> less_than(const Value& a, const Value& b, CompareWork& work);
Value from_json(const nlohmann::ordered_json& j);

struct JsonOptions {
    bool ensure_ascii = false;
    std::string indent; // newline + this per level when has_indent
    bool has_indent = false;
    std::string item_sep = ", ";
    std::string key_sep = ": ";
    bool sort_keys = false;
    size_t max_bytes = SIZE_MAX; // a longer text is a LimitError
};
// json.dumps(v, ...) as CPython writes it.
Result<std::string> to_json(const Value& v, const JsonOptions& opts);

// Python's len() for str counts code points; these treat strings as UTF-8.
std::vector<std::string_view> utf8_chars(std::string_view s);
size_t utf8_length(std::string_view s);
std::string_view utf8_char_at(std::string_view s, size_t index); // index < utf8_length(s)

} // namespace hearth::tmpl
