// grammar/json_schema.cpp: the converter's driver, rule names, $ref, anyOf/oneOf/allOf and enum/const
// (json_schema_converter.h).
#include "grammar/json_schema.h"

#include "base/utf8.h"
#include "grammar/json_schema_converter.h"
#include "grammar/json_schema_detail.h"
#include "grammar/utf8_decode.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace hearth::grammar {
namespace schema {

namespace {

constexpr std::string_view kAnnotations[] = {
    "title",      "description",     "examples",         "default",       "$schema",
    "$id",        "$comment",        "$anchor",          "deprecated",    "readOnly",
    "writeOnly",  "contentEncoding", "contentMediaType", "discriminator", "$defs",
    "definitions"};
constexpr std::string_view kSupported[] = {
    "type",   "enum",        "const",           "properties", "required",         "additionalProperties",
    "items",  "prefixItems", "additionalItems", "minItems",   "maxItems",         "uniqueItems",
    "anyOf",  "oneOf",       "allOf",           "$ref",       "minLength",        "maxLength",
    "format", "pattern",     "minimum",         "maximum",    "exclusiveMinimum", "exclusiveMaximum"};

template <size_t N> bool in(const std::string_view (&set)[N], std::string_view k) {
    return std::find(std::begin(set), std::end(set), k) != std::end(set);
}

std::string sanitize(std::string_view hint) {
    std::string out;
    for (char c : hint) {
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (word) {
            out += c;
        } else if (!out.empty() && out.back() != '-') {
            out += '-';
        }
        if (out.size() >= 48) break;
    }
    while (!out.empty() && out.back() == '-')
        out.pop_back();
    return out.empty() ? "r" : out;
}

bool is_rule_name(const std::string& e) {
    return !e.empty() && std::all_of(e.begin(), e.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    });
}

std::string where(const std::string& path) {
    return path.empty() ? "the root schema" : "the schema at '" + path + "'";
}

struct DepthGuard {
    size_t& d;
    explicit DepthGuard(size_t& depth) : d(depth) { d++; }
    ~DepthGuard() { d--; }
};

} // namespace

std::string pointer_escape(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

uint8_t value_type(const Json& v) {
    switch (v.type()) {
    case Json::value_t::null:
        return kNull;
    case Json::value_t::boolean:
        return kBool;
    case Json::value_t::object:
        return kObject;
    case Json::value_t::array:
        return kArray;
    case Json::value_t::string:
        return kString;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
        return kInteger;
    case Json::value_t::number_float: {
        double d = v.get<double>();
        return std::isfinite(d) && std::floor(d) == d ? kInteger : kFraction;
    }
    default:
        return 0;
    }
}

void CodePointTrie::insert(const std::vector<uint32_t>& cps) {
    uint32_t at = 0;
    for (uint32_t c : cps) {
        auto [it, added] = nodes[at].kids.emplace(c, uint32_t(nodes.size()));
        if (added) nodes.emplace_back();
        at = it->second;
    }
    nodes[at].terminal = true;
}

std::vector<uint32_t> code_points(std::string_view utf8) {
    std::vector<uint32_t> out;
    Utf8Decoder d;
    uint32_t cp = 0;
    for (char c : utf8)
        if (d.feed(uint8_t(c), cp) == Utf8Step::Done) out.push_back(cp);
    return out;
}

bool is_annotation(std::string_view keyword) {
    return in(kAnnotations, keyword);
}

bool has_validation_keywords(const Json& s, std::string_view except) {
    if (!s.is_object()) return !s.is_boolean() || !s.get<bool>();
    for (auto it = s.begin(); it != s.end(); ++it)
        if (it.key() != except && !is_annotation(it.key())) return true;
    return false;
}

std::string Converter::fixed(const char* name) {
    fixed_used_.insert(name);
    return name;
}

std::string Converter::unique_name(const std::string& hint) {
    std::string base = sanitize(hint);
    std::string name = base;
    uint32_t& n = next_suffix_[base]; // resume where this base left off: linear in the names made
    if (n < 2) n = 2;
    while (names_.count(name))
        name = base + "-" + std::to_string(n++);
    names_.insert(name);
    return name;
}

Status Converter::add_rule(const std::string& name, const std::string& body) {
    bytes_ += name.size() + body.size() + 6;
    if (bytes_ > lim_.max_grammar_bytes) {
        return bad_field("", "the grammar for this schema would exceed " + std::to_string(lim_.max_grammar_bytes) +
                                 " bytes");
    }
    rules_.push_back({name, body});
    return Status::ok();
}

std::string render_fixed(std::set<std::string> used) {
    for (bool grew = true; grew;) {
        grew = false;
        for (const FixedRule& r : fixed_rules()) {
            if (!used.count(r.name)) continue;
            for (const char* n : r.needs)
                grew = used.insert(n).second || grew;
        }
    }
    std::string out;
    for (const FixedRule& r : fixed_rules())
        if (used.count(r.name)) out += std::string(r.name) + " ::= " + r.body + "\n";
    return out;
}

// Depth and size of a JSON document, without recursion.
Status check_document(const Json& doc, const SchemaLimits& lim) {
    std::vector<std::pair<const Json*, size_t>> stack{{&doc, 1}};
    size_t values = 0;
    while (!stack.empty()) {
        auto [j, depth] = stack.back();
        stack.pop_back();
        if (++values > lim.max_json_values) {
            return bad_field("", "the schema has more than " + std::to_string(lim.max_json_values) + " JSON values");
        }
        if (depth > lim.max_json_depth) {
            return bad_field("",
                             "the schema nests arrays and objects deeper than " + std::to_string(lim.max_json_depth));
        }
        if (j->is_structured()) {
            for (const Json& child : *j)
                stack.push_back({&child, depth + 1});
        }
    }
    return Status::ok();
}

Result<std::string> Converter::run() {
    HEARTH_TRY(check_document(root_, lim_));
    for (const FixedRule& r : fixed_rules())
        names_.insert(r.name);
    names_.insert("root");
    auto e = expr(root_, "", "root");
    if (!e) return e.status();
    std::string text = "root ::= " + *e + "\n";
    for (const auto& [name, body] : rules_)
        text += name + " ::= " + body + "\n";
    text += render_fixed(fixed_used_);
    if (text.size() > lim_.max_grammar_bytes) {
        return bad_field("", "the grammar for this schema would exceed " + std::to_string(lim_.max_grammar_bytes) +
                                 " bytes");
    }
    return text;
}

Result<std::string> Converter::rule_for(const Json& s, const std::string& path, const std::string& hint) {
    auto e = expr(s, path, hint);
    if (!e || is_rule_name(*e)) return e;
    std::string name = unique_name(hint);
    HEARTH_TRY(add_rule(name, *e));
    return name;
}

Result<uint8_t> Converter::types_of(const Json& s, const std::string& path) const {
    if (auto t = s.find("type"); t != s.end()) {
        std::vector<Json> names = t->is_array() ? t->get<std::vector<Json>>() : std::vector<Json>{*t};
        uint8_t bits = 0;
        for (const Json& n : names) {
            auto it = n.is_string() ? std::find(std::begin(kTypeNames), std::end(kTypeNames), n.get<std::string>())
                                    : std::end(kTypeNames);
            if (it == std::end(kTypeNames)) {
                return bad_field(path + "/type", "type must be one of null, boolean, object, array, string, "
                                                 "integer, number (or an array of them), not " +
                                                     dump(n));
            }
            bits |= kTypeBitsByName[it - std::begin(kTypeNames)];
        }
        if (bits == 0) return bad_field(path + "/type", "type is an empty array: no value is allowed");
        return bits;
    }
    // No type: the types the keywords imply, else any.
    uint8_t bits = 0;
    for (const char* k : {"properties", "required", "additionalProperties"})
        if (s.contains(k)) bits |= kObject;
    for (const char* k : {"items", "prefixItems", "additionalItems", "minItems", "maxItems"})
        if (s.contains(k)) bits |= kArray;
    for (const char* k : {"minLength", "maxLength", "pattern", "format"})
        if (s.contains(k)) bits |= kString;
    for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
        if (s.contains(k)) bits |= kInteger | kFraction;
    return bits ? bits : uint8_t(kAnyType);
}

Result<std::string> Converter::expr(const Json& s, const std::string& path, const std::string& hint) {
    if (++n_schemas_ > lim_.max_schemas) {
        return bad_field(path, "schema has more than " + std::to_string(lim_.max_schemas) + " subschemas");
    }
    if (depth_ >= lim_.max_depth) {
        return bad_field(path, "schema nested deeper than " + std::to_string(lim_.max_depth) + " levels");
    }
    DepthGuard guard(depth_);
    if (s.is_boolean()) {
        if (s.get<bool>()) return fixed("value");
        return bad_field(path, "schema false allows no value");
    }
    if (!s.is_object()) return bad_field(path, "a schema must be an object or a boolean, not " + dump(s).substr(0, 40));
    for (auto it = s.begin(); it != s.end(); ++it) {
        if (!is_annotation(it.key()) && !in(kSupported, it.key())) {
            return bad_field(path + "/" + pointer_escape(it.key()),
                             "unsupported keyword '" + it.key() + "' in " + where(path));
        }
    }
    if (!path.empty() && s.contains("$id")) { // a new base URI would change what "#/..." means below it
        return bad_field(path + "/$id", "$id inside a schema (a new base for $ref) is not supported");
    }
    if (auto u = s.find("uniqueItems"); u != s.end() && !(u->is_boolean() && !u->get<bool>())) {
        return bad_field(path + "/uniqueItems", "uniqueItems: true is not supported");
    }
    if (auto ref = s.find("$ref"); ref != s.end()) {
        if (!has_validation_keywords(s, "$ref")) return ref_rule(*ref, path + "/$ref");
        Json rest = s;
        rest.erase("$ref");
        Json all = {{"allOf", Json::array({Json{{"$ref", *ref}}, rest})}};
        auto merged = flatten_all_of(all, path);
        if (!merged) return merged.status();
        return expr(*merged, path, hint);
    }
    if (s.contains("allOf")) {
        auto merged = flatten_all_of(s, path);
        if (!merged) return merged.status();
        return expr(*merged, path, hint);
    }
    if (s.contains("anyOf") || s.contains("oneOf")) return union_expr(s, path, hint);
    if (s.contains("enum") || s.contains("const")) return enum_expr(s, path, hint);
    auto types = types_of(s, path);
    if (!types) return types.status();
    if (*types == kAnyType && !has_validation_keywords(s)) return fixed("value");
    std::vector<std::string> alts;
    uint8_t kinds = *types & kFraction ? uint8_t(*types & ~kInteger) : *types; // number counts once
    const std::string sep = kinds & (kinds - 1) ? "-" : "";                    // several types: a rule each
    auto add = [&](Result<std::string> e, const char* type) -> Status {
        if (!e) return e.status();
        if (sep.empty() || is_rule_name(*e)) {
            alts.push_back(*e);
            return Status::ok();
        }
        std::string name = unique_name(hint + "-" + type);
        HEARTH_TRY(add_rule(name, *e));
        alts.push_back(name);
        return Status::ok();
    };
    if (*types & kObject) HEARTH_TRY(add(object_expr(s, path, hint), "object"));
    if (*types & kArray) HEARTH_TRY(add(array_expr(s, path, hint), "array"));
    if (*types & kString) HEARTH_TRY(add(string_expr(s, path), "string"));
    if (*types & kFraction) {
        HEARTH_TRY(add(number_expr(s, path, false), "number"));
    } else if (*types & kInteger) {
        HEARTH_TRY(add(number_expr(s, path, true), "integer"));
    }
    if (*types & kBool) alts.push_back(fixed("boolean"));
    if (*types & kNull) alts.push_back(fixed("null"));
    if (alts.size() == 1) return alts[0];
    std::string out = "(";
    for (size_t i = 0; i < alts.size(); i++)
        out += (i ? " | " : "") + alts[i];
    return out + ")";
}

// ---- $ref ----

Result<const Json*> Converter::lookup(const Json& ref, const std::string& path) const {
    if (!ref.is_string()) return bad_field(path, "$ref must be a string");
    const std::string& r = ref.get_ref<const std::string&>();
    if (r.empty() || r[0] != '#' || (r.size() > 1 && r[1] != '/')) {
        return bad_field(path, "$ref '" + r.substr(0, 80) +
                                   "' is not supported: only references into this schema ('#', '#/$defs/...') are");
    }
    const Json* at = &root_;
    size_t pos = 1;
    while (pos < r.size()) {
        size_t next = r.find('/', pos + 1);
        std::string token = r.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
        std::string key;
        for (size_t i = 0; i < token.size(); i++) {
            if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
                key += token[++i] == '0' ? '~' : '/';
            } else {
                key += token[i];
            }
        }
        const Json* child = nullptr;
        if (at->is_object()) {
            auto it = at->find(key);
            if (it != at->end()) child = &*it;
        } else if (at->is_array() && !key.empty() && key.size() < 10 &&
                   std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            size_t i = std::stoul(key);
            if (i < at->size()) child = &(*at)[i];
        }
        if (!child) return bad_field(path, "$ref '" + r.substr(0, 80) + "' does not resolve in this schema");
        at = child;
        pos = next == std::string::npos ? r.size() : next;
    }
    return at;
}

Result<std::string> Converter::ref_rule(const Json& ref, const std::string& path) {
    auto target = lookup(ref, path);
    if (!target) return target.status();
    const std::string& r = ref.get_ref<const std::string&>();
    if (auto it = ref_rules_.find(r); it != ref_rules_.end()) return it->second;
    std::string last = r.size() > 1 ? r.substr(r.rfind('/') + 1) : "root-ref";
    std::string name = unique_name(last);
    ref_rules_[r] = name; // before converting the target, so a recursive reference finds it
    auto e = expr(**target, r.substr(1), name);
    if (!e) return e.status();
    HEARTH_TRY(add_rule(name, *e));
    return name;
}

// `s` with its top-level $ref (chains included) replaced by the target merged with the siblings.
Result<Json> Converter::resolved(const Json& s, const std::string& path, int hops) const {
    if (s.is_boolean()) {
        if (s.get<bool>()) return Json::object();
        return bad_field(path, "schema false allows no value");
    }
    if (!s.is_object()) return bad_field(path, "a schema must be an object or a boolean");
    auto ref = s.find("$ref");
    if (ref == s.end()) return s;
    if (hops > 32) return bad_field(path, "more than 32 chained $ref");
    auto target = lookup(*ref, path + "/$ref");
    if (!target) return target.status();
    auto t = resolved(**target, path, hops + 1);
    if (!t || !has_validation_keywords(s, "$ref")) return t;
    Json rest = s;
    rest.erase("$ref");
    return merge(*t, rest, path);
}

// ---- enum / const ----

Result<std::string> Converter::enum_expr(const Json& s, const std::string& path, const std::string& hint) {
    for (auto it = s.begin(); it != s.end(); ++it) {
        if (!is_annotation(it.key()) && it.key() != "enum" && it.key() != "const" && it.key() != "type") {
            return bad_field(path + "/" + pointer_escape(it.key()),
                             "enum/const together with '" + it.key() + "' is not supported");
        }
    }
    std::vector<Json> values;
    if (s.contains("enum")) {
        const Json& e = s.at("enum");
        if (!e.is_array() || e.empty()) return bad_field(path + "/enum", "enum must be a non-empty array");
        if (e.size() > lim_.max_enum) {
            return bad_field(path + "/enum", "enum has " + std::to_string(e.size()) + " values; the limit is " +
                                                 std::to_string(lim_.max_enum));
        }
        values = e.get<std::vector<Json>>();
    }
    if (s.contains("const")) {
        const Json& c = s.at("const");
        if (!values.empty() && std::find(values.begin(), values.end(), c) == values.end()) {
            return bad_field(path + "/const", "const is not one of the enum values");
        }
        values = {c};
    }
    auto types = types_of(s, path);
    if (!types) return types.status();
    std::vector<std::string> texts;
    for (const Json& v : values) {
        if (!(value_type(v) & *types)) continue;
        std::string t = dump(v);
        if (std::find(texts.begin(), texts.end(), t) == texts.end()) texts.push_back(std::move(t));
    }
    if (texts.empty()) return bad_field(path + "/type", "no enum/const value has the schema's type");
    return literal_trie(texts, hint);
}

// Alternation of literal texts. Up to 32 are listed as they are (readable); more are factored as a trie of
// code points with one rule per branching node, so the matcher follows one path instead of trying every
// value (a parse stack each).
Result<std::string> Converter::literal_trie(const std::vector<std::string>& texts, const std::string& hint) {
    if (texts.size() <= 32) {
        std::string out;
        for (size_t i = 0; i < texts.size(); i++)
            out += (i ? " | " : "") + gbnf_literal(texts[i]);
        return texts.size() == 1 ? out : "(" + out + ")";
    }
    CodePointTrie trie;
    for (const std::string& t : texts)
        trie.insert(code_points(t)); // dump() output is valid UTF-8
    const std::vector<CodePointTrie::Node>& nodes = trie.nodes;
    // Rules for the root and for every node reached at the end of a compressed edge that branches.
    std::map<uint32_t, std::string> names;
    std::vector<uint32_t> todo{0};
    std::string root_body;
    while (!todo.empty()) {
        uint32_t v = todo.back();
        todo.pop_back();
        std::vector<std::string> alts;
        for (auto [cp, w] : nodes[v].kids) {
            std::string label;
            append_utf8(label, cp);
            while (!nodes[w].terminal && nodes[w].kids.size() == 1) {
                append_utf8(label, nodes[w].kids.begin()->first);
                w = nodes[w].kids.begin()->second;
            }
            std::string alt = gbnf_literal(label);
            if (!nodes[w].kids.empty()) {
                if (!names.count(w)) {
                    names[w] = unique_name(hint + "-v");
                    todo.push_back(w);
                }
                alt += " " + names[w];
            }
            alts.push_back(alt);
        }
        if (nodes[v].terminal) alts.push_back("\"\"");
        std::string body;
        for (size_t i = 0; i < alts.size(); i++)
            body += (i ? " | " : "") + alts[i];
        if (v == 0) {
            root_body = alts.size() == 1 ? body : "(" + body + ")";
        } else {
            HEARTH_TRY(add_rule(names[v], body));
        }
    }
    return root_body;
}

} // namespace schema

Result<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema, const SchemaLimits& limits) {
    return schema::Converter(schema, limits).run();
}

Result<Grammar> compile_json_schema(const nlohmann::ordered_json& schema, const SchemaLimits& limits) {
    auto text = json_schema_to_gbnf(schema, limits);
    if (!text) return text.status();
    GbnfLimits gl;
    gl.max_input_bytes = std::max(gl.max_input_bytes, limits.max_grammar_bytes);
    gl.max_repeat = std::max(gl.max_repeat, limits.max_repeat);
    auto g = parse_gbnf(*text, gl);
    if (!g) return bad_field("", "the schema's grammar is refused: " + g.message());
    return g;
}

std::string json_object_gbnf() {
    return "root ::= object\n" + schema::render_fixed({"object"});
}

std::string json_value_gbnf() {
    return "root ::= value\n" + schema::render_fixed({"value"});
}

} // namespace hearth::grammar
