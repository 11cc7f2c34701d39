// template/filters.cpp: Jinja2's filters and tests (jinja2/filters.py, jinja2/tests.py) that chat
// templates use, plus transformers' tojson (json.dumps with ensure_ascii=False).
#include "template/evaluator.h"

#include <algorithm>
#include <cmath>

namespace hearth::tmpl {

std::string py_strip(const std::string& s, const Value* chars, bool left, bool right);
std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                       size_t max_bytes);
std::string ascii_upper(std::string s);
std::string ascii_lower(std::string s);
std::string html_escape(const std::string& s);

namespace {

Status type_error(const std::string& msg) {
    return Status::error("TypeError: " + msg);
}

Value generator(std::vector<Value> items) {
    ValueList l;
    l.items = std::move(items);
    l.is_generator = true;
    return Value::list(std::move(l));
}

// Jinja's attribute lookup for map/selectattr/sort: "a.b" walks dicts, "0" indexes lists.
Result<Value> attribute_path(const Value& item, const std::string& path) {
    Value cur = item;
    size_t start = 0;
    while (start <= path.size()) {
        size_t dot = path.find('.', start);
        std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        Value key = Value::string(part);
        if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            key = Value::integer(std::strtoll(part.c_str(), nullptr, 10));
        }
        auto next = get_item(cur, key);
        if (!next) return next.status();
        cur = std::move(*next);
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return cur;
}

Result<int64_t> length_of(const Value& v) {
    switch (v.kind()) {
    case Value::Kind::Undefined:
        return 0;
    case Value::Kind::String:
        return static_cast<int64_t>(utf8_length(v.as_string()));
    case Value::Kind::List:
        if (v.as_list().is_generator) return type_error("object of type 'generator' has no len()");
        return static_cast<int64_t>(v.as_list().items.size());
    case Value::Kind::Dict:
        return static_cast<int64_t>(v.as_dict().items.size());
    default:
        return type_error(std::string("object of type '") + type_name(v) + "' has no len()");
    }
}

std::string indent_text(const std::string& s, const std::string& ind, bool first, bool blank) {
    // str.splitlines() on s + "\n", as do_indent does.
    std::vector<std::string> lines;
    std::string text = s + "\n";
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) {
            lines.push_back(text.substr(start, i - start));
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            start = i + 1;
        }
    }
    if (start < text.size()) lines.push_back(text.substr(start));
    std::string rv;
    if (blank) {
        for (size_t i = 0; i < lines.size(); ++i)
            rv += (i ? "\n" + ind : "") + lines[i];
    } else {
        rv = lines.empty() ? "" : lines[0];
        for (size_t i = 1; i < lines.size(); ++i)
            rv += "\n" + (lines[i].empty() ? "" : ind + lines[i]);
    }
    return first ? ind + rv : rv;
}

Result<std::string> tojson(Renderer& r, const Value& v, const CallArgs& args) {
    JsonOptions o;
    o.max_bytes = r.limits().max_output;
    if (const Value* a = args.get(0, "ensure_ascii")) o.ensure_ascii = truthy(*a);
    if (const Value* ind = args.get(1, "indent"); ind && !ind->is_none() && !ind->is_undefined()) {
        o.has_indent = true;
        o.item_sep = ",";
        if (ind->is_string()) {
            o.indent = ind->as_string();
        } else if (ind->is_int()) {
            o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(ind->as_int(), 0, 64)), ' ');
        } else {
            return type_error("tojson indent must be an int or a string");
        }
    }
    if (const Value* sep = args.get(2, "separators"); sep && sep->is_list()) {
        const auto& items = sep->as_list().items;
        if (items.size() != 2 || !items[0].is_string() || !items[1].is_string()) {
            return type_error("tojson separators must be two strings");
        }
        o.item_sep = items[0].as_string();
        o.key_sep = items[1].as_string();
    }
    if (const Value* sk = args.get(3, "sort_keys")) o.sort_keys = truthy(*sk);
    return to_json(v, o);
}

Result<std::vector<Value>> sorted(Renderer& r, const std::vector<Value>& items, bool reverse, bool case_sensitive,
                                  const Value* attribute) {
    std::vector<std::pair<Value, Value>> keyed; // (key, item)
    for (const Value& it : items) {
        Value key = it;
        if (attribute && attribute->is_string()) {
            auto k = attribute_path(it, attribute->as_string());
            if (!k) return k.status();
            key = *k;
        }
        if (!case_sensitive && key.is_string()) {
            key = Value::string(ascii_lower(key.as_string()));
            HEARTH_TRY(r.count_new(key));
        }
        keyed.emplace_back(std::move(key), it);
    }
    // A failed comparison (a TypeError, or the step budget) makes the rest compare as false, so the sort
    // ends quickly and the error is returned.
    Status err;
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        if (!err.is_ok()) return false;
        auto lt = reverse ? r.less(b.first, a.first) : r.less(a.first, b.first);
        if (!lt) err = lt.status();
        return lt && *lt;
    });
    HEARTH_TRY(err);
    std::vector<Value> out;
    for (auto& [k, v] : keyed)
        out.push_back(std::move(v));
    return out;
}

// select/reject/selectattr/rejectattr: args are (attr?, test name?, test args...).
Result<Value> select_items(Renderer& r, const Value& seq, const CallArgs& args, bool by_attr, bool keep) {
    auto items = truthy(seq) ? iterate(r, seq) : Result<std::vector<Value>>(std::vector<Value>{});
    if (!items) return items.status();
    size_t next = 0;
    std::string attr;
    if (by_attr) {
        if (args.pos.empty() || !args.pos[0].is_string()) return type_error("selectattr needs an attribute name");
        attr = args.pos[0].as_string();
        next = 1;
    }
    std::string test;
    CallArgs test_args;
    if (next < args.pos.size()) {
        if (!args.pos[next].is_string()) return type_error("test name must be a string");
        test = args.pos[next].as_string();
        test_args.pos.assign(args.pos.begin() + static_cast<long>(next) + 1, args.pos.end());
    }
    std::vector<Value> out;
    for (const Value& item : *items) {
        HEARTH_TRY(r.count_iterations(1));
        Value v = item;
        if (by_attr) {
            auto a = attribute_path(item, attr);
            if (!a) return a.status();
            v = std::move(*a);
        }
        bool ok = truthy(v);
        if (!test.empty()) {
            auto t = apply_test(r, test, v, test_args);
            if (!t) return t.status();
            ok = *t;
        }
        if (ok == keep) out.push_back(item);
    }
    return generator(std::move(out));
}

Result<Value> map_items(Renderer& r, const Value& seq, const CallArgs& args) {
    auto items = truthy(seq) ? iterate(r, seq) : Result<std::vector<Value>>(std::vector<Value>{});
    if (!items) return items.status();
    std::vector<Value> out;
    const Value* attr = nullptr;
    for (const auto& [k, v] : args.kw) {
        if (k == "attribute") attr = &v;
    }
    for (const Value& item : *items) {
        HEARTH_TRY(r.count_iterations(1));
        if (attr) {
            auto a = attribute_path(item, to_str(*attr));
            if (!a) return a.status();
            if (a->is_undefined()) {
                if (const Value* d = CallArgs{{}, args.kw}.get(99, "default")) a = *d;
            }
            out.push_back(std::move(*a));
        } else {
            if (args.pos.empty() || !args.pos[0].is_string())
                return type_error("map needs a filter name or attribute=");
            CallArgs fargs;
            fargs.pos.assign(args.pos.begin() + 1, args.pos.end());
            fargs.kw = args.kw;
            auto v = apply_filter(r, args.pos[0].as_string(), item, fargs);
            if (!v) return v.status();
            HEARTH_TRY(r.count_new(*v));
            out.push_back(std::move(*v));
        }
    }
    return generator(std::move(out));
}

Result<Value> string_filter(Renderer& r, const std::string& name, const Value& v, const CallArgs& args, bool& handled) {
    static constexpr std::string_view kNames[] = {"trim", "upper", "lower", "capitalize", "title", "replace", "indent"};
    handled = std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
    if (!handled) return Value();
    std::string s = to_str(v, r.limits().max_output);
    HEARTH_TRY(r.check_string_size(s.size()));
    if (name == "trim") return Value::string(py_strip(s, args.get(0, "chars"), true, true));
    if (name == "upper") return Value::string(ascii_upper(s));
    if (name == "lower") return Value::string(ascii_lower(s));
    if (name == "capitalize")
        return Value::string(ascii_upper(s.substr(0, 1)) + ascii_lower(s.substr(s.empty() ? 0 : 1)));
    if (name == "title") {
        // do_title: capitalize each run that follows `-`, whitespace or an opening bracket.
        std::string out;
        bool start = true;
        for (char c : s) {
            bool sep = c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '{' ||
                       c == '[' || c == '<';
            out += start && !sep ? ascii_upper(std::string(1, c)) : ascii_lower(std::string(1, c));
            start = sep;
        }
        return Value::string(out);
    }
    if (name == "replace") {
        const Value* a = args.get(0, "old");
        const Value* b = args.get(1, "new");
        const Value* c = args.get(2, "count");
        if (!a || !b) return type_error("replace needs old and new");
        const size_t max = r.limits().max_output;
        std::string out = py_replace(s, to_str(*a, max), to_str(*b, max), c && c->is_int() ? c->as_int() : -1, max);
        HEARTH_TRY(r.check_string_size(out.size()));
        return Value::string(std::move(out));
    }
    if (name == "indent") {
        const Value* w = args.get(0, "width");
        const Value* first = args.get(1, "first");
        const Value* blank = args.get(2, "blank");
        std::string ind =
            w && w->is_string()
                ? w->as_string()
                : std::string(static_cast<size_t>(std::clamp<int64_t>(w && w->is_number() ? w->as_int() : 4, 0, 256)),
                              ' ');
        // At most one indent per line, before building it: a line break per byte would be 256 bytes each.
        const size_t breaks = static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char ch) {
            return ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f' || (ch >= 0x1c && ch <= 0x1e);
        }));
        HEARTH_TRY(r.check_string_size(s.size() + (breaks + 1) * ind.size()));
        std::string out = indent_text(s, ind, first && truthy(*first), blank && truthy(*blank));
        HEARTH_TRY(r.check_string_size(out.size()));
        return Value::string(std::move(out));
    }
    return Value();
}

} // namespace

Result<Value> apply_filter(Renderer& r, const std::string& name, const Value& v, const CallArgs& args) {
    if (name == "tojson") {
        auto s = tojson(r, v, args);
        if (!s) return s.status();
        return Value::string(std::move(*s));
    }
    if (name == "default" || name == "d") {
        const Value* dflt = args.get(0, "default_value");
        const Value* boolean = args.get(1, "boolean");
        bool use = v.is_undefined() || (boolean && truthy(*boolean) && !truthy(v));
        if (use) return dflt ? *dflt : Value::string("");
        return v;
    }
    if (name == "string" || name == "safe" || name == "e" || name == "escape") {
        if (v.is_string() && (name == "string" || v.is_safe())) return v;
        std::string s = to_str(v, r.limits().max_output);
        if (name == "e" || name == "escape") s = html_escape(s);
        HEARTH_TRY(r.check_string_size(s.size()));
        return name == "string" ? Value::string(std::move(s)) : Value::safe_string(std::move(s));
    }
    bool handled = false;
    auto sr = string_filter(r, name, v, args, handled);
    if (handled) return sr;
    if (name == "length" || name == "count") {
        auto n = length_of(v);
        if (!n) return n.status();
        return Value::integer(*n);
    }
    if (name == "list") {
        auto items = iterate(r, v);
        if (!items) return items.status();
        return Value::list(std::move(*items));
    }
    if (name == "dictsort") {
        // dictsort(case_sensitive=False, by='key', reverse=False): the (key, value) pairs in a sorted list.
        if (!v.is_dict()) return type_error("dictsort filter needs a mapping");
        const Value* cs = args.get(0, "case_sensitive");
        const Value* by = args.get(1, "by");
        const Value* rev = args.get(2, "reverse");
        if (by && !(by->is_string() && (by->as_string() == "key" || by->as_string() == "value")))
            return Status::error("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
        const Value pos = Value::string(by && by->as_string() == "value" ? "1" : "0");
        auto pairs = call_method(r, v, "items", CallArgs{});
        if (!pairs) return pairs.status();
        auto s = sorted(r, pairs->as_list().items, rev && truthy(*rev), cs && truthy(*cs), &pos);
        if (!s) return s.status();
        return Value::list(std::move(*s));
    }
    if (name == "items") {
        if (v.is_undefined()) return generator({});
        if (!v.is_dict()) return type_error("items filter needs a mapping");
        return call_method(r, v, "items", args);
    }
    if (name == "join") {
        auto items = iterate(r, v);
        if (!items) return items.status();
        const Value* sep = args.get(0, "d");
        const Value* attr = args.get(1, "attribute");
        std::string out;
        for (size_t i = 0; i < items->size(); ++i) {
            if (i) out += sep ? to_str(*sep, r.limits().max_output) : "";
            Value item = (*items)[i];
            if (attr && !attr->is_none()) {
                auto a = attribute_path(item, to_str(*attr));
                if (!a) return a.status();
                item = *a;
            }
            out += to_str(item, r.limits().max_output);
            HEARTH_TRY(r.check_string_size(out.size()));
        }
        return Value::string(std::move(out));
    }
    if (name == "first" || name == "last") {
        if (name == "last" && v.is_list() && v.as_list().is_generator) {
            return type_error("'generator' object is not reversible");
        }
        auto items = iterate(r, v);
        if (!items) return items.status();
        if (items->empty()) return Value::undefined("No first item, sequence was empty.");
        return name == "first" ? items->front() : items->back();
    }
    if (name == "map") return map_items(r, v, args);
    if (name == "select" || name == "reject") return select_items(r, v, args, false, name == "select");
    if (name == "selectattr" || name == "rejectattr") return select_items(r, v, args, true, name == "selectattr");
    if (name == "unique" || name == "sort") {
        auto items = iterate(r, v);
        if (!items) return items.status();
        const Value* cs = args.get(name == "sort" ? 1 : 0, "case_sensitive");
        const Value* attr = args.get(name == "sort" ? 2 : 1, "attribute");
        bool case_sensitive = cs && truthy(*cs);
        if (name == "sort") {
            const Value* rev = args.get(0, "reverse");
            auto s = sorted(r, *items, rev && truthy(*rev), case_sensitive, attr);
            if (!s) return s.status();
            return Value::list(std::move(*s));
        }
        std::vector<Value> seen, out;
        for (const Value& item : *items) {
            HEARTH_TRY(r.count_iterations(1));
            Value key = item;
            if (attr && attr->is_string()) {
                auto a = attribute_path(item, attr->as_string());
                if (!a) return a.status();
                key = *a;
            }
            if (!case_sensitive && key.is_string()) {
                key = Value::string(ascii_lower(key.as_string()));
                HEARTH_TRY(r.count_new(key));
            }
            bool dup = false;
            for (size_t i = 0; i < seen.size() && !dup; ++i) {
                auto eq = r.equal(seen[i], key);
                if (!eq) return eq.status();
                dup = *eq;
            }
            if (dup) continue;
            seen.push_back(key);
            out.push_back(item);
        }
        return generator(std::move(out));
    }
    if (name == "reverse") {
        if (v.is_string()) {
            auto chars = utf8_chars(v.as_string());
            std::string out;
            for (size_t i = chars.size(); i-- > 0;)
                out += chars[i];
            return Value::string(out);
        }
        auto items = iterate(r, v);
        if (!items) return items.status();
        std::reverse(items->begin(), items->end());
        return generator(std::move(*items));
    }
    if (name == "int") {
        const Value* dflt = args.get(0, "default");
        Value fallback = dflt ? *dflt : Value::integer(0);
        if (v.is_int() || v.is_bool()) return Value::integer(v.as_int());
        if (v.is_float()) {
            if (!std::isfinite(v.as_float()) || std::fabs(v.as_float()) > 9e18) return fallback;
            return Value::integer(static_cast<int64_t>(v.as_float()));
        }
        if (v.is_string()) {
            std::string s = py_strip(v.as_string(), nullptr, true, true);
            char* end = nullptr;
            errno = 0;
            long long i = std::strtoll(s.c_str(), &end, 10);
            if (!s.empty() && end && *end == 0 && errno == 0) return Value::integer(i);
            double f = std::strtod(s.c_str(), &end);
            if (!s.empty() && end && *end == 0 && std::isfinite(f) && std::fabs(f) < 9e18) {
                return Value::integer(static_cast<int64_t>(f));
            }
        }
        return fallback;
    }
    if (name == "float") {
        const Value* dflt = args.get(0, "default");
        if (v.is_number()) return Value::real(v.as_float());
        if (v.is_string()) {
            std::string s = py_strip(v.as_string(), nullptr, true, true);
            char* end = nullptr;
            double f = std::strtod(s.c_str(), &end);
            if (!s.empty() && end && *end == 0) return Value::real(f);
        }
        return dflt ? *dflt : Value::real(0.0);
    }
    if (name == "abs") {
        if (v.is_float()) return Value::real(std::fabs(v.as_float()));
        if (v.is_number()) {
            if (v.as_int() == INT64_MIN) return Status::error("OverflowError: integer overflow");
            return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
        }
        return type_error(std::string("bad operand type for abs(): '") + type_name(v) + "'");
    }
    if (name == "round") {
        if (!v.is_number()) return type_error("round needs a number");
        const Value* p = args.get(0, "precision");
        const Value* m = args.get(1, "method");
        int64_t prec = p && p->is_int() ? std::clamp<int64_t>(p->as_int(), -300, 300) : 0;
        std::string method = m ? to_str(*m) : "common";
        double scale = std::pow(10.0, static_cast<double>(prec));
        double x = v.as_float() * scale;
        if (method == "common") {
            x = std::round(x);
        } else if (method == "ceil") {
            x = std::ceil(x);
        } else if (method == "floor") {
            x = std::floor(x);
        } else {
            return Status::error("FilterArgumentError: method must be common, ceil or floor");
        }
        return Value::real(x / scale);
    }
    if (name == "sum" || name == "min" || name == "max") {
        auto items = iterate(r, v);
        if (!items) return items.status();
        if (name == "sum") {
            Value acc = Value::integer(0);
            for (const Value& item : *items) {
                auto s = binary_op(r, "+", acc, item);
                if (!s) return s.status();
                acc = std::move(*s);
            }
            return acc;
        }
        if (items->empty()) return Value::undefined("No aggregated item, sequence was empty.");
        auto s = sorted(r, *items, name == "max", false, args.get(1, "attribute"));
        if (!s) return s.status();
        return s->front();
    }
    if (name == "batch") {
        auto items = iterate(r, v);
        if (!items) return items.status();
        const Value* n = args.get(0, "linecount");
        const Value* fill = args.get(1, "fill_with");
        if (!n || !n->is_int() || n->as_int() <= 0) return type_error("batch needs a positive line count");
        if (fill) HEARTH_TRY(r.check_list_size(static_cast<size_t>(n->as_int())));
        std::vector<Value> out, cur;
        for (const Value& item : *items) {
            cur.push_back(item);
            if (static_cast<int64_t>(cur.size()) == n->as_int()) {
                out.push_back(Value::list(std::move(cur)));
                cur.clear();
            }
        }
        if (!cur.empty()) {
            while (fill && static_cast<int64_t>(cur.size()) < n->as_int())
                cur.push_back(*fill);
            out.push_back(Value::list(std::move(cur)));
        }
        return generator(std::move(out));
    }
    return Status::error("TemplateAssertionError: No filter named '" + name + "'.");
}

Result<bool> apply_test(Renderer& r, const std::string& name, const Value& v, const CallArgs& args) {
    const Value* a0 = args.get(0, "");
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.is_dict();
    if (name == "boolean") return v.is_bool();
    if (name == "true") return v.is_bool() && v.as_bool();
    if (name == "false") return v.is_bool() && !v.as_bool();
    if (name == "number") return v.is_number();
    if (name == "integer") return v.is_int();
    if (name == "float") return v.is_float();
    if (name == "callable") return v.is_callable();
    if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
    if (name == "sequence")
        return v.is_undefined() || v.is_string() || (v.is_list() && !v.as_list().is_generator) || v.is_dict();
    if (name == "even" || name == "odd" || name == "divisibleby") {
        if (!v.is_number() || v.is_float()) {
            if (v.is_undefined()) return undefined_error(v);
            return type_error("even/odd/divisibleby need an integer");
        }
        if (name == "divisibleby") {
            if (!a0 || !a0->is_number() || a0->as_int() == 0) return Status::error("ZeroDivisionError: divisibleby 0");
            return v.as_int() % a0->as_int() == 0;
        }
        return (v.as_int() % 2 == 0) == (name == "even");
    }
    if (name == "lower" || name == "upper") {
        std::string s = to_str(v, r.limits().max_output);
        return s == (name == "lower" ? ascii_lower(s) : ascii_upper(s));
    }
    if (name == "in") {
        if (!a0) return type_error("in test needs a container");
        return contains(r, *a0, v);
    }
    if (!a0 && (name == "eq" || name == "ne" || name == "lt" || name == "gt" || name == "le" || name == "ge" ||
                name == "sameas" || name == "equalto" || name == "==" || name == "!=" || name == "lessthan" ||
                name == "greaterthan")) {
        return type_error("test '" + name + "' needs an argument");
    }
    if (name == "eq" || name == "equalto" || name == "==" || name == "ne" || name == "!=" || name == "sameas") {
        auto eq = r.equal(v, *a0);
        if (!eq) return eq.status();
        if (name == "sameas") return *eq && v.kind() == a0->kind();
        return *eq == (name != "ne" && name != "!=");
    }
    if (name == "lt" || name == "ge" || name == "lessthan") {
        auto lt = r.less(v, *a0);
        if (!lt) return lt.status();
        return name == "ge" ? !*lt : *lt;
    }
    if (name == "gt" || name == "le" || name == "greaterthan") {
        auto gt = r.less(*a0, v);
        if (!gt) return gt.status();
        return name == "le" ? !*gt : *gt;
    }
    return Status::error("TemplateAssertionError: No test named '" + name + "'.");
}

} // namespace hearth::tmpl
