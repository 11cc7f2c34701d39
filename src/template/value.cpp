// template/value.cpp: Python semantics for template values (str, repr, ==, <, json.dumps).
#include "template/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace hearth::tmpl {

const Value* ValueDict::find(std::string_view key) const {
    for (const auto& [k, v] : items) {
        if (k == key) return &v;
    }
    return nullptr;
}

void ValueDict::set(std::string key, Value v) {
    for (auto& [k, old] : items) {
        if (k == key) {
            old = std::move(v);
            return;
        }
    }
    items.emplace_back(std::move(key), std::move(v));
}

Value Value::undefined(std::string name) {
    Value v;
    if (!name.empty()) v.s_ = std::make_shared<const std::string>(std::move(name));
    return v;
}
Value Value::none() {
    Value v;
    v.kind_ = Kind::None;
    return v;
}
Value Value::boolean(bool b) {
    Value v;
    v.kind_ = Kind::Bool;
    v.b_ = b;
    return v;
}
Value Value::integer(int64_t i) {
    Value v;
    v.kind_ = Kind::Int;
    v.i_ = i;
    return v;
}
Value Value::real(double f) {
    Value v;
    v.kind_ = Kind::Float;
    v.f_ = f;
    return v;
}
Value Value::string(std::string s) {
    Value v;
    v.kind_ = Kind::String;
    if (!s.empty()) v.s_ = std::make_shared<const std::string>(std::move(s));
    return v;
}
Value Value::safe_string(std::string s) {
    Value v = string(std::move(s));
    v.b_ = true;
    return v;
}
Value Value::list(ValueList l) {
    for (const Value& item : l.items)
        l.depth = std::max(l.depth, item.depth() + 1);
    Value v;
    v.kind_ = Kind::List;
    v.list_ = std::make_shared<const ValueList>(std::move(l));
    return v;
}
Value Value::list(std::vector<Value> items, bool is_tuple) {
    ValueList l;
    l.items = std::move(items);
    l.is_tuple = is_tuple;
    return list(std::move(l));
}
Value Value::dict(ValueDict d) {
    for (const auto& [k, item] : d.items)
        d.depth = std::max(d.depth, item.depth() + 1);
    Value v;
    v.kind_ = Kind::Dict;
    v.dict_ = std::make_shared<const ValueDict>(std::move(d));
    return v;
}
Value Value::ns(std::shared_ptr<ValueDict> attrs) {
    Value v;
    v.kind_ = Kind::Namespace;
    v.ns_ = std::move(attrs);
    return v;
}
Value Value::callable(Callable c) {
    Value v;
    v.kind_ = Kind::Callable;
    v.fn_ = std::make_shared<const Callable>(std::move(c));
    return v;
}

const std::string& Value::as_string() const {
    static const std::string empty;
    return s_ ? *s_ : empty;
}

size_t Value::unshared_bytes() const {
    // What the heap holds: capacities, not sizes (a string built by appending may hold twice its size).
    auto text = [](const Value& v) -> size_t { return v.s_ && v.s_.use_count() == 1 ? v.s_->capacity() : 0; };
    switch (kind_) {
    case Kind::String:
        return text(*this);
    case Kind::List: {
        if (list_.use_count() != 1) return 0;
        size_t n = list_->items.capacity() * sizeof(Value);
        for (const Value& item : list_->items)
            n += text(item);
        return n;
    }
    case Kind::Dict: {
        if (dict_.use_count() != 1) return 0;
        size_t n = dict_->items.capacity() * sizeof(std::pair<std::string, Value>);
        for (const auto& [k, item] : dict_->items)
            n += k.capacity() + text(item);
        return n;
    }
    default:
        return 0;
    }
}

int Value::depth() const {
    switch (kind_) {
    case Kind::List:
        return list_->depth;
    case Kind::Dict:
        return dict_->depth;
    case Kind::Namespace:
        return 1; // mutable, possibly cyclic: walks of it (repr) bound their own depth
    default:
        return 0;
    }
}

namespace {

// The same object, owned through a new control block whose deleter gives `bytes` back to `live` before
// the old owner lets it go.
template <typename T>
std::shared_ptr<const T> tracked(std::shared_ptr<const T> p, const std::shared_ptr<uint64_t>& live, size_t bytes) {
    const T* raw = p.get();
    return std::shared_ptr<const T>(raw, [p = std::move(p), live, bytes](const T*) mutable {
        *live -= bytes;
        p.reset();
    });
}

} // namespace

size_t Value::track(const std::shared_ptr<uint64_t>& live) {
    const size_t bytes = unshared_bytes();
    if (bytes == 0) return 0;
    *live += bytes;
    if (kind_ == Kind::String) s_ = tracked(std::move(s_), live, bytes);
    if (kind_ == Kind::List) list_ = tracked(std::move(list_), live, bytes);
    if (kind_ == Kind::Dict) dict_ = tracked(std::move(dict_), live, bytes);
    return bytes;
}

const char* type_name(const Value& v) {
    switch (v.kind()) {
    case Value::Kind::Undefined:
        return "Undefined";
    case Value::Kind::None:
        return "NoneType";
    case Value::Kind::Bool:
        return "bool";
    case Value::Kind::Int:
        return "int";
    case Value::Kind::Float:
        return "float";
    case Value::Kind::String:
        return "str";
    case Value::Kind::List:
        return v.as_list().is_generator ? "generator" : (v.as_list().is_tuple ? "tuple" : "list");
    case Value::Kind::Dict:
        return "dict";
    case Value::Kind::Namespace:
        return "Namespace";
    case Value::Kind::Callable:
        return "Macro";
    }
    return "object";
}

bool truthy(const Value& v) {
    switch (v.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None:
        return false;
    case Value::Kind::Bool:
        return v.as_bool();
    case Value::Kind::Int:
        return v.as_int() != 0;
    case Value::Kind::Float:
        return v.as_float() != 0.0;
    case Value::Kind::String:
        return !v.as_string().empty();
    case Value::Kind::List:
        return v.as_list().is_generator || !v.as_list().items.empty();
    case Value::Kind::Dict:
        return !v.as_dict().items.empty();
    case Value::Kind::Namespace:
    case Value::Kind::Callable:
        return true;
    }
    return false;
}

std::string format_float(double f) {
    if (std::isnan(f)) return "nan";
    if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    // sci is "-d.ddde+XX": split sign, digits and exponent.
    std::string sign;
    size_t pos = 0;
    if (sci[0] == '-') {
        sign = "-";
        pos = 1;
    }
    size_t epos = sci.find('e');
    std::string digits;
    for (size_t i = pos; i < epos; ++i) {
        if (sci[i] != '.') digits += sci[i];
    }
    int exp = std::stoi(sci.substr(epos + 1));
    if (exp >= -4 && exp < 16) {
        std::string out;
        if (exp >= 0) {
            std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
            while (int_part.size() < static_cast<size_t>(exp + 1))
                int_part += '0';
            std::string frac = digits.size() > static_cast<size_t>(exp + 1) ? digits.substr(exp + 1) : "0";
            out = int_part + "." + frac;
        } else {
            out = "0." + std::string(-exp - 1, '0') + digits;
        }
        return sign + out;
    }
    std::string mant = digits.substr(0, 1);
    if (digits.size() > 1) mant += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return sign + mant + ebuf;
}

static std::string repr_string(const std::string& s) {
    char quote = '\'';
    if (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) quote = '"';
    std::string out(1, quote);
    for (unsigned char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == static_cast<unsigned char>(quote)) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += quote;
    return out;
}

namespace {

// repr, stopping once the text passes max_bytes; a walk deeper than kMaxNesting (a namespace holding itself)
// prints "...", as Python prints a recursive container.
std::string repr_at(const Value& v, size_t max_bytes, int depth) {
    if (depth > kMaxNesting) return "...";
    auto items = [&](std::string out, const auto& pairs, const char* close) {
        bool first = true;
        for (const auto& [k, val] : pairs) {
            if (out.size() > max_bytes) break;
            if (!first) out += ", ";
            first = false;
            out += repr_string(k) + ": " + repr_at(val, max_bytes - std::min(max_bytes, out.size()), depth + 1);
        }
        return out + close;
    };
    switch (v.kind()) {
    case Value::Kind::Undefined:
        return "Undefined";
    case Value::Kind::String:
        return repr_string(v.as_string());
    case Value::Kind::List: {
        const ValueList& l = v.as_list();
        if (l.is_generator) return "<generator object>";
        std::string out = l.is_tuple ? "(" : "[";
        for (size_t i = 0; i < l.items.size() && out.size() <= max_bytes; ++i) {
            if (i) out += ", ";
            out += repr_at(l.items[i], max_bytes - std::min(max_bytes, out.size()), depth + 1);
        }
        if (l.is_tuple && l.items.size() == 1) out += ",";
        out += l.is_tuple ? ")" : "]";
        return out;
    }
    case Value::Kind::Dict:
        return items("{", v.as_dict().items, "}");
    case Value::Kind::Namespace:
        return items("<Namespace {", v.ns_attrs().items, "}>");
    default:
        return to_str(v);
    }
}

} // namespace

std::string repr(const Value& v, size_t max_bytes) {
    return repr_at(v, max_bytes, 0);
}

std::string to_str(const Value& v, size_t max_bytes) {
    switch (v.kind()) {
    case Value::Kind::Undefined:
        return "";
    case Value::Kind::None:
        return "None";
    case Value::Kind::Bool:
        return v.as_bool() ? "True" : "False";
    case Value::Kind::Int:
        return std::to_string(v.as_int());
    case Value::Kind::Float:
        return format_float(v.as_float());
    case Value::Kind::String:
        return v.as_string();
    case Value::Kind::Callable:
        return "<Macro>";
    default:
        return repr(v, max_bytes);
    }
}

namespace {

// Takes `units` from the comparison's work; false (and exhausted) when there is not that much left.
bool spend(CompareWork& w, uint64_t units) {
    if (w.exhausted || units > w.left) {
        w.left = 0;
        w.exhausted = true;
        return false;
    }
    w.left -= units;
    return true;
}

uint64_t text_units(const std::string& a, const std::string& b) {
    return 1 + std::min(a.size(), b.size()) / kCompareBytesPerUnit;
}

} // namespace

bool equals(const Value& a, const Value& b, CompareWork& work) {
    if (!spend(work, 1)) return false;
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None:
        return true;
    case Value::Kind::String:
        if (&a.as_string() == &b.as_string()) return true; // one shared text
        if (a.as_string().size() != b.as_string().size()) return false;
        return spend(work, text_units(a.as_string(), b.as_string())) && a.as_string() == b.as_string();
    case Value::Kind::List: {
        const ValueList& x = a.as_list();
        const ValueList& y = b.as_list();
        if (&x == &y) return true; // as Python's list ==, which takes an item as equal to itself
        if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
        if (x.is_generator || y.is_generator) return false;
        for (size_t i = 0; i < x.items.size(); ++i) {
            if (!equals(x.items[i], y.items[i], work)) return false;
        }
        return true;
    }
    case Value::Kind::Dict: {
        const ValueDict& x = a.as_dict();
        const ValueDict& y = b.as_dict();
        if (&x == &y) return true;
        if (x.items.size() != y.items.size()) return false;
        for (const auto& [k, v] : x.items) {
            if (!spend(work, 1 + y.items.size() / 16)) return false; // the key lookup walks y
            const Value* o = y.find(k);
            if (!o || !equals(v, *o, work)) return false;
        }
        return true;
    }
    case Value::Kind::Namespace:
        return &a.ns_attrs() == &b.ns_attrs();
    case Value::Kind::Callable:
        return &a.as_callable() == &b.as_callable();
    default:
        return false;
    }
}

Result<bool> less_than(const Value& a, const Value& b, CompareWork& work) {
    if (!spend(work, 1)) return false;
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() < b.as_float();
        return a.as_int() < b.as_int();
    }
    if (a.is_string() && b.is_string()) {
        if (&a.as_string() == &b.as_string()) return false;
        return spend(work, text_units(a.as_string(), b.as_string())) && a.as_string() < b.as_string();
    }
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple && !a.as_list().is_generator &&
        !b.as_list().is_generator) {
        const auto& x = a.as_list().items;
        const auto& y = b.as_list().items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (equals(x[i], y[i], work)) continue;
            if (work.exhausted) return false;
            return less_than(x[i], y[i], work);
        }
        return x.size() < y.size();
    }
    return Status::error(std::string("TypeError: '<' not supported between instances of '") + type_name(a) + "' and '" +
                         type_name(b) + "'");
}

Value from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
        return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
        return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
        return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
        uint64_t u = j.get<uint64_t>();
        if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::integer(static_cast<int64_t>(u));
        return Value::real(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
        return Value::real(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
        return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
        std::vector<Value> items;
        items.reserve(j.size());
        for (const auto& e : j)
            items.push_back(from_json(e));
        return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
        ValueDict d;
        for (auto it = j.begin(); it != j.end(); ++it)
            d.set(it.key(), from_json(it.value()));
        return Value::dict(std::move(d));
    }
    default:
        return Value::none();
    }
}

// Decodes one UTF-8 code point at s[i]; returns its length (1 for an invalid byte, cp = the byte).
static size_t decode_utf8(std::string_view s, size_t i, uint32_t& cp) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
        cp = c;
        return 1;
    }
    cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc >> 6) != 2) {
            cp = c;
            return 1;
        }
        cp = (cp << 6) | (cc & 0x3f);
    }
    return n;
}

std::vector<std::string_view> utf8_chars(std::string_view s) {
    std::vector<std::string_view> out;
    for (size_t i = 0; i < s.size();) {
        uint32_t cp;
        size_t n = decode_utf8(s, i, cp);
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

size_t utf8_length(std::string_view s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); ++n) {
        uint32_t cp;
        i += decode_utf8(s, i, cp);
    }
    return n;
}

std::string_view utf8_char_at(std::string_view s, size_t index) {
    size_t i = 0;
    for (size_t k = 0; i < s.size(); ++k) {
        uint32_t cp;
        const size_t n = decode_utf8(s, i, cp);
        if (k == index) return s.substr(i, n);
        i += n;
    }
    return {};
}

static void json_string(std::string_view s, bool ensure_ascii, std::string& out) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        char buf[16];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\b') {
            out += "\\b";
        } else if (c == '\f') {
            out += "\\f";
        } else if (c < 0x20) {
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out += buf;
        } else if (c >= 0x80 && ensure_ascii) {
            uint32_t cp;
            i += decode_utf8(s, i, cp);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            } else {
                std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
            }
            out += buf;
            continue;
        } else {
            out += static_cast<char>(c);
        }
        ++i;
    }
    out += '"';
}

static Status json_value(const Value& v, const JsonOptions& o, int level, std::string& out) {
    if (level > kMaxNesting) return Status::error("ValueError: value too deeply nested for tojson");
    const size_t indent_bytes = o.has_indent ? (static_cast<size_t>(level) + 1) * o.indent.size() : 0;
    if (out.size() > o.max_bytes || indent_bytes > o.max_bytes) {
        return Status::error("LimitError: tojson text exceeds " + std::to_string(o.max_bytes) + " bytes");
    }
    std::string nl_in, nl_out;
    if (o.has_indent) {
        nl_out = "\n";
        for (int i = 0; i < level; ++i)
            nl_out += o.indent;
        nl_in = nl_out + o.indent;
    }
    switch (v.kind()) {
    case Value::Kind::None:
        out += "null";
        return Status::ok();
    case Value::Kind::Bool:
        out += v.as_bool() ? "true" : "false";
        return Status::ok();
    case Value::Kind::Int:
        out += std::to_string(v.as_int());
        return Status::ok();
    case Value::Kind::Float: {
        double f = v.as_float();
        out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f < 0 ? "-Infinity" : "Infinity") : format_float(f);
        return Status::ok();
    }
    case Value::Kind::String:
        json_string(v.as_string(), o.ensure_ascii, out);
        return Status::ok();
    case Value::Kind::List: {
        const ValueList& l = v.as_list();
        if (l.is_generator) break;
        if (l.items.empty()) {
            out += "[]";
            return Status::ok();
        }
        out += "[" + nl_in;
        for (size_t i = 0; i < l.items.size(); ++i) {
            if (i) out += o.item_sep + nl_in;
            HEARTH_TRY(json_value(l.items[i], o, level + 1, out));
        }
        out += nl_out + "]";
        return Status::ok();
    }
    case Value::Kind::Dict: {
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& kv : v.as_dict().items)
            items.push_back(&kv);
        if (o.sort_keys) {
            std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
        }
        if (items.empty()) {
            out += "{}";
            return Status::ok();
        }
        out += "{" + nl_in;
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) out += o.item_sep + nl_in;
            json_string(items[i]->first, o.ensure_ascii, out);
            out += o.key_sep;
            HEARTH_TRY(json_value(items[i]->second, o, level + 1, out));
        }
        out += nl_out + "}";
        return Status::ok();
    }
    default:
        break;
    }
    return Status::error(std::string("TypeError: Object of type ") + type_name(v) + " is not JSON serializable");
}

Result<std::string> to_json(const Value& v, const JsonOptions& opts) {
    std::string out;
    HEARTH_TRY(json_value(v, opts, 0, out));
    if (out.size() > opts.max_bytes) {
        return Status::error("LimitError: tojson text exceeds " + std::to_string(opts.max_bytes) + " bytes");
    }
    return out;
}

} // namespace hearth::tmpl
