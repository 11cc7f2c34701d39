// grammar/json_schema_converter.h: the JSON Schema -> GBNF converter behind json_schema.h, internal to
// src/grammar. json_schema.cpp has the driver, rule naming, $ref, the combinators (anyOf, oneOf, allOf)
// and enum/const; json_schema_types.cpp has the per-type rules (object, array, string, number).
//
// A schema becomes a GBNF expression; schemas nested in it (property values, items, branches, $ref targets)
// become rules of their own, so expressions stay shallow whatever the schema's depth. Every $ref target
// becomes one rule, named before its body is converted, which is what lets recursive schemas terminate.
#pragma once

#include "base/status.h"
#include "grammar/json_schema.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace hearth::grammar::schema {

using Json = nlohmann::ordered_json;

// JSON types as bits; "number" is Integer | Fraction (a number with a fractional part).
enum TypeBits : uint8_t {
    kNull = 1,
    kBool = 2,
    kObject = 4,
    kArray = 8,
    kString = 16,
    kInteger = 32,
    kFraction = 64,
    kAnyType = 127,
};

inline constexpr std::string_view kTypeNames[] = {"null", "boolean", "object", "array", "string", "integer", "number"};
inline constexpr uint8_t kTypeBitsByName[] = {kNull, kBool, kObject, kArray, kString, kInteger, kInteger | kFraction};

bool is_annotation(std::string_view keyword);
std::string pointer_escape(std::string_view key); // for a JSON pointer: ~ -> ~0, / -> ~1
std::string dump(const Json& j);                  // compact, UTF-8 kept, invalid UTF-8 replaced
uint8_t value_type(const Json& v);                // the TypeBits of a value (1.0 is an integer)

// A trie of code point strings (enum values, object keys); nodes[0] is the root.
struct CodePointTrie {
    struct Node {
        std::map<uint32_t, uint32_t> kids; // code point -> node
        bool terminal = false;             // a string ends here
    };
    std::vector<Node> nodes = std::vector<Node>(1);
    void insert(const std::vector<uint32_t>& cps);
};
// The code points of UTF-8 text (invalid bytes skipped).
std::vector<uint32_t> code_points(std::string_view utf8);

// One member an object grammar may write: its key, the rule of its value, and whether it must be there.
struct ObjectMember {
    std::string key;
    std::string value;
    bool required;
};
// Keywords other than annotations (and $defs/definitions, which only hold schemas).
bool has_validation_keywords(const Json& s, std::string_view except = "");

class Converter {
public:
    Converter(const Json& root, const SchemaLimits& limits) : root_(root), lim_(limits) {}
    Result<std::string> run();

    // json_schema.cpp
    Result<std::string> expr(const Json& s, const std::string& path, const std::string& hint);
    Result<std::string> rule_for(const Json& s, const std::string& path, const std::string& hint);
    Result<uint8_t> types_of(const Json& s, const std::string& path) const;
    std::string fixed(const char* name); // a fixed rule (json_schema_detail.h), marked as used
    std::string unique_name(const std::string& hint);
    Status add_rule(const std::string& name, const std::string& body);

    // json_schema_types.cpp
    Result<std::string> object_expr(const Json& s, const std::string& path, const std::string& hint);
    Result<std::string> array_expr(const Json& s, const std::string& path, const std::string& hint);
    Result<std::string> string_expr(const Json& s, const std::string& path);
    Result<std::string> number_expr(const Json& s, const std::string& path, bool integer);

private:
    const Json& root_;
    const SchemaLimits& lim_;
    std::vector<std::pair<std::string, std::string>> rules_; // (name, body) in output order
    std::set<std::string> names_;
    std::map<std::string, uint32_t> next_suffix_; // base name -> next "-<n>" to try
    std::set<std::string> fixed_used_;
    std::map<std::string, std::string> ref_rules_; // JSON pointer -> rule
    size_t depth_ = 0;
    size_t n_schemas_ = 0;
    size_t bytes_ = 0;

    Result<std::string> ref_rule(const Json& ref, const std::string& path);
    Result<const Json*> lookup(const Json& ref, const std::string& path) const;
    Result<Json> resolved(const Json& s, const std::string& path, int hops = 0) const;
    Result<Json> flatten_all_of(const Json& s, const std::string& path, int depth = 0) const;
    Result<Json> merge(const Json& a, const Json& b, const std::string& path) const;
    Result<std::string> union_expr(const Json& s, const std::string& path, const std::string& hint);
    Status check_disjoint(const std::vector<Json>& branches, const std::string& path) const;
    Result<std::string> enum_expr(const Json& s, const std::string& path, const std::string& hint);
    Result<std::string> literal_trie(const std::vector<std::string>& texts, const std::string& hint);
    Status object_members(const Json& s, const std::string& path, const std::string& hint,
                          std::vector<ObjectMember>& members, std::string& extra_kv, bool& any_object);
    Result<std::string> object_body(const std::vector<ObjectMember>& members, const std::string& extra_kv,
                                    const std::string& hint);
    Result<std::string> not_keys_expr(const std::vector<std::string>& keys, const std::string& hint);
};

} // namespace hearth::grammar::schema
