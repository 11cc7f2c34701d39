// grammar/json_schema.h: JSON Schema -> GBNF text (gbnf.h), so a model's output is a JSON document valid
// against the schema. Used for OpenAI `response_format` (json_schema, json_object), Ollama `format` and
// tool-call arguments.
//
// The promise: every text the grammar accepts parses as JSON (Python's json.loads) and validates against the
// schema (JSON Schema 2020-12, formats asserted). The converse is not promised: the grammar may leave out
// valid documents (see "narrower than the schema" below), but never accepts an invalid one. A keyword the
// converter cannot honour is an error naming it, never silently ignored.
//
// Supported:
//   type (object, array, string, number, integer, boolean, null, and arrays of them); enum; const;
//   properties + required (properties appear in the declared order; optional ones may be left out);
//   additionalProperties (false, true or a schema; extra keys come after the declared ones and never
//   repeat a declared key); items, prefixItems (and the draft-7 forms items: [...] + additionalItems);
//   minItems, maxItems; anyOf; oneOf when its branches are provably disjoint (different types, different
//   const/enum values, or a required property whose const/enum values differ, e.g. a discriminator); allOf
//   when its members merge (same keywords agree, properties/required union, bounds tighten, types
//   intersect); $ref to local JSON pointers ("#", "#/$defs/x", "#/definitions/x", ...), recursion included;
//   minLength, maxLength; format date, time, date-time (RFC 3339), uuid, email; pattern (an ECMAScript
//   regex subset: literals, escapes, . [classes] \d \w \s \D \W \S, groups (?:...) (?<name>...), |,
//   * + ? {n} {n,} {n,m} and lazy forms, ^ and $ at the ends); minimum, maximum, exclusiveMinimum,
//   exclusiveMaximum (any bounds within +-1e18 for integers; integral ones for numbers). A required property
//   missing from `properties` is generated as an additional property unless additionalProperties is false.
//   Annotations are ignored: title, description, examples, default, $schema, $id, $comment, $anchor,
//   deprecated, readOnly, writeOnly, contentEncoding, contentMediaType, discriminator, $defs, definitions.
// Refused with an error naming the keyword (and the JSON pointer as the Status field): every other
//   keyword (multipleOf, minProperties, maxProperties, patternProperties, propertyNames, dependentRequired,
//   dependentSchemas, if/then/else, not, contains, uniqueItems: true, unevaluated*, nullable, ...), formats
//   other than the five above, remote or anchor $refs, $id below the root, a false schema where a value is needed,
//   non-integral bounds on `number`, patterns with backreferences, lookaround, \b, \p{...} or anchors
//   inside, pattern/format combined with minLength/maxLength, and anything over the limits below.
//
// Narrower than the schema (valid but not every valid document):
//   - no whitespace inside enum/const values; between tokens at most one space, or one newline followed by
//     up to 40 spaces or tabs (enough for pretty-printed JSON; a model cannot pad forever); nothing before
//     the root value or after it;
//   - additionalProperties absent means no extra properties when `properties` is given (as llama.cpp does);
//     an object schema without `properties` allows any members; extra keys use no escape sequences;
//   - schemas without `type` take the types their keywords imply (properties -> object, items -> array,
//     ...), any value when none does;
//   - numbers: at most 16 integer digits (19 where a range is open on one side), 6 fraction digits and 2
//     exponent digits, so every number is a finite double; numbers with bounds have no exponent and a
//     fraction ending in a nonzero digit; a bounded number whose exclusive bound is 1e9 or more in
//     magnitude is generated as an integer only (so decimal rounding cannot reach the bound);
//   - \D \W \S and negated classes with a shorthand in patterns keep to what both ECMAScript and Python's
//     `re` accept: \d \w \s match ASCII only, their negations too, and negated spaces also leave out
//     U+001C..U+001F (space to Python); `.` excludes the four ECMAScript line terminators;
//   - strings escape with the standard short escapes or \u (no \u escapes of surrogates, so lengths count
//     the same as Python's len()); strings with a pattern or format use only the shortest escapes.
//
// json_object mode (OpenAI response_format {"type": "json_object"}) and Ollama's format: "json" both mean
// "any JSON object" (json_object_gbnf()): Ollama's own json grammar starts with an object too, and clients
// asking for JSON expect an object.
//
// Cost: time and output size linear in the schema for everything but integer ranges (quadratic in the
// number of digits) and enums (linear in their total size); all bounded by SchemaLimits.
#pragma once

#include "base/status.h"
#include "grammar/gbnf.h"
#include "grammar/grammar.h"

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace hearth::grammar {

struct SchemaLimits {
    size_t max_json_depth = 256;        // nesting of the schema document's arrays and objects (checked first,
                                        // without recursion: copying and printing JSON recurse)
    size_t max_json_values = 1 << 20;   // values in the schema document
    size_t max_depth = 64;              // nested schemas (through properties, items, combinators, $ref)
    size_t max_schemas = 10000;         // subschemas converted
    size_t max_enum = 10000;            // values in one enum
    size_t max_pattern_bytes = 10000;   // one `pattern`
    uint32_t max_repeat = 10000;        // maxLength, maxItems and {n,m} in patterns
    size_t max_grammar_bytes = 1 << 20; // the GBNF text produced
};

// The GBNF text (rule `root` is the document). The schema should come from a parser that keeps object
// order (nlohmann::ordered_json) so properties keep the declared order; a nlohmann::json converts, with
// its keys sorted. Errors: Code::BadField with field = JSON pointer into the schema ("" for the root,
// "/properties/age/multipleOf"), message naming the keyword and why.
Result<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema, const SchemaLimits& limits = {});

// json_schema_to_gbnf, then parse_gbnf.
Result<Grammar> compile_json_schema(const nlohmann::ordered_json& schema, const SchemaLimits& limits = {});

// Any JSON object / any JSON value, with the same whitespace rules.
std::string json_object_gbnf();
std::string json_value_gbnf();

} // namespace hearth::grammar
