// template/gotmpl_funcs.cpp: value printing (fmt's %v and printf), Go's json.Marshal, and the builtin
// functions of text/template plus Ollama's json/toJson/currentDate.
#include "base/utf8.h"
#include "template/gotmpl_value.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace hearth::gotmpl {

Kind kind_of(const Value& v) {
    if (v.nil()) return Kind::Invalid;
    const Json& j = v.json();
    if (j.is_boolean()) return Kind::Bool;
    if (j.is_number_integer()) return Kind::Int;
    if (j.is_number_float()) return Kind::Float;
    if (j.is_string()) return Kind::String;
    if (j.is_array()) return Kind::Array;
    return Kind::Object;
}

bool truth(const Value& v) {
    switch (kind_of(v)) {
    case Kind::Invalid:
        return false;
    case Kind::Bool:
        return v.json().get<bool>();
    case Kind::Int:
        return v.json().is_number_unsigned() ? v.json().get<uint64_t>() != 0 : v.json().get<int64_t>() != 0;
    case Kind::Float:
        return v.json().get<double>() != 0;
    case Kind::String:
        return !v.json().get_ref<const std::string&>().empty();
    case Kind::Array:
        return v.size() != 0;
    case Kind::Object:
        return !v.json().empty();
    }
    return false;
}

std::string type_name(const Value& v) {
    switch (kind_of(v)) {
    case Kind::Invalid:
        return "<nil>";
    case Kind::Bool:
        return "bool";
    case Kind::Int:
        return "int";
    case Kind::Float:
        return "float64";
    case Kind::String:
        return "string";
    case Kind::Array:
        return "[]interface {}";
    case Kind::Object:
        return "map[string]interface {}";
    }
    return "?";
}

namespace {

const std::string& str(const Value& v) {
    return v.json().get_ref<const std::string&>();
}

// Integers as int64 (uint64 above INT64_MAX saturates; JSON data rarely holds such numbers).
int64_t as_int(const Value& v) {
    const Json& j = v.json();
    if (j.is_number_unsigned()) {
        auto u = j.get<uint64_t>();
        return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
    }
    return j.get<int64_t>();
}

// Shortest round-trip digits of d: {negative, digits, decimal exponent of the first digit}.
struct Digits {
    bool neg;
    std::string digits;
    int exp;
};
Digits shortest_digits(double d) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
    Digits out{false, "", 0};
    if (!s.empty() && s[0] == '-') out.neg = true, s.remove_prefix(1);
    size_t e = s.find('e');
    for (char c : s.substr(0, e))
        if (c != '.') out.digits += c;
    std::string_view es = s.substr(e + 1);
    if (!es.empty() && es[0] == '+') es.remove_prefix(1);
    std::from_chars(es.data(), es.data() + es.size(), out.exp);
    return out;
}

std::string fixed_from_digits(const Digits& d) {
    std::string s = d.neg ? "-" : "";
    if (d.exp < 0) {
        s += "0." + std::string(static_cast<size_t>(-d.exp - 1), '0') + d.digits;
    } else {
        auto int_len = static_cast<size_t>(d.exp) + 1;
        if (d.digits.size() <= int_len) {
            s += d.digits + std::string(int_len - d.digits.size(), '0');
        } else {
            s += d.digits.substr(0, int_len) + "." + d.digits.substr(int_len);
        }
    }
    return s;
}

std::string exp_from_digits(const Digits& d, bool json_style) {
    std::string s = d.neg ? "-" : "";
    s += d.digits.substr(0, 1);
    if (d.digits.size() > 1) s += "." + d.digits.substr(1);
    int e = d.exp;
    s += e < 0 ? "e-" : "e+";
    std::string es = std::to_string(std::abs(e));
    if (es.size() < 2 && !(json_style && e < 0)) es = "0" + es;
    return s + es;
}

// %v / strconv 'g' with the shortest precision, as fmt prints a float64.
std::string go_float(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
    Digits dg = shortest_digits(d);
    // strconv's shortest %g: %e when the exponent is < -4 or >= 6 (so 1e+06, but 123456).
    if (dg.exp < -4 || dg.exp >= 6) return exp_from_digits(dg, false);
    return fixed_from_digits(dg);
}

// encoding/json's float format.
std::string json_float(double d) {
    double a = std::fabs(d);
    Digits dg = shortest_digits(d);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) return exp_from_digits(dg, true);
    return fixed_from_digits(dg);
}

void format_number(std::string& out, const Json& j) {
    if (j.is_number_unsigned())
        out += std::to_string(j.get<uint64_t>());
    else if (j.is_number_integer())
        out += std::to_string(j.get<int64_t>());
    else
        out += go_float(j.get<double>());
}

void format_json(std::string& out, const Json& j, bool objects_as_json);

void encode_string(std::string& out, const std::string& s) {
    static const char* kHex = "0123456789abcdef";
    out += '"';
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"':
            out += "\\\"";
            continue;
        case '\\':
            out += "\\\\";
            continue;
        case '\n':
            out += "\\n";
            continue;
        case '\r':
            out += "\\r";
            continue;
        case '\t':
            out += "\\t";
            continue;
        case '\b':
            out += "\\b";
            continue;
        case '\f':
            out += "\\f";
            continue;
        default:
            break;
        }
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
            continue;
        }
        if (c < 0x80) {
            out += static_cast<char>(c);
            continue;
        }
        // Multi-byte: valid UTF-8 is copied (U+2028/2029 escaped), invalid bytes become U+FFFD.
        size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = n != 0 && i + n <= s.size();
        uint32_t r = ok ? (c & (0x7F >> n)) : 0;
        for (size_t k = 1; ok && k < n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            ok = (cc & 0xC0) == 0x80;
            r = (r << 6) | (cc & 0x3F);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        ok = ok && r >= kMin[n] && r <= 0x10FFFF && !(r >= 0xD800 && r < 0xE000);
        if (!ok) {
            out += "\xEF\xBF\xBD";
            continue;
        }
        if (r == 0x2028 || r == 0x2029)
            out += r == 0x2028 ? "\\u2028" : "\\u2029";
        else
            out.append(s, i, n);
        i += n - 1;
    }
    out += '"';
}

void encode_json_value(std::string& out, const Json& j) {
    if (j.is_null())
        out += "null";
    else if (j.is_boolean())
        out += j.get<bool>() ? "true" : "false";
    else if (j.is_number_float())
        out += json_float(j.get<double>());
    else if (j.is_number())
        format_number(out, j);
    else if (j.is_string())
        encode_string(out, j.get_ref<const std::string&>());
    else if (j.is_array()) {
        out += '[';
        for (size_t i = 0; i < j.size(); ++i) {
            if (i) out += ',';
            encode_json_value(out, j[i]);
        }
        out += ']';
    } else {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : j.items()) {
            if (!first) out += ',';
            first = false;
            encode_string(out, k);
            out += ':';
            encode_json_value(out, v);
        }
        out += '}';
    }
}

void format_json(std::string& out, const Json& j, bool objects_as_json) {
    if (j.is_null())
        out += "<nil>";
    else if (j.is_string())
        out += j.get_ref<const std::string&>();
    else if (j.is_boolean())
        out += j.get<bool>() ? "true" : "false";
    else if (j.is_number())
        format_number(out, j);
    else if (j.is_array()) {
        out += '[';
        for (size_t i = 0; i < j.size(); ++i) {
            if (i) out += ' ';
            format_json(out, j[i], objects_as_json);
        }
        out += ']';
    } else if (objects_as_json) {
        encode_json_value(out, j);
    } else {
        std::vector<const std::string*> keys;
        for (const auto& [k, v] : j.items())
            keys.push_back(&k);
        std::sort(keys.begin(), keys.end(), [](auto a, auto b) { return *a < *b; });
        out += "map[";
        for (size_t i = 0; i < keys.size(); ++i) {
            if (i) out += ' ';
            out += *keys[i];
            out += ':';
            format_json(out, j.at(*keys[i]), objects_as_json);
        }
        out += ']';
    }
}

void check_size(const std::string& s, const FuncEnv& env) {
    if (s.size() > env.options.limits.max_output)
        throw FuncError{"LimitError: string exceeds the output limit of " +
                        std::to_string(env.options.limits.max_output) + " bytes"};
}

// --- printf ---

struct Spec {
    bool minus = false, plus = false, sharp = false, space = false, zero = false;
    int width = -1, prec = -1;
    char verb = 'v';
};

void pad(std::string& out, std::string s, const Spec& sp, bool numeric) {
    auto w = static_cast<size_t>(std::max(sp.width, 0));
    if (s.size() >= w) {
        out += s;
        return;
    }
    size_t fill = w - s.size();
    if (sp.minus)
        out += s + std::string(fill, ' ');
    else if (sp.zero && numeric) {
        size_t sign = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
        out += s.substr(0, sign) + std::string(fill, '0') + s.substr(sign);
    } else
        out += std::string(fill, ' ') + s;
}

std::string go_quote(const std::string& s) {
    static const char* kHex = "0123456789abcdef";
    std::string q = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '\a':
            q += "\\a";
            break;
        case '\b':
            q += "\\b";
            break;
        case '\f':
            q += "\\f";
            break;
        case '\n':
            q += "\\n";
            break;
        case '\r':
            q += "\\r";
            break;
        case '\t':
            q += "\\t";
            break;
        case '\v':
            q += "\\v";
            break;
        case '\\':
            q += "\\\\";
            break;
        case '"':
            q += "\\\"";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                q += "\\x";
                q += kHex[c >> 4];
                q += kHex[c & 15];
            } else {
                q += static_cast<char>(c);
            }
        }
    }
    return q + "\"";
}

void append_rune(std::string& out, int64_t r) {
    if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) r = 0xFFFD;
    append_utf8(out, static_cast<uint32_t>(r));
}

std::string bad_verb(const Value& v, char verb, bool objects_as_json) {
    std::string s = "%!";
    s += verb;
    s += '(';
    if (v.nil()) return s + "<nil>)";
    s += type_name(v) + "=";
    format_value(s, v, objects_as_json);
    return s + ")";
}

std::string c_format(const Spec& sp, char verb, double d) {
    char fmt[16];
    std::snprintf(fmt, sizeof fmt, "%%%s%s.*%c", sp.plus ? "+" : "", sp.space ? " " : "", verb);
    char buf[512];
    int n = std::snprintf(buf, sizeof buf, fmt, sp.prec < 0 ? 6 : sp.prec, d);
    return std::string(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

void format_one(std::string& out, const Spec& sp, const Value& v, bool oj) {
    Kind k = kind_of(v);
    char verb = sp.verb;
    std::string s;
    bool numeric = false;
    if (verb == 'v' || (verb == 's' && k != Kind::Int && k != Kind::Float && k != Kind::Bool)) {
        if (k == Kind::Invalid && verb == 's')
            s = bad_verb(v, verb, oj);
        else if (k == Kind::Invalid)
            s = "<nil>";
        else if (k == Kind::Float && sp.prec >= 0)
            s = c_format(sp, 'g', v.json().get<double>());
        else
            format_value(s, v, oj);
        if (verb == 's' && sp.prec >= 0 && k == Kind::String && static_cast<size_t>(sp.prec) < s.size())
            s.resize(static_cast<size_t>(sp.prec));
        if ((k == Kind::Int || k == Kind::Float) && sp.plus && !s.empty() && s[0] != '-') s = "+" + s;
        numeric = k == Kind::Int || k == Kind::Float;
    } else if (verb == 'd' && k == Kind::Int) {
        s = std::to_string(as_int(v));
        if (sp.plus && s[0] != '-') s = "+" + s;
        numeric = true;
    } else if ((verb == 'x' || verb == 'X' || verb == 'o' || verb == 'b') && k == Kind::Int) {
        int64_t n = as_int(v);
        uint64_t u = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
        int base = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
        char buf[80];
        auto r = std::to_chars(buf, buf + sizeof buf, u, base);
        s.assign(buf, r.ptr);
        if (verb == 'X') std::transform(s.begin(), s.end(), s.begin(), ::toupper);
        if (n < 0) s = "-" + s;
        numeric = true;
    } else if ((verb == 'x' || verb == 'X') && k == Kind::String) {
        static const char* kLo = "0123456789abcdef";
        static const char* kUp = "0123456789ABCDEF";
        const char* h = verb == 'x' ? kLo : kUp;
        for (unsigned char c : str(v)) {
            s += h[c >> 4];
            s += h[c & 15];
        }
    } else if (verb == 'q' && k == Kind::String) {
        s = go_quote(str(v));
    } else if ((verb == 'q' || verb == 'c') && k == Kind::Int) {
        std::string r;
        append_rune(r, as_int(v));
        s = verb == 'c' ? r : (r == "'" ? "'\\''" : r == "\\" ? "'\\\\'" : "'" + r + "'");
    } else if (verb == 't' && k == Kind::Bool) {
        s = v.json().get<bool>() ? "true" : "false";
    } else if ((verb == 'f' || verb == 'F' || verb == 'e' || verb == 'E' || verb == 'g' || verb == 'G') &&
               k == Kind::Float) {
        double d = v.json().get<double>();
        if ((verb == 'g' || verb == 'G') && sp.prec < 0) {
            s = go_float(d);
            if (sp.plus && s[0] != '-') s = "+" + s;
        } else {
            s = c_format(sp, verb == 'F' ? 'f' : verb, d);
        }
        numeric = true;
    } else {
        s = bad_verb(v, verb, oj);
    }
    pad(out, std::move(s), sp, numeric);
}

std::string go_printf(const std::string& fmt, std::span<const Value> args, const FuncEnv& env) {
    bool oj = env.options.objects_as_json;
    std::string out;
    size_t argi = 0;
    const auto limit = env.options.limits.max_output;
    for (size_t i = 0; i < fmt.size();) {
        char c = fmt[i++];
        if (c != '%') {
            out += c;
            continue;
        }
        Spec sp;
        for (; i < fmt.size(); ++i) {
            char f = fmt[i];
            if (f == '-')
                sp.minus = true;
            else if (f == '+')
                sp.plus = true;
            else if (f == '#')
                sp.sharp = true;
            else if (f == ' ')
                sp.space = true;
            else if (f == '0')
                sp.zero = !sp.minus;
            else
                break;
        }
        auto read_num = [&](int& dst) {
            int64_t n = 0;
            bool any = false;
            while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
                n = std::min<int64_t>(n * 10 + (fmt[i++] - '0'), 1'000'000'000);
                any = true;
            }
            if (any) dst = static_cast<int>(n);
            if (n > static_cast<int64_t>(limit)) throw FuncError{"LimitError: printf width exceeds the output limit"};
            return any;
        };
        read_num(sp.width);
        if (i < fmt.size() && fmt[i] == '.') {
            ++i;
            if (!read_num(sp.prec)) sp.prec = 0;
        }
        if (i >= fmt.size()) {
            out += "%!(NOVERB)";
            break;
        }
        sp.verb = fmt[i++];
        if (sp.verb == '%') {
            out += '%';
            continue;
        }
        if (argi >= args.size()) {
            out += "%!";
            out += sp.verb;
            out += "(MISSING)";
            continue;
        }
        format_one(out, sp, args[argi++], oj);
        if (out.size() > limit) break;
    }
    if (argi < args.size()) {
        out += "%!(EXTRA ";
        for (size_t k = argi; k < args.size(); ++k) {
            if (k > argi) out += ", ";
            if (args[k].nil()) {
                out += "<nil>";
                continue;
            }
            out += type_name(args[k]) + "=";
            format_value(out, args[k], oj);
        }
        out += ")";
    }
    check_size(out, env);
    return out;
}

// --- comparisons ---

int compare_basic(const Value& a, const Value& b, Kind k) { // same basic kind; <0, 0, >0
    if (k == Kind::Int) {
        const Json &x = a.json(), &y = b.json();
        bool xu = x.is_number_unsigned(), yu = y.is_number_unsigned();
        if (xu && yu) return x.get<uint64_t>() < y.get<uint64_t>() ? -1 : x.get<uint64_t>() > y.get<uint64_t>();
        if (!xu && !yu) return x.get<int64_t>() < y.get<int64_t>() ? -1 : x.get<int64_t>() > y.get<int64_t>();
        if (xu)
            return y.get<int64_t>() < 0
                       ? 1
                       : (x.get<uint64_t>() < y.get<uint64_t>() ? -1 : x.get<uint64_t>() > y.get<uint64_t>());
        return x.get<int64_t>() < 0
                   ? -1
                   : (x.get<uint64_t>() < y.get<uint64_t>() ? -1 : x.get<uint64_t>() > y.get<uint64_t>());
    }
    if (k == Kind::Float) {
        double x = a.json().get<double>(), y = b.json().get<double>();
        return x < y ? -1 : x > y ? 1 : 0; // NaN compares "equal" only via eq below
    }
    if (k == Kind::String) return str(a).compare(str(b)) < 0 ? -1 : str(a) == str(b) ? 0 : 1;
    return a.json().get<bool>() == b.json().get<bool>() ? 0 : 1;
}

bool eq2(const Value& a, const Value& b) {
    Kind ka = kind_of(a), kb = kind_of(b);
    if (ka == Kind::Invalid || kb == Kind::Invalid) return ka == kb;
    if (ka != kb) throw FuncError{"incompatible types for comparison"};
    if (ka == Kind::Array || ka == Kind::Object) throw FuncError{"non-comparable type " + type_name(a)};
    if (ka == Kind::Float) return a.json().get<double>() == b.json().get<double>();
    return compare_basic(a, b, ka) == 0;
}

bool lt2(const Value& a, const Value& b) {
    Kind ka = kind_of(a), kb = kind_of(b);
    auto basic = [](Kind k) { return k == Kind::Int || k == Kind::Float || k == Kind::String; };
    if (!basic(ka) || !basic(kb)) throw FuncError{"invalid type for comparison"};
    if (ka != kb) throw FuncError{"incompatible types for comparison"};
    return compare_basic(a, b, ka) < 0;
}

// --- index / slice ---

int64_t index_arg(const Value& i, size_t cap) {
    Kind k = kind_of(i);
    if (k == Kind::Invalid) throw FuncError{"cannot index slice/array with nil"};
    if (k != Kind::Int) throw FuncError{"cannot index slice/array with type " + type_name(i)};
    int64_t x = as_int(i);
    if (x < 0 || static_cast<uint64_t>(x) > cap) throw FuncError{"index out of range: " + std::to_string(x)};
    return x;
}

Value index_fn(std::span<const Value> args) {
    Value item = args[0];
    if (item.nil()) throw FuncError{"index of untyped nil"};
    for (size_t n = 1; n < args.size(); ++n) {
        if (item.nil()) throw FuncError{"index of nil pointer"};
        switch (kind_of(item)) {
        case Kind::Array: {
            auto x = static_cast<size_t>(index_arg(args[n], item.size()));
            if (x >= item.size()) throw FuncError{"index out of range: " + std::to_string(x)};
            item = item.at(x);
            break;
        }
        case Kind::String: {
            const std::string& s = str(item);
            auto x = static_cast<size_t>(index_arg(args[n], s.size()));
            if (x >= s.size()) throw FuncError{"index out of range: " + std::to_string(x)};
            item = Value::own(static_cast<int64_t>(static_cast<unsigned char>(s[x])));
            break;
        }
        case Kind::Object: {
            if (kind_of(args[n]) != Kind::String)
                throw FuncError{"value has type " + type_name(args[n]) + "; should be string"};
            auto it = item.json().find(str(args[n]));
            item = it == item.json().end() ? Value() : item.child(*it);
            break;
        }
        default:
            throw FuncError{"can't index item of type " + type_name(item)};
        }
    }
    return item;
}

Value slice_fn(std::span<const Value> args) {
    const Value& item = args[0];
    if (item.nil()) throw FuncError{"slice of untyped nil"};
    if (args.size() > 4) throw FuncError{"too many slice indexes: " + std::to_string(args.size() - 1)};
    Kind k = kind_of(item);
    if (k == Kind::String && args.size() == 4) throw FuncError{"cannot 3-index slice a string"};
    if (k != Kind::String && k != Kind::Array) throw FuncError{"can't slice item of type " + type_name(item)};
    size_t len = k == Kind::String ? str(item).size() : item.size();
    int64_t idx[3] = {0, static_cast<int64_t>(len), 0};
    for (size_t n = 1; n < args.size(); ++n)
        idx[n - 1] = index_arg(args[n], len);
    if (idx[0] > idx[1])
        throw FuncError{"invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1])};
    if (args.size() == 4 && idx[1] > idx[2])
        throw FuncError{"invalid slice index: " + std::to_string(idx[1]) + " > " + std::to_string(idx[2])};
    auto b = static_cast<size_t>(idx[0]), e = static_cast<size_t>(idx[1]);
    if (k == Kind::String) return Value::own(str(item).substr(b, e - b));
    return item.window(b, e);
}

void want_args(std::string_view name, size_t got, size_t want, bool at_least) {
    if (at_least ? got >= want : got == want) return;
    throw FuncError{"wrong number of args for " + std::string(name) + ": want " + (at_least ? "at least " : "") +
                    std::to_string(want) + " got " + std::to_string(got)};
}

std::string current_date(const FuncEnv& env) {
    std::tm tm{};
    if (env.options.now) {
        tm = env.options.now();
    } else {
        std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        localtime_r(&t, &tm);
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return buf;
}

} // namespace

void format_value(std::string& out, const Value& v, bool objects_as_json) {
    if (v.nil()) {
        out += "<nil>";
    } else if (v.is_array()) {
        out += '[';
        for (size_t i = 0; i < v.size(); ++i) {
            if (i) out += ' ';
            format_value(out, v.at(i), objects_as_json);
        }
        out += ']';
    } else {
        format_json(out, v.json(), objects_as_json);
    }
}

void encode_json(std::string& out, const Value& v) {
    if (v.missing()) {
        out += "null";
    } else if (v.is_array()) {
        out += '[';
        for (size_t i = 0; i < v.size(); ++i) {
            if (i) out += ',';
            encode_json(out, v.at(i));
        }
        out += ']';
    } else {
        encode_json_value(out, v.json());
    }
}

Value call_builtin(std::string_view name, std::span<const Value> args, const FuncEnv& env) {
    const bool oj = env.options.objects_as_json;
    if (name == "not") {
        want_args(name, args.size(), 1, false);
        return Value::own(!truth(args[0]));
    }
    if (name == "len") {
        want_args(name, args.size(), 1, false);
        Kind k = kind_of(args[0]);
        if (k == Kind::Invalid) throw FuncError{"len of nil pointer"};
        if (k == Kind::String) return Value::own(static_cast<int64_t>(str(args[0]).size()));
        if (k == Kind::Array) return Value::own(static_cast<int64_t>(args[0].size()));
        if (k == Kind::Object) return Value::own(static_cast<int64_t>(args[0].json().size()));
        throw FuncError{"len of type " + type_name(args[0])};
    }
    if (name == "index") {
        want_args(name, args.size(), 1, true);
        return index_fn(args);
    }
    if (name == "slice") {
        want_args(name, args.size(), 1, true);
        return slice_fn(args);
    }
    if (name == "eq") {
        want_args(name, args.size(), 1, true);
        if (args.size() == 1) throw FuncError{"missing argument for comparison"};
        for (size_t i = 1; i < args.size(); ++i)
            if (eq2(args[0], args[i])) return Value::own(true);
        return Value::own(false);
    }
    if (name == "ne" || name == "lt" || name == "le" || name == "gt" || name == "ge") {
        want_args(name, args.size(), 2, false);
        const Value &a = args[0], &b = args[1];
        if (name == "ne") return Value::own(!eq2(a, b));
        if (name == "lt") return Value::own(lt2(a, b));
        if (name == "ge") return Value::own(!lt2(a, b));
        bool le = lt2(a, b) || eq2(a, b);
        return Value::own(name == "le" ? le : !le);
    }
    if (name == "print" || name == "println") {
        std::string out;
        bool ln = name == "println";
        for (size_t i = 0; i < args.size(); ++i) {
            bool is_str = kind_of(args[i]) == Kind::String;
            if (i > 0 && (ln || (!is_str && kind_of(args[i - 1]) != Kind::String))) out += ' ';
            format_value(out, args[i], oj);
            check_size(out, env);
        }
        if (ln) out += '\n';
        check_size(out, env);
        return Value::own(std::move(out));
    }
    if (name == "printf") {
        want_args(name, args.size(), 1, true);
        if (kind_of(args[0]) != Kind::String)
            throw FuncError{"printf: format must be a string, not " + type_name(args[0])};
        return Value::own(go_printf(str(args[0]), args.subspan(1), env));
    }
    if (name == "json" || name == "toJson") {
        want_args(name, args.size(), 1, false);
        std::string out;
        encode_json(out, args[0]);
        check_size(out, env);
        return Value::own(std::move(out));
    }
    if (name == "currentDate") {
        for (const Value& a : args)
            if (kind_of(a) != Kind::String) throw FuncError{"currentDate: arguments must be strings"};
        return Value::own(current_date(env));
    }
    throw FuncError{"function \"" + std::string(name) + "\" not defined"};
}

} // namespace hearth::gotmpl
