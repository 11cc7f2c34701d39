// template/ops.cpp: Python operators, subscripts, iteration, globals and the whitelisted methods.
#include "template/evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace hearth::tmpl {

Status undefined_error(const Value& v) {
    return Status::error("UndefinedError: " +
                         (v.as_string().empty() ? std::string("value is undefined") : v.as_string()));
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&#34;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

static Status type_error(const std::string& msg) {
    return Status::error("TypeError: " + msg);
}

static Status unsafe(const Value& obj, const std::string& name) {
    return Status::error("SecurityError: access to attribute '" + name + "' of '" + type_name(obj) +
                         "' object is unsafe.");
}

Result<std::vector<Value>> iterate(Renderer& r, const Value& v) {
    switch (v.kind()) {
    case Value::Kind::Undefined:
        return std::vector<Value>{};
    case Value::Kind::List:
        return v.as_list().items;
    case Value::Kind::Dict: {
        std::vector<Value> keys;
        for (const auto& [k, _] : v.as_dict().items)
            keys.push_back(Value::string(k));
        return keys;
    }
    case Value::Kind::String: {
        HEARTH_TRY(r.check_list_size(utf8_length(v.as_string())));
        std::vector<Value> chars;
        for (auto c : utf8_chars(v.as_string()))
            chars.push_back(Value::string(std::string(c)));
        return chars;
    }
    default:
        return type_error(std::string("'") + type_name(v) + "' object is not iterable");
    }
}

size_t find_text(std::string_view s, std::string_view sub, size_t from) {
    if (from > s.size()) return std::string::npos;
    // A short needle costs at most len(s) * 32 compares; a long one goes through Knuth-Morris-Pratt.
    if (sub.size() <= 32) return s.find(sub, from);
    std::vector<uint32_t> border(sub.size(), 0); // border[i]: longest proper border of sub[0..i]
    for (size_t i = 1, k = 0; i < sub.size(); ++i) {
        while (k > 0 && sub[i] != sub[k])
            k = border[k - 1];
        if (sub[i] == sub[k]) ++k;
        border[i] = static_cast<uint32_t>(k);
    }
    for (size_t i = from, k = 0; i < s.size(); ++i) {
        while (k > 0 && s[i] != sub[k])
            k = border[k - 1];
        if (s[i] == sub[k]) ++k;
        if (k == sub.size()) return i + 1 - k;
    }
    return std::string::npos;
}

Result<bool> contains(Renderer& r, const Value& container, const Value& item) {
    switch (container.kind()) {
    case Value::Kind::Undefined:
        return false;
    case Value::Kind::String:
        if (!item.is_string()) {
            return type_error(std::string("'in <string>' requires string as left operand, not ") + type_name(item));
        }
        return find_text(container.as_string(), item.as_string()) != std::string::npos;
    case Value::Kind::List:
        for (const Value& v : container.as_list().items) {
            auto eq = r.equal(v, item);
            if (!eq) return eq.status();
            if (*eq) return true;
        }
        return false;
    case Value::Kind::Dict:
        HEARTH_TRY(r.count_work(1 + container.as_dict().items.size() / 16)); // a linear key lookup
        return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    default:
        return type_error(std::string("argument of type '") + type_name(container) + "' is not iterable");
    }
}

Result<Value> get_attr(const Value& obj, const std::string& name) {
    if (obj.is_undefined()) return undefined_error(obj);
    if (!name.empty() && name[0] == '_') return unsafe(obj, name);
    const Value* v = nullptr;
    if (obj.is_dict()) v = obj.as_dict().find(name);
    if (obj.is_ns()) v = obj.ns_attrs().find(name);
    if (v) return *v;
    return Value::undefined(std::string("'") + type_name(obj) + " object' has no attribute '" + name + "'");
}

static bool to_index(const Value& key, int64_t n, int64_t& idx) {
    if (!key.is_int() && !key.is_bool()) return false;
    idx = key.as_int();
    if (idx < 0) idx += n;
    return idx >= 0 && idx < n;
}

Result<Value> get_item(const Value& obj, const Value& key) {
    if (obj.is_undefined()) return undefined_error(obj);
    if (obj.is_dict() && key.is_string()) {
        if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
    }
    if (obj.is_list() && !obj.as_list().is_generator) {
        const auto& items = obj.as_list().items;
        int64_t i = 0;
        if (to_index(key, static_cast<int64_t>(items.size()), i)) return items[static_cast<size_t>(i)];
        if (key.is_int())
            return Value::undefined(std::string(type_name(obj)) + " object has no element " + to_str(key));
    }
    if (obj.is_string() && (key.is_int() || key.is_bool())) {
        const std::string& s = obj.as_string();
        int64_t i = 0;
        if (to_index(key, static_cast<int64_t>(utf8_length(s)), i))
            return Value::string(std::string(utf8_char_at(s, static_cast<size_t>(i))));
        return Value::undefined("str object has no element " + to_str(key));
    }
    if (key.is_string()) return get_attr(obj, key.as_string());
    return Value::undefined(std::string(type_name(obj)) + " object has no element " + repr(key, 1024));
}

Result<Value> slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
    if (obj.is_undefined()) return undefined_error(obj);
    for (const Value* v : {&start, &stop, &step}) {
        if (!v->is_undefined() && !v->is_none() && !v->is_int() && !v->is_bool()) {
            return type_error("slice indices must be integers or None");
        }
    }
    bool is_str = obj.is_string();
    if (!is_str && !(obj.is_list() && !obj.as_list().is_generator)) {
        return type_error(std::string("'") + type_name(obj) + "' object is not subscriptable");
    }
    std::vector<std::string_view> chars;
    if (is_str) chars = utf8_chars(obj.as_string());
    const int64_t n = is_str ? static_cast<int64_t>(chars.size()) : static_cast<int64_t>(obj.as_list().items.size());
    auto given = [](const Value& v) { return v.is_int() || v.is_bool(); };
    int64_t st = given(step) ? step.as_int() : 1;
    if (st == 0) return Status::error("ValueError: slice step cannot be zero");
    auto clamp = [&](const Value& v, int64_t dflt) {
        if (!given(v)) return dflt;
        int64_t i = v.as_int();
        if (i < 0) i = std::max<int64_t>(i + n, st < 0 ? -1 : 0);
        return std::min<int64_t>(i, st < 0 ? n - 1 : n);
    };
    int64_t b = clamp(start, st < 0 ? n - 1 : 0);
    int64_t e = clamp(stop, st < 0 ? -1 : n);
    std::vector<Value> items;
    std::string s;
    for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
        if (is_str) {
            s += chars[static_cast<size_t>(i)];
        } else {
            items.push_back(obj.as_list().items[static_cast<size_t>(i)]);
        }
    }
    if (is_str) return Value::string(std::move(s));
    return Value::list(std::move(items), obj.as_list().is_tuple);
}

static Result<Value> int_result(bool overflow, int64_t v) {
    if (overflow) return Status::error("OverflowError: integer result does not fit in 64 bits");
    return Value::integer(v);
}

static double py_fmod(double a, double b) {
    double m = std::fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

static Result<Value> repeat(Renderer& r, const Value& seq, int64_t times) {
    if (times < 0) times = 0;
    if (seq.is_string()) {
        size_t n = seq.as_string().size() * static_cast<size_t>(times);
        if (times > 0 && n / static_cast<size_t>(times) != seq.as_string().size()) n = SIZE_MAX;
        HEARTH_TRY(r.check_string_size(n));
        std::string out;
        for (int64_t i = 0; i < times; ++i)
            out += seq.as_string();
        return Value::string(std::move(out));
    }
    size_t n = seq.as_list().items.size() * static_cast<size_t>(times);
    if (times > 0 && n / static_cast<size_t>(times) != seq.as_list().items.size()) n = SIZE_MAX;
    HEARTH_TRY(r.check_list_size(n));
    std::vector<Value> out;
    for (int64_t i = 0; i < times; ++i) {
        for (const Value& v : seq.as_list().items)
            out.push_back(v);
    }
    return Value::list(std::move(out), seq.as_list().is_tuple);
}

Result<Value> binary_op(Renderer& r, const std::string& op, const Value& a, const Value& b) {
    if (op == "~") {
        const size_t max = r.limits().max_output;
        std::string xs, ys; // str() of what is not a string already
        const std::string& x = a.is_string() ? a.as_string() : (xs = to_str(a, max));
        const std::string& y = b.is_string() ? b.as_string() : (ys = to_str(b, max));
        HEARTH_TRY(r.check_string_size(x.size() + y.size()));
        std::string s;
        s.reserve(x.size() + y.size()); // exactly: what a render holds is counted by capacity
        s.append(x).append(y);
        return Value::string(std::move(s));
    }
    if (a.is_undefined()) return undefined_error(a);
    if (b.is_undefined()) return undefined_error(b);
    if (a.is_number() && b.is_number()) {
        bool fl = a.is_float() || b.is_float();
        int64_t x = a.as_int(), y = b.as_int(), z = 0;
        double fx = a.as_float(), fy = b.as_float();
        if (op == "+" || op == "-" || op == "*") {
            if (fl) return Value::real(op == "+" ? fx + fy : op == "-" ? fx - fy : fx * fy);
            bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &z)
                            : op == "-" ? __builtin_sub_overflow(x, y, &z)
                                        : __builtin_mul_overflow(x, y, &z);
            return int_result(overflow, z);
        }
        if (op == "/") {
            if (fy == 0) return Status::error("ZeroDivisionError: division by zero");
            return Value::real(fx / fy);
        }
        if (op == "//" || op == "%") {
            if (fl ? fy == 0 : y == 0) {
                return Status::error(std::string("ZeroDivisionError: ") +
                                     (op == "%" ? "modulo by zero" : "integer division or modulo by zero"));
            }
            if (fl) return Value::real(op == "%" ? py_fmod(fx, fy) : std::floor(fx / fy));
            if (x == INT64_MIN && y == -1) return int_result(true, 0);
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                --q;
                m += y;
            }
            return Value::integer(op == "%" ? m : q);
        }
        if (op == "**") {
            if (fl || y < 0) return Value::real(std::pow(fx, fy));
            int64_t acc = 1;
            for (int64_t i = 0; i < y; ++i) {
                if (__builtin_mul_overflow(acc, x, &acc)) return int_result(true, 0);
                if (acc == 0 || acc == 1) break;
                if (acc == -1) {
                    acc = ((y - i - 1) % 2 == 0) ? -1 : 1;
                    break;
                }
            }
            return Value::integer(acc);
        }
    }
    if (op == "+") {
        if (a.is_string() && b.is_string() && (a.is_safe() || b.is_safe())) {
            std::string s = (a.is_safe() ? a.as_string() : html_escape(a.as_string())) +
                            (b.is_safe() ? b.as_string() : html_escape(b.as_string()));
            HEARTH_TRY(r.check_string_size(s.size()));
            return Value::safe_string(std::move(s));
        }
        if (a.is_string() && b.is_string()) {
            HEARTH_TRY(r.check_string_size(a.as_string().size() + b.as_string().size()));
            return Value::string(a.as_string() + b.as_string());
        }
        if (a.is_list() && b.is_list() && !a.as_list().is_generator && !b.as_list().is_generator &&
            a.as_list().is_tuple == b.as_list().is_tuple) {
            HEARTH_TRY(r.check_list_size(a.as_list().items.size() + b.as_list().items.size()));
            std::vector<Value> items = a.as_list().items;
            items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
            return Value::list(std::move(items), a.as_list().is_tuple);
        }
        if (a.is_string() || (a.is_list() && !a.as_list().is_generator)) {
            return type_error(std::string("can only concatenate ") + type_name(a) + " (not \"" + type_name(b) +
                              "\") to " + type_name(a));
        }
    }
    if (op == "*") {
        bool seq_a = a.is_string() || (a.is_list() && !a.as_list().is_generator);
        bool seq_b = b.is_string() || (b.is_list() && !b.as_list().is_generator);
        if (seq_a && (b.is_int() || b.is_bool())) return repeat(r, a, b.as_int());
        if (seq_b && (a.is_int() || a.is_bool())) return repeat(r, b, a.as_int());
    }
    if (op == "%" && a.is_string()) return type_error("printf-style string formatting is not supported");
    return type_error("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

Result<Value> call_builtin(Renderer& r, Builtin b, const CallArgs& args) {
    switch (b) {
    case Builtin::Range: {
        int64_t v[3] = {0, 0, 1};
        size_t n = args.pos.size();
        if (n < 1 || n > 3 || !args.kw.empty()) return type_error("range expected 1 to 3 integer arguments");
        for (size_t i = 0; i < n; ++i) {
            if (!args.pos[i].is_int() && !args.pos[i].is_bool()) {
                return type_error(std::string("'") + type_name(args.pos[i]) +
                                  "' object cannot be interpreted as an integer");
            }
        }
        if (n == 1) {
            v[1] = args.pos[0].as_int();
        } else {
            v[0] = args.pos[0].as_int();
            v[1] = args.pos[1].as_int();
            if (n == 3) v[2] = args.pos[2].as_int();
        }
        if (v[2] == 0) return Status::error("ValueError: range() arg 3 must not be zero");
        // Count without overflow: the span as a double is exact enough to compare with the limit.
        double span = (static_cast<double>(v[1]) - static_cast<double>(v[0])) / static_cast<double>(v[2]);
        double count = span <= 0 ? 0 : std::ceil(span);
        if (count > static_cast<double>(r.limits().max_range)) {
            return Status::error("LimitError: range() of " + std::to_string(static_cast<uint64_t>(count)) +
                                 " items exceeds the limit of " + std::to_string(r.limits().max_range));
        }
        std::vector<Value> items;
        for (int64_t i = 0, x = v[0]; i < static_cast<int64_t>(count); ++i, x += v[2])
            items.push_back(Value::integer(x));
        return Value::list(std::move(items));
    }
    case Builtin::Namespace:
    case Builtin::Dict: {
        ValueDict d;
        for (const Value& p : args.pos) {
            if (!p.is_dict()) return type_error("namespace()/dict() positional argument must be a dict");
            for (const auto& [k, v] : p.as_dict().items) {
                HEARTH_TRY(r.count_work(1 + d.items.size() / 16)); // set() looks the key up linearly
                d.set(k, v);
            }
        }
        for (const auto& [k, v] : args.kw)
            d.set(k, v);
        if (b == Builtin::Dict) return Value::dict(std::move(d));
        return r.make_namespace(std::move(d));
    }
    case Builtin::RaiseException: {
        const Value* msg = args.get(0, "message");
        return Status::error("TemplateError: " + (msg ? to_str(*msg, r.limits().max_output) : std::string()));
    }
    case Builtin::StrftimeNow: {
        const Value* fmt = args.get(0, "format");
        if (!fmt || !fmt->is_string()) return type_error("strftime_now() needs a format string");
        if (fmt->as_string().size() > 256) return Status::error("ValueError: strftime format too long");
        std::tm tm = r.now();
        char buf[1024];
        size_t n = std::strftime(buf, sizeof(buf), fmt->as_string().c_str(), &tm);
        return Value::string(std::string(buf, n));
    }
    case Builtin::Caller:
        break;
    }
    return type_error("not callable");
}

// ---- methods ----

static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
}

std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
    bool strip[256] = {};
    for (int c = 0; c < 256; ++c)
        strip[c] = is_ws(static_cast<char>(c));
    if (chars && chars->is_string()) {
        std::fill(std::begin(strip), std::end(strip), false);
        for (char c : chars->as_string())
            strip[static_cast<unsigned char>(c)] = true;
    }
    auto strip_char = [&](char c) { return strip[static_cast<unsigned char>(c)]; };
    size_t b = 0, e = s.size();
    if (left) {
        while (b < e && strip_char(s[b]))
            ++b;
    }
    if (right) {
        while (e > b && strip_char(s[e - 1]))
            --e;
    }
    return s.substr(b, e - b);
}

// str.split; more than max_items parts is a LimitError.
static Result<std::vector<Value>> py_split(const std::string& s, const Value* sep, int64_t maxsplit, size_t max_items) {
    std::vector<Value> out;
    auto too_many = [&] {
        return Status::error("LimitError: split() gives more than " + std::to_string(max_items) + " parts");
    };
    if (!sep || sep->is_none()) {
        size_t i = 0;
        while (true) {
            while (i < s.size() && is_ws(s[i]))
                ++i;
            if (i >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
                std::string rest = s.substr(i);
                while (!rest.empty() && is_ws(rest.back()))
                    rest.pop_back();
                out.push_back(Value::string(rest));
                break;
            }
            size_t j = i;
            while (j < s.size() && !is_ws(s[j]))
                ++j;
            if (out.size() >= max_items) return too_many();
            out.push_back(Value::string(s.substr(i, j - i)));
            i = j;
        }
        return out;
    }
    const std::string& d = sep->as_string();
    size_t start = 0;
    while (true) {
        size_t at = find_text(s, d, start);
        if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) break;
        if (out.size() >= max_items) return too_many();
        out.push_back(Value::string(s.substr(start, at - start)));
        start = at + d.size();
    }
    out.push_back(Value::string(s.substr(start)));
    return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                       size_t max_bytes) {
    std::string out;
    size_t pos = 0;
    int64_t done = 0;
    if (from.empty()) {
        // Python inserts `to` between every character (and at both ends).
        auto chars = utf8_chars(s);
        for (size_t i = 0; i <= chars.size() && out.size() <= max_bytes; ++i) {
            if (count < 0 || done < count) {
                out += to;
                ++done;
            }
            if (i < chars.size()) out += chars[i];
        }
        return out;
    }
    while ((count < 0 || done < count) && out.size() <= max_bytes) {
        size_t at = find_text(s, from, pos);
        if (at == std::string::npos) break;
        out.append(s, pos, at - pos);
        out += to;
        pos = at + from.size();
        ++done;
    }
    out.append(s, pos, std::string::npos);
    return out;
}

std::string ascii_upper(std::string s) {
    for (char& c : s) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    return s;
}
std::string ascii_lower(std::string s) {
    for (char& c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return s;
}

static bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80;
}

// str.title(): a letter after a non-letter is upper-cased, the others lower-cased.
static std::string py_title(const std::string& s) {
    std::string out;
    bool prev_alpha = false;
    for (char c : s) {
        std::string one(1, c);
        out += prev_alpha ? ascii_lower(one) : ascii_upper(one);
        prev_alpha = is_alpha(c);
    }
    return out;
}

static Result<bool> affix_match(const std::string& s, const Value& arg, bool prefix) {
    std::vector<Value> options;
    if (arg.is_string()) {
        options.push_back(arg);
    } else if (arg.is_list() && arg.as_list().is_tuple) {
        options = arg.as_list().items;
    } else {
        return type_error(std::string(prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str");
    }
    for (const Value& o : options) {
        if (!o.is_string()) return type_error("tuple for startswith/endswith must only contain str");
        const std::string& a = o.as_string();
        if (a.size() <= s.size() &&
            (prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0))
            return true;
    }
    return false;
}

// One replacement field's value: "", "0", "name", then any ".attr" / "[key]" steps.
static Result<Value> format_field(const std::string& field, const CallArgs& args, size_t& next_auto, int& numbering) {
    size_t end = field.find_first_of(".[");
    const std::string first = field.substr(0, end);
    Value v;
    if (first.empty() || std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        const int mode = first.empty() ? 1 : 2; // automatic or manual numbering, never both (as in Python)
        if (numbering && numbering != mode)     // Python's string.Formatter says this for both directions
            return Status::error(
                "ValueError: cannot switch from manual field specification to automatic field numbering");
        numbering = mode;
        const size_t i = first.empty() ? next_auto++ : std::strtoull(first.c_str(), nullptr, 10);
        if (first.size() > 6 || i >= args.pos.size()) return Status::error("IndexError: tuple index out of range");
        v = args.pos[i];
    } else {
        const Value* kw = args.get(SIZE_MAX, first);
        if (!kw) return Status::error("KeyError: '" + first + "'");
        v = *kw;
    }
    while (end != std::string::npos) {
        if (field[end] == '.') {
            size_t next = field.find_first_of(".[", end + 1);
            std::string attr = field.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1);
            if (attr.empty() || attr[0] == '_') return unsafe(v, attr);
            auto a = get_attr(v, attr);
            if (!a) return a.status();
            v = std::move(*a);
            end = next;
        } else {
            size_t close = field.find(']', end);
            if (close == std::string::npos) return Status::error("ValueError: Missing ']' in format string");
            std::string key = field.substr(end + 1, close - end - 1);
            const bool digits =
                !key.empty() && std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
            auto item =
                get_item(v, digits ? Value::integer(std::strtoll(key.c_str(), nullptr, 10)) : Value::string(key));
            if (!item) return item.status();
            v = std::move(*item);
            end = close + 1 < field.size() ? close + 1 : std::string::npos;
            if (end != std::string::npos && field[end] != '.' && field[end] != '[')
                return Status::error("ValueError: Only '.' or '[' may follow ']' in format field specifier");
        }
    }
    return v;
}

// format(v, spec) for the specs templates use: [[fill]align][width] on str(v), for any value.
static Result<std::string> format_spec(const std::string& text, const std::string& spec) {
    if (spec.empty()) return text;
    std::vector<std::string_view> sc = utf8_chars(spec);
    size_t i = 0;
    std::string fill = " ";
    char align = '<';
    auto is_align = [](std::string_view c) { return c == "<" || c == ">" || c == "^"; };
    if (sc.size() >= 2 && is_align(sc[1])) {
        fill = std::string(sc[0]);
        align = sc[1][0];
        i = 2;
    } else if (!sc.empty() && is_align(sc[0])) {
        align = sc[0][0];
        i = 1;
    }
    size_t width = 0;
    for (; i < sc.size() && sc[i].size() == 1 && sc[i][0] >= '0' && sc[i][0] <= '9'; ++i) {
        width = width * 10 + static_cast<size_t>(sc[i][0] - '0');
        if (width > 4096) return Status::error("ValueError: format width too large in a chat template");
    }
    if (i != sc.size())
        return Status::error("ValueError: format spec '" + spec + "' is not supported in chat templates");
    const size_t n = utf8_length(text);
    if (n >= width) return text;
    const size_t pad = width - n, left = align == '>' ? pad : align == '^' ? pad / 2 : 0;
    std::string out;
    for (size_t k = 0; k < left; ++k)
        out += fill;
    out += text;
    for (size_t k = left; k < pad; ++k)
        out += fill;
    return out;
}

// str.format as jinja2's sandbox runs it: "{}", "{0}", "{name}", ".attr"/"[key]" steps (attributes checked
// like any other access), "!s"/"!r" conversions, "{{"/"}}" escapes and fill/align/width specs.
static Result<Value> py_format(Renderer& r, const std::string& s, const CallArgs& args) {
    std::string out;
    size_t next_auto = 0;
    int numbering = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '}') {
            if (i + 1 < s.size() && s[i + 1] == '}') {
                out += '}';
                ++i;
                continue;
            }
            return Status::error("ValueError: Single '}' encountered in format string");
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < s.size() && s[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        size_t close = s.find('}', i + 1);
        if (close == std::string::npos) return Status::error("ValueError: Single '{' encountered in format string");
        std::string field = s.substr(i + 1, close - i - 1);
        if (field.find('{') != std::string::npos)
            return Status::error("ValueError: nested format fields are not supported in chat templates");
        std::string spec, conv;
        if (size_t colon = field.find(':'); colon != std::string::npos) {
            spec = field.substr(colon + 1);
            field.resize(colon);
        }
        if (size_t bang = field.find('!'); bang != std::string::npos) {
            conv = field.substr(bang + 1);
            field.resize(bang);
            if (conv != "s" && conv != "r") return Status::error("ValueError: Unknown conversion specifier " + conv);
        }
        auto v = format_field(field, args, next_auto, numbering);
        if (!v) return v.status();
        const size_t max = r.limits().max_output;
        auto text = format_spec(conv == "r" ? repr(*v, max) : to_str(*v, max), spec);
        if (!text) return text.status();
        out += *text;
        HEARTH_TRY(r.check_string_size(out.size()));
        i = close;
    }
    return Value::string(std::move(out));
}

Result<Value> call_method(Renderer& r, const Value& obj, const std::string& name, const CallArgs& args) {
    if (obj.is_string()) {
        const std::string& s = obj.as_string();
        if (name == "format") return py_format(r, s, args);
        const Value* a0 = args.get(0, "");
        if (name == "strip" || name == "lstrip" || name == "rstrip") {
            return Value::string(py_strip(s, a0, name != "rstrip", name != "lstrip"));
        }
        if (name == "upper") return Value::string(ascii_upper(s));
        if (name == "lower") return Value::string(ascii_lower(s));
        if (name == "title") return Value::string(py_title(s));
        if (name == "capitalize")
            return Value::string(ascii_upper(s.substr(0, 1)) + ascii_lower(s.substr(s.empty() ? 0 : 1)));
        if (name == "split" || name == "rsplit") {
            const Value* sep = args.get(0, "sep");
            const Value* max = args.get(1, "maxsplit");
            if (sep && !sep->is_none() && (!sep->is_string() || sep->as_string().empty())) {
                return Status::error("ValueError: empty or non-string separator");
            }
            auto parts = py_split(s, sep, max && max->is_int() ? max->as_int() : -1,
                                  static_cast<size_t>(std::max<int64_t>(r.limits().max_range, 0)));
            if (!parts) return parts.status();
            return Value::list(std::move(*parts));
        }
        if (name == "startswith" || name == "endswith") {
            if (!a0) return type_error(name + "() takes at least 1 argument (0 given)");
            auto m = affix_match(s, *a0, name == "startswith");
            if (!m) return m.status();
            return Value::boolean(*m);
        }
        if (name == "replace") {
            const Value* a1 = args.get(1, "");
            const Value* cnt = args.get(2, "count");
            if (!a0 || !a1 || !a0->is_string() || !a1->is_string())
                return type_error("replace() arguments must be str");
            std::string out = py_replace(s, a0->as_string(), a1->as_string(), cnt && cnt->is_int() ? cnt->as_int() : -1,
                                         r.limits().max_output);
            HEARTH_TRY(r.check_string_size(out.size()));
            return Value::string(std::move(out));
        }
        if (name == "find" || name == "count") {
            if (!a0 || !a0->is_string()) return type_error(name + "() argument must be str");
            if (name == "find") {
                size_t at = find_text(s, a0->as_string());
                return Value::integer(at == std::string::npos ? -1
                                                              : static_cast<int64_t>(utf8_length(s.substr(0, at))));
            }
            int64_t n = 0;
            if (a0->as_string().empty()) return Value::integer(static_cast<int64_t>(utf8_length(s)) + 1);
            for (size_t at = find_text(s, a0->as_string()); at != std::string::npos;
                 at = find_text(s, a0->as_string(), at + a0->as_string().size()))
                ++n;
            return Value::integer(n);
        }
    } else if (obj.is_dict()) {
        const ValueDict& d = obj.as_dict();
        if (name == "items" || name == "keys" || name == "values") {
            std::vector<Value> out;
            for (const auto& [k, v] : d.items) {
                if (name == "items") out.push_back(Value::list({Value::string(k), v}, true));
                if (name == "keys") out.push_back(Value::string(k));
                if (name == "values") out.push_back(v);
            }
            return Value::list(std::move(out));
        }
        if (name == "get") {
            const Value* key = args.get(0, "key");
            const Value* dflt = args.get(1, "default");
            if (!key) return type_error("get expected at least 1 argument, got 0");
            if (key->is_string()) {
                if (const Value* v = d.find(key->as_string())) return *v;
            }
            return dflt ? *dflt : Value::none();
        }
    }
    return unsafe(obj, name);
}

} // namespace hearth::tmpl
