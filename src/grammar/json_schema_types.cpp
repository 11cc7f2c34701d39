// grammar/json_schema_types.cpp: the per-type rules of the JSON Schema converter: objects (declared order,
// optional properties, additionalProperties), arrays (prefixItems, items, minItems/maxItems), strings
// (lengths, formats, patterns) and numbers (ranges) (json_schema_converter.h).
#include "base/utf8.h"
#include "grammar/json_schema_converter.h"
#include "grammar/json_schema_detail.h"
#include "grammar/utf8_decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

namespace hearth::grammar::schema {

namespace {

constexpr uint64_t kUnbounded = std::numeric_limits<uint64_t>::max();
const std::string kQuote = "\"\\\"\""; // the GBNF literal for one '"'

// A GBNF quantifier for lo..hi repetitions (hi == kUnbounded: no upper bound).
std::string quant(uint64_t lo, uint64_t hi) {
    if (hi == kUnbounded) return lo == 0 ? "*" : lo == 1 ? "+" : "{" + std::to_string(lo) + ",}";
    if (lo == 0 && hi == 1) return "?";
    if (lo == hi) return "{" + std::to_string(lo) + "}";
    return "{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
}

// A non-negative integer keyword (minLength, maxItems...): nullopt when absent.
Result<std::optional<uint64_t>> count_keyword(const Json& s, const char* key, const std::string& path) {
    auto it = s.find(key);
    if (it == s.end()) return std::optional<uint64_t>();
    bool ok = it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0) ||
              (it->is_number_float() && it->get<double>() >= 0 && it->get<double>() <= 1e18 &&
               std::floor(it->get<double>()) == it->get<double>());
    if (!ok) return bad_field(path + "/" + key, std::string(key) + " must be a non-negative integer");
    return std::optional<uint64_t>(it->is_number_float() ? uint64_t(it->get<double>()) : it->get<uint64_t>());
}

} // namespace

// ---- objects ----

Result<std::string> Converter::object_expr(const Json& s, const std::string& path, const std::string& hint) {
    std::vector<ObjectMember> members;
    std::string extra_kv;
    bool any_object = false;
    HEARTH_TRY(object_members(s, path, hint, members, extra_kv, any_object));
    if (any_object) return fixed("object");
    return object_body(members, extra_kv, hint);
}

// The members an object may have: declared properties in order (their value rules made), required ones not
// declared (as additional properties that must be there), and the "key: value" of additional properties
// ("" when none are allowed). any_object: no constraint at all.
Status Converter::object_members(const Json& s, const std::string& path, const std::string& hint,
                                 std::vector<ObjectMember>& members, std::string& extra_kv, bool& any_object) {
    static const Json kNoProperties = Json::object();
    const Json* props = &kNoProperties;
    if (auto p = s.find("properties"); p != s.end()) {
        if (!p->is_object()) return bad_field(path + "/properties", "properties must be an object");
        props = &*p;
    }
    std::vector<std::string> required; // in order, without repeats
    std::unordered_set<std::string> required_set, declared;
    if (auto r = s.find("required"); r != s.end()) {
        if (!r->is_array()) return bad_field(path + "/required", "required must be an array of strings");
        for (const Json& name : *r) {
            if (!name.is_string()) return bad_field(path + "/required", "required must be an array of strings");
            if (required_set.insert(name.get<std::string>()).second) required.push_back(name.get<std::string>());
        }
    }
    for (auto it = props->begin(); it != props->end(); ++it)
        declared.insert(it.key());
    enum class Extra { None, Any, Schema } extra = props->empty() ? Extra::Any : Extra::None;
    auto ap = s.find("additionalProperties");
    if (ap != s.end()) {
        if (ap->is_boolean()) {
            extra = ap->get<bool>() ? Extra::Any : Extra::None;
        } else if (ap->is_object()) {
            extra = Extra::Schema;
        } else {
            return bad_field(path + "/additionalProperties", "additionalProperties must be a boolean or a schema");
        }
    }
    any_object = props->empty() && required.empty() && extra == Extra::Any;
    if (any_object) return Status::ok();
    std::string extra_value = extra == Extra::None ? "" : fixed("value");
    if (extra == Extra::Schema) {
        auto v = rule_for(*ap, path + "/additionalProperties", hint + "-extra");
        if (!v) return v.status();
        extra_value = *v;
    }
    for (auto it = props->begin(); it != props->end(); ++it) {
        auto v = rule_for(it.value(), path + "/properties/" + pointer_escape(it.key()), hint + "-" + it.key());
        if (!v) return v.status();
        members.push_back({it.key(), *v, required_set.count(it.key()) > 0});
    }
    for (const std::string& r : required) {
        if (declared.count(r)) continue;
        if (extra == Extra::None && ap != s.end()) {
            return bad_field(path + "/required",
                             "required property '" + r +
                                 "' is not in properties and additionalProperties does not allow it");
        }
        // An additional property that must be there (additionalProperties absent allows any value).
        members.push_back({r, extra == Extra::Schema ? extra_value : fixed("value"), true});
    }
    if (extra == Extra::None) return Status::ok();
    std::string key = fixed("string");
    if (!members.empty()) { // extra keys must differ from the declared ones (JSON keeps the last duplicate)
        std::vector<std::string> keys;
        for (const ObjectMember& m : members)
            keys.push_back(m.key);
        auto k = not_keys_expr(keys, hint + "-key");
        if (!k) return k.status();
        key = *k;
    }
    extra_kv = key + " ws \":\" ws " + extra_value + " ws";
    return Status::ok();
}

// "{" members "}" with members in order, optional ones skippable, commas only between members.
Result<std::string> Converter::object_body(const std::vector<ObjectMember>& members, const std::string& extra_kv,
                                           const std::string& hint) {
    fixed("ws");
    auto kv = [&](const ObjectMember& m) {
        return gbnf_literal(dump(Json(m.key))) + " ws \":\" ws " + m.value + " ws";
    };
    bool all_required = std::all_of(members.begin(), members.end(), [](const ObjectMember& m) { return m.required; });
    if (extra_kv.empty() && all_required) {
        std::string body = "\"{\" ws";
        for (size_t i = 0; i < members.size(); i++)
            body += (i ? " \",\" ws " : " ") + kv(members[i]);
        return body + " \"}\"";
    }
    // first[k]: members k.. when none was written yet; after[k]: the same after one was (each starts with a
    // comma). Built from the end; each becomes a rule, named when its body is known.
    auto rule = [&](const std::string& body, const std::string& suffix) -> Result<std::string> {
        if (body.empty()) return std::string();
        std::string name = unique_name(hint + suffix);
        HEARTH_TRY(add_rule(name, body));
        return name;
    };
    auto or_empty = [](const std::string& name) { return name.empty() ? std::string("\"\"") : name; };
    auto then = [](const std::string& name) { return name.empty() ? std::string() : " " + name; };
    auto after = rule(extra_kv.empty() ? "" : "(\",\" ws " + extra_kv + ")*", "-rest");
    if (!after) return after.status();
    auto first = rule(extra_kv.empty() ? "" : "(" + extra_kv + then(*after) + ")?", "-extra-first");
    if (!first) return first.status();
    if (members.empty()) return "\"{\" ws " + or_empty(*first) + " \"}\"";
    std::string first_body;
    for (size_t k = members.size(); k-- > 0;) {
        std::string after_body = "\",\" ws " + kv(members[k]) + then(*after);
        first_body = kv(members[k]) + then(*after);
        if (!members[k].required) {
            after_body += " | " + or_empty(*after);
            first_body += " | " + or_empty(*first);
        }
        if (k > 0) {
            after = rule(after_body, "-after-" + std::to_string(k));
            if (!after) return after.status();
            first = !members[k - 1].required ? rule(first_body, "-from-" + std::to_string(k))
                                             : Result<std::string>(std::string());
            if (!first) return first.status();
        }
    }
    return "\"{\" ws (" + first_body + ") \"}\"";
}

// Object keys (string contents without escapes) other than `keys`: a trie of the keys, one rule per node,
// each allowing a character that leaves the trie (then any characters), a step down it, or the end of the
// key where no declared key ends.
Result<std::string> Converter::not_keys_expr(const std::vector<std::string>& keys, const std::string& hint) {
    CodePointTrie trie;
    for (const std::string& k : keys) {
        std::vector<uint32_t> cps = code_points(k);
        bool plain = std::none_of(cps.begin(), cps.end(), [](uint32_t c) { return c < 0x20 || c == '"' || c == '\\'; });
        if (plain) trie.insert(cps); // extra keys have no escapes, so they can never equal the others
    }
    const std::vector<CodePointTrie::Node>& nodes = trie.nodes;
    std::vector<std::string> names;
    for (size_t i = 0; i < nodes.size(); i++)
        names.push_back(unique_name(hint));
    std::string key_char = fixed("key-char");
    for (size_t v = 0; v < nodes.size(); v++) {
        CharClass leave;
        leave.add_range(0, 0x1F);
        leave.add_range('"', '"');
        leave.add_range('\\', '\\');
        for (const auto& kid : nodes[v].kids)
            leave.add_range(kid.first, kid.first);
        leave.normalize();
        leave.negate();
        std::string body = gbnf_class(leave) + " " + key_char + "* " + kQuote;
        for (auto [cp, w] : nodes[v].kids) {
            std::string c;
            append_utf8(c, cp);
            body += " | " + gbnf_literal(c) + " " + names[w];
        }
        if (!nodes[v].terminal) body += " | " + kQuote;
        HEARTH_TRY(add_rule(names[v], body));
    }
    return kQuote + " " + names[0];
}

// ---- arrays ----

Result<std::string> Converter::array_expr(const Json& s, const std::string& path, const std::string& hint) {
    std::vector<std::string> prefix;
    const Json* rest = nullptr; // the schema of the items after the prefix (nullptr: any value)
    std::string rest_path = path + "/items";
    auto add_prefix = [&](const Json& list, const std::string& where) -> Status {
        if (!list.is_array()) return bad_field(where, "must be an array of schemas");
        for (size_t i = 0; i < list.size(); i++) {
            auto r = rule_for(list[i], where + "/" + std::to_string(i), hint + "-" + std::to_string(i));
            if (!r) return r.status();
            prefix.push_back(*r);
        }
        return Status::ok();
    };
    if (auto p = s.find("prefixItems"); p != s.end()) {
        HEARTH_TRY(add_prefix(*p, path + "/prefixItems"));
        if (auto it = s.find("items"); it != s.end()) rest = &*it;
    } else if (auto it = s.find("items"); it != s.end() && it->is_array()) {
        HEARTH_TRY(add_prefix(*it, path + "/items")); // draft 7 tuples
        if (auto ai = s.find("additionalItems"); ai != s.end()) {
            rest = &*ai;
            rest_path = path + "/additionalItems";
        }
    } else if (it != s.end()) {
        rest = &*it;
    }
    bool no_rest = rest && rest->is_boolean() && !rest->get<bool>();
    std::string item = fixed("value");
    if (rest && !no_rest) {
        auto r = rule_for(*rest, rest_path, hint + "-item");
        if (!r) return r.status();
        item = *r;
    }
    auto mn = count_keyword(s, "minItems", path);
    if (!mn) return mn.status();
    auto mx = count_keyword(s, "maxItems", path);
    if (!mx) return mx.status();
    uint64_t lo = mn->value_or(0), hi = mx->value_or(kUnbounded);
    if (lo > hi) return bad_field(path + "/minItems", "minItems is above maxItems: no array fits");
    if (lo > lim_.max_repeat || (hi != kUnbounded && hi > lim_.max_repeat)) {
        return bad_field(path + (lo > lim_.max_repeat ? "/minItems" : "/maxItems"),
                         "minItems/maxItems above " + std::to_string(lim_.max_repeat) + " are not supported");
    }
    uint64_t p = prefix.size();
    if (no_rest && lo > p) {
        return bad_field(path + "/minItems", "minItems needs more items than the tuple allows (items: false)");
    }
    uint64_t p_used = std::min(p, hi);
    uint64_t rest_lo = lo > p ? lo - p : 0;
    uint64_t rest_hi = hi == kUnbounded ? kUnbounded : (hi > p ? hi - p : 0);
    fixed("ws");
    std::string chain; // the items after the prefix
    if (!no_rest && rest_hi > 0) {
        if (p_used > 0) {
            chain = "(\",\" ws " + item + " ws)" + quant(rest_lo, rest_hi);
        } else {
            std::string core = item + " ws";
            if (rest_hi != 1) {
                core += " (\",\" ws " + item + " ws)" +
                        quant(rest_lo > 0 ? rest_lo - 1 : 0, rest_hi == kUnbounded ? kUnbounded : rest_hi - 1);
            }
            chain = rest_lo == 0 ? "(" + core + ")?" : core;
        }
    }
    for (uint64_t j = p_used; j-- > 0;) {
        std::string seq = (j ? "\",\" ws " : "") + prefix[j] + " ws" + (chain.empty() ? "" : " " + chain);
        if (j < lo) {
            chain = seq;
        } else { // optional from here on: a rule, so long tuples do not nest parentheses
            std::string name = unique_name(hint + "-from-" + std::to_string(j));
            HEARTH_TRY(add_rule(name, seq + " | \"\""));
            chain = name;
        }
    }
    return "\"[\" ws " + (chain.empty() ? "" : chain + " ") + "\"]\"";
}

// ---- strings ----

Result<std::string> Converter::string_expr(const Json& s, const std::string& path) {
    auto mn = count_keyword(s, "minLength", path);
    if (!mn) return mn.status();
    auto mx = count_keyword(s, "maxLength", path);
    if (!mx) return mx.status();
    bool lengths = mn->has_value() || mx->has_value();
    if (auto f = s.find("format"); f != s.end()) {
        if (!f->is_string()) return bad_field(path + "/format", "format must be a string");
        const char* rule = format_rule(f->get<std::string>());
        if (!rule) {
            return bad_field(path + "/format",
                             "format '" + f->get<std::string>().substr(0, 40) +
                                 "' is not supported (supported: date, time, date-time, uuid, email)");
        }
        if (s.contains("pattern")) return bad_field(path + "/pattern", "format together with pattern is not supported");
        if (lengths) return bad_field(path + "/format", "format together with minLength/maxLength is not supported");
        return kQuote + " " + fixed(rule) + " " + kQuote;
    }
    if (auto p = s.find("pattern"); p != s.end()) {
        if (!p->is_string()) return bad_field(path + "/pattern", "pattern must be a string");
        if (lengths) return bad_field(path + "/pattern", "pattern together with minLength/maxLength is not supported");
        auto g = pattern_to_gbnf(p->get_ref<const std::string&>(), lim_.max_pattern_bytes, lim_.max_repeat,
                                 path + "/pattern");
        if (!g) return g.status();
        fixed("char");
        return kQuote + " " + *g + " " + kQuote;
    }
    if (!lengths) return fixed("string");
    uint64_t lo = mn->value_or(0), hi = mx->value_or(kUnbounded);
    if (lo > hi) return bad_field(path + "/minLength", "minLength is above maxLength: no string fits");
    if (lo > lim_.max_repeat || (hi != kUnbounded && hi > lim_.max_repeat)) {
        return bad_field(path + (lo > lim_.max_repeat ? "/minLength" : "/maxLength"),
                         "minLength/maxLength above " + std::to_string(lim_.max_repeat) + " are not supported");
    }
    return kQuote + " " + fixed("char") + quant(lo, hi) + " " + kQuote;
}

// ---- numbers ----

namespace {

struct Bound {
    std::optional<double> value;
    bool exclusive = false;
};

// One of minimum/maximum/exclusiveMinimum/exclusiveMaximum, checked: finite, within +-1e18.
Status read_bound(const Json& s, const char* key, const std::string& path, std::optional<double>& out, bool allow_bool,
                  bool& bool_value) {
    auto it = s.find(key);
    if (it == s.end()) return Status::ok();
    if (allow_bool && it->is_boolean()) { // draft 4: exclusiveMinimum: true modifies minimum
        bool_value = it->get<bool>();
        return Status::ok();
    }
    if (!it->is_number()) return bad_field(path + "/" + key, std::string(key) + " must be a number");
    double v = it->get<double>();
    if (!std::isfinite(v) || std::fabs(v) > 1e18) {
        return bad_field(path + "/" + key, std::string(key) + " beyond +-1e18 is not supported");
    }
    out = v;
    return Status::ok();
}

// The tighter of an inclusive and an exclusive bound (lower: the larger one).
Bound tighter(std::optional<double> incl, std::optional<double> excl, bool lower) {
    if (!incl) return {excl, excl.has_value()};
    if (!excl) return {incl, false};
    bool excl_tighter = lower ? *excl >= *incl : *excl <= *incl;
    return excl_tighter ? Bound{excl, true} : Bound{incl, false};
}

} // namespace

Result<std::string> Converter::number_expr(const Json& s, const std::string& path, bool integer) {
    std::optional<double> mn, mx, xmn, xmx;
    bool xmn_flag = false, xmx_flag = false;
    HEARTH_TRY(read_bound(s, "minimum", path, mn, false, xmn_flag));
    HEARTH_TRY(read_bound(s, "maximum", path, mx, false, xmx_flag));
    HEARTH_TRY(read_bound(s, "exclusiveMinimum", path, xmn, true, xmn_flag));
    HEARTH_TRY(read_bound(s, "exclusiveMaximum", path, xmx, true, xmx_flag));
    if (xmn_flag && mn) std::swap(mn, xmn); // draft 4 form: minimum is the exclusive bound
    if (xmx_flag && mx) std::swap(mx, xmx);
    Bound lo = tighter(mn, xmn, true), hi = tighter(mx, xmx, false);
    if (!lo.value && !hi.value) return fixed(integer ? "integer" : "number");
    if (integer) {
        std::optional<int64_t> a, b;
        if (lo.value) a = int64_t(lo.exclusive ? std::floor(*lo.value) + 1 : std::ceil(*lo.value));
        if (hi.value) b = int64_t(hi.exclusive ? std::ceil(*hi.value) - 1 : std::floor(*hi.value));
        if (a && b && *a > *b) return bad_field(path, "no integer lies between the schema's bounds");
        return integer_range(a, b);
    }
    for (auto [b, name] : {std::pair{lo, "minimum"}, std::pair{hi, "maximum"}}) {
        if (b.value && std::floor(*b.value) != *b.value) {
            return bad_field(path + "/" + (b.exclusive ? "exclusiveM" + std::string(name).substr(1) : name),
                             std::string("a non-integral bound on a number is not supported (integral bounds "
                                         "are, and any bounds on integers)"));
        }
    }
    std::optional<int64_t> a, b;
    if (lo.value) a = int64_t(*lo.value);
    if (hi.value) b = int64_t(*hi.value);
    std::string r = number_range(a, lo.exclusive, b, hi.exclusive);
    if (r.empty()) return bad_field(path, "no number lies between the schema's bounds");
    return r;
}

} // namespace hearth::grammar::schema
