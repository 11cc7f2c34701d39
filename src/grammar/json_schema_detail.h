// grammar/json_schema_detail.h: pieces of the JSON Schema converter (json_schema.h), internal to
// src/grammar: GBNF text helpers, the fixed rules every schema grammar may use, `pattern` regexes, numeric
// ranges and string formats. Each returns GBNF text; the converter assembles rules from them.
#pragma once

#include "base/status.h"
#include "grammar/grammar.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::grammar::schema {

// A GBNF string literal for UTF-8 text ("..." with \" \\ and \xHH for control characters).
std::string gbnf_literal(std::string_view utf8);
// A GBNF character class listing the ranges of a normalized, non-empty class.
std::string gbnf_class(const CharClass& c);
// One JSON-string-encoded character out of a set of decoded characters: the set minus " \ and controls
// as a class, plus the shortest escape of each of those that the set contains. "[]" for an empty set.
std::string json_char(const CharClass& decoded);

// The fixed rules, by name (ws, char, string, integer, number, boolean, null, value, object, array, and
// the formats date, time, date-time, uuid, email with their helpers), and the ones each needs.
struct FixedRule {
    const char* name;
    const char* body;
    std::vector<const char*> needs;
};
const std::vector<FixedRule>& fixed_rules();
const FixedRule* find_fixed_rule(std::string_view name);
// The text of the fixed rules in `used` and of those they need, in fixed_rules() order.
std::string render_fixed(std::set<std::string> used);
// The fixed rule a supported `format` maps to (nullptr if unsupported).
const char* format_rule(std::string_view format);

// GBNF for the content (between the quotes) of JSON strings whose decoded text matches an ECMAScript
// `pattern` with search semantics (unanchored ends allow any characters, through rule `char`). Errors:
// Code::BadField with `field`, naming the construct.
Result<std::string> pattern_to_gbnf(std::string_view pattern, size_t max_bytes, uint32_t max_repeat,
                                    const std::string& field);

// Decimal integers in [lo, hi] (nullopt: unbounded), each written once, without "-0" or leading zeros.
// Both bounds within +-1e18 and lo <= hi.
std::string integer_range(std::optional<int64_t> lo, std::optional<int64_t> hi);
// JSON numbers in a range with integral bounds (see json_schema.h for the shapes generated); "" when no
// number fits.
std::string number_range(std::optional<int64_t> lo, bool lo_exclusive, std::optional<int64_t> hi, bool hi_exclusive);

} // namespace hearth::grammar::schema
