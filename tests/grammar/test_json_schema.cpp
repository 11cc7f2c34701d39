// JSON Schema -> grammar: the fixtures' valid instances are accepted (compact and pretty-printed), invalid
// and narrowed ones rejected, random sentences are well-formed JSON, and every refused keyword or limit is
// an error naming it. (Validation of random sentences against the schemas is the Python jsonschema test,
// validate_samples.py.)
#include "grammar/json_schema.h"
#include "grammar_test_util.h"
#include "schema_fixtures.h"

#include <gtest/gtest.h>

namespace hearth::grammar {
namespace {

using Json = nlohmann::ordered_json;

Matcher schema_matcher(const Json& schema) {
    auto g = compile_json_schema(schema);
    if (!g)
        throw std::runtime_error("schema does not compile: " + g.message() + " (field '" + g.status().field() + "')");
    auto m = Matcher::create(std::move(g.value()), test::roomy_limits());
    if (!m) throw std::runtime_error(m.message());
    return std::move(m.value());
}

TEST(GrammarSchema, FixturesAcceptValidRejectInvalid) {
    Json fixtures = test::load_schema_fixtures(std::string(HEARTH_TEST_DATA) + "/grammar/schemas.json");
    ASSERT_GE(fixtures.size(), 30u);
    for (const Json& f : fixtures) {
        SCOPED_TRACE(f["name"].get<std::string>());
        Matcher m = schema_matcher(f["schema"]);
        for (const Json& v : f["valid"]) {
            EXPECT_TRUE(test::accepts(m, test::dump_json(v))) << test::dump_json(v);
            if (!f.value("compact_only", false)) {
                EXPECT_TRUE(test::accepts(m, test::dump_json(v, 2))) << test::dump_json(v, 2);
            }
        }
        for (const char* list : {"invalid", "narrowed"}) {
            if (!f.contains(list)) continue;
            for (const Json& v : f[list])
                EXPECT_FALSE(test::accepts(m, test::dump_json(v))) << list << ": " << test::dump_json(v);
        }
    }
}

TEST(GrammarSchema, RandomSentencesAreJson) {
    Json fixtures = test::load_schema_fixtures(std::string(HEARTH_TEST_DATA) + "/grammar/schemas.json");
    std::mt19937_64 rng(7);
    for (const Json& f : fixtures) {
        SCOPED_TRACE(f["name"].get<std::string>());
        Matcher m = schema_matcher(f["schema"]);
        int ok = 0;
        for (int i = 0; i < 20; i++) {
            auto s = test::random_sentence(m, rng, 120);
            if (!s) continue;
            ok++;
            EXPECT_TRUE(Json::accept(*s)) << *s;
        }
        EXPECT_GE(ok, 15);
    }
}

TEST(GrammarSchema, GrammarTextIsReadable) {
    Json schema = Json::parse(R"j({"type": "object", "properties": {"name": {"type": "string"},
        "size": {"enum": ["S", "M", "L"]}}, "required": ["name", "size"], "additionalProperties": false})j");
    auto text = json_schema_to_gbnf(schema);
    ASSERT_TRUE(text) << text.message();
    EXPECT_EQ(*text,
              "root ::= \"{\" ws \"\\\"name\\\"\" ws \":\" ws string ws \",\" ws \"\\\"size\\\"\" ws \":\" ws "
              "root-size ws \"}\"\n"
              "root-size ::= (\"\\\"S\\\"\" | \"\\\"M\\\"\" | \"\\\"L\\\"\")\n"
              "ws ::= | \" \" | \"\\n\" [ \\t]{0,40}\n"
              "char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | "
              "[dD] [0-7] [0-9a-fA-F]{2}))\n"
              "string ::= \"\\\"\" char* \"\\\"\"\n");
}

TEST(GrammarSchema, JsonObjectAndValueModes) {
    auto obj = parse_gbnf(json_object_gbnf());
    ASSERT_TRUE(obj) << obj.message();
    auto mo = Matcher::create(std::move(obj.value()));
    ASSERT_TRUE(mo);
    EXPECT_TRUE(test::accepts(*mo, R"j({"a": [1, {"b": null}], "c": "d"})j"));
    EXPECT_FALSE(test::accepts(*mo, "[1]"));
    EXPECT_FALSE(test::accepts(*mo, "\"s\""));
    auto val = parse_gbnf(json_value_gbnf());
    ASSERT_TRUE(val) << val.message();
    auto mv = Matcher::create(std::move(val.value()));
    ASSERT_TRUE(mv);
    EXPECT_TRUE(test::accepts(*mv, "[1, 2.5e3, true]"));
    EXPECT_TRUE(test::accepts(*mv, "\"s\""));
}

TEST(GrammarSchema, WhitespaceIsBounded) {
    Matcher m = schema_matcher(Json::parse(R"j({"type": "array", "items": {"type": "integer"}})j"));
    EXPECT_TRUE(test::accepts(m, "[\n" + std::string(40, ' ') + "1]"));
    EXPECT_FALSE(test::accepts(m, "[\n" + std::string(41, ' ') + "1]"));
    EXPECT_FALSE(test::accepts(m, "[  1]"));
    EXPECT_FALSE(test::accepts(m, " [1]")); // nothing before the root value
    EXPECT_FALSE(test::accepts(m, "[1] ")); // or after it
}

TEST(GrammarSchema, EveryRefusal) {
    struct Case {
        const char* schema;
        const char* field;
        const char* message; // a part of it
    };
    const Case cases[] = {
        {R"j({"type": "integer", "multipleOf": 3})j", "/multipleOf",
         "unsupported keyword 'multipleOf' in the root schema"},
        {R"j({"properties": {"a": {"type": "object", "minProperties": 1}}})j", "/properties/a/minProperties",
         "unsupported keyword 'minProperties' in the schema at '/properties/a'"},
        {R"j({"type": "object", "patternProperties": {"^x": {}}})j", "/patternProperties", "patternProperties"},
        {R"j({"if": {"type": "string"}, "then": {"minLength": 1}})j", "/if", "unsupported keyword 'if'"},
        {R"j({"not": {"type": "string"}})j", "/not", "'not'"},
        {R"j({"type": "array", "contains": {"type": "integer"}})j", "/contains", "'contains'"},
        {R"j({"type": "array", "uniqueItems": true})j", "/uniqueItems", "uniqueItems: true"},
        {R"j({"type": "string", "nullable": true})j", "/nullable", "'nullable'"},
        {R"j({"type": "string", "format": "uri"})j", "/format", "format 'uri' is not supported"},
        {R"j({"type": "str"})j", "/type", "type must be one of"},
        {R"j({"$ref": "other.json#/x"})j", "/$ref", "only references into this schema"},
        {R"j({"$ref": "#/$defs/missing"})j", "/$ref", "does not resolve"},
        {R"j({"$ref": "#anchor"})j", "/$ref", "not supported"},
        {R"j({"properties": {"a": {"$id": "http://x/a", "type": "string"}}})j", "/properties/a/$id",
         "$id inside a schema"},
        {R"j({"type": "object", "properties": {"a": false}, "required": ["a"]})j", "/properties/a", "schema false"},
        {R"j({"allOf": [{"type": "string"}, {"type": "integer"}]})j", "/allOf/1/type", "types do not intersect"},
        {R"j({"allOf": [{"pattern": "a"}, {"pattern": "b"}]})j", "/allOf/1/pattern", "cannot merge 'pattern'"},
        {R"j({"allOf": [{"properties": {"a": {}}, "additionalProperties": false}, {"properties": {"b": {}}}]})j",
         "/allOf/1/additionalProperties", "another member declares 'b'"},
        {R"j({"oneOf": [{"type": "integer"}, {"type": "number"}]})j", "/oneOf",
         "oneOf branches 0 and 1 may both match"},
        {R"j({"anyOf": [], "type": "string"})j", "/anyOf", "non-empty array"},
        {R"j({"enum": []})j", "/enum", "non-empty array"},
        {R"j({"type": "integer", "enum": ["a"]})j", "/type", "no enum/const value has the schema's type"},
        {R"j({"enum": ["a"], "minLength": 2})j", "/minLength", "enum/const together with 'minLength'"},
        {R"j({"const": 1, "enum": [2]})j", "/const", "const is not one of the enum values"},
        {R"j({"type": "object", "required": ["x"], "additionalProperties": false})j", "/required",
         "required property 'x' is not in properties"},
        {R"j({"type": "string", "minLength": 5, "maxLength": 2})j", "/minLength", "no string fits"},
        {R"j({"type": "string", "maxLength": 100000})j", "/maxLength", "above 10000"},
        {R"j({"type": "string", "minLength": -1})j", "/minLength", "non-negative integer"},
        {R"j({"type": "string", "pattern": "a", "maxLength": 3})j", "/pattern", "pattern together with minLength"},
        {R"j({"type": "string", "format": "date", "pattern": "a"})j", "/pattern", "format together with pattern"},
        {R"j({"type": "string", "pattern": "(a)\\1"})j", "/pattern", "backreferences"},
        {R"j({"type": "string", "pattern": "a(?=b)"})j", "/pattern", "lookaround"},
        {R"j({"type": "string", "pattern": "\\bword"})j", "/pattern", "word boundaries"},
        {R"j({"type": "string", "pattern": "\\p{L}"})j", "/pattern", "Unicode property"},
        {R"j({"type": "string", "pattern": "a^b"})j", "/pattern", "anchors are supported only at the start and end"},
        {R"j({"type": "string", "pattern": "(a*)*"})j", "/pattern", "can match the empty string"},
        {R"j({"type": "string", "pattern": "a{2,1}"})j", "/pattern", "m < n"},
        {R"j({"type": "string", "pattern": "[z-a]"})j", "/pattern", "out of order"},
        {R"j({"type": "string", "pattern": "(ab"})j", "/pattern", "missing ')'"},
        {R"j({"type": "string", "pattern": "a{,3}"})j", "/pattern", "'{' must start a quantifier"},
        {R"j({"type": "integer", "minimum": 5, "maximum": 4})j", "", "no integer lies between"},
        {R"j({"type": "integer", "minimum": 1e30})j", "/minimum", "beyond +-1e18"},
        {R"j({"type": "number", "minimum": 0.5})j", "/minimum", "non-integral bound on a number"},
        {R"j({"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1})j", "", "no number lies between"},
        {R"j({"type": "array", "minItems": 3, "maxItems": 1})j", "/minItems", "no array fits"},
        {R"j({"type": "array", "prefixItems": [{}], "items": false, "minItems": 2})j", "/minItems",
         "more items than the tuple"},
        {"5", "", "a schema must be an object or a boolean"},
        {"false", "", "schema false allows no value"},
        {R"j({"$ref": "#"})j", "", "left recursion"},
        {R"j({"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]})j", "", "can never complete"},
    };
    for (const Case& c : cases) {
        auto g = compile_json_schema(Json::parse(c.schema));
        ASSERT_FALSE(g) << c.schema;
        EXPECT_EQ(g.code(), Code::BadField) << c.schema;
        EXPECT_EQ(g.status().field(), c.field) << c.schema << ": " << g.message();
        EXPECT_NE(g.message().find(c.message), std::string::npos) << c.schema << "\nmessage: " << g.message();
    }
}

TEST(GrammarSchema, Limits) {
    SchemaLimits small;
    small.max_enum = 3;
    auto e = compile_json_schema(Json::parse(R"j({"enum": [1, 2, 3, 4]})j"), small);
    ASSERT_FALSE(e);
    EXPECT_NE(e.message().find("enum has 4 values; the limit is 3"), std::string::npos);
    small = {};
    small.max_depth = 4;
    auto d = compile_json_schema(
        Json::parse(R"j({"items": {"items": {"items": {"items": {"items": {"type": "null"}}}}}})j"), small);
    ASSERT_FALSE(d);
    EXPECT_NE(d.message().find("nested deeper than 4"), std::string::npos) << d.message();
    small = {};
    small.max_grammar_bytes = 100;
    auto b = compile_json_schema(Json::parse(R"j({"enum": ["a long value number one", "another long value", "x",
        "and more long values to pass the limit", "yet another long value for the grammar"]})j"),
                                 small);
    ASSERT_FALSE(b);
    EXPECT_NE(b.message().find("would exceed 100 bytes"), std::string::npos) << b.message();
    small = {};
    small.max_pattern_bytes = 10;
    auto p = compile_json_schema(Json::parse(R"j({"type": "string", "pattern": "^[a-z]+[0-9]+$"})j"), small);
    ASSERT_FALSE(p);
    EXPECT_NE(p.message().find("the limit is 10"), std::string::npos) << p.message();
}

} // namespace
} // namespace hearth::grammar
