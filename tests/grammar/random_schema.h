// tests/grammar/random_schema.h: random JSON Schemas within what json_schema.h supports (every feature,
// nested a few levels), for the property test that random sentences of their grammars validate (Python
// jsonschema, validate_samples.py). Patterns are chosen to mean the same in ECMAScript and Python.
#pragma once

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace hearth::grammar::test {

class RandomSchema {
public:
    using Json = nlohmann::ordered_json;
    explicit RandomSchema(uint64_t seed) : rng_(seed) {}

    Json make() {
        defs_ = Json::object();
        Json s = any(0);
        if (!defs_.empty()) {
            Json root = Json::object();
            root["$defs"] = defs_;
            for (auto it = s.begin(); it != s.end(); ++it)
                root[it.key()] = it.value();
            return root;
        }
        return s;
    }

private:
    std::mt19937_64 rng_;
    Json defs_;

    int pick(int n) { return int(std::uniform_int_distribution<int>(0, n - 1)(rng_)); }
    bool coin(int percent) { return pick(100) < percent; }

    std::string name() {
        const char* names[] = {"id", "name", "value", "x", "tags", "a b", "ключ", "q\"t", "items", "kind", "é", "n1"};
        return names[pick(12)];
    }

    Json scalar_value() {
        switch (pick(7)) {
        case 0:
            return nullptr;
        case 1:
            return coin(50);
        case 2:
            return pick(2001) - 1000;
        case 3:
            return (pick(2001) - 1000) / 8.0;
        case 4: {
            const char* s[] = {"a", "red", "", "中文", "tab\there", "q\"uote", "back\\slash", "😀"};
            return s[pick(8)];
        }
        case 5:
            return Json::array({1, "x"});
        default:
            return Json{{"k", pick(3)}};
        }
    }

    Json string_schema() {
        Json s = {{"type", "string"}};
        switch (pick(5)) {
        case 0:
            break;
        case 1: {
            int lo = pick(4);
            if (coin(70)) s["minLength"] = lo;
            if (coin(70)) s["maxLength"] = lo + pick(6);
            break;
        }
        case 2: {
            const char* f[] = {"date", "time", "date-time", "uuid", "email"};
            s["format"] = f[pick(5)];
            break;
        }
        default: {
            const char* p[] = {"^[a-z]{2,5}$",
                               "^\\d{3}-\\d{4}$",
                               "ab+c",
                               "^(foo|bar)[0-9]*$",
                               "^[A-Z][a-z]*( [A-Z][a-z]*)*$",
                               "x.y",
                               "^\\w+@\\w+\\.com$",
                               "^[^\\s]+$",
                               "^(?:\\+1 )?\\(\\d{3}\\) \\d{3}-\\d{4}$",
                               "^[\\u00e9\\u4e2d]+$",
                               "é|中",
                               "^.{0,3}$",
                               "^\\S*$",
                               "^[^a-c]$",
                               "colou?r",
                               "^\"q\"$",
                               "^a\\\\b\\t$",
                               "^[\\w.-]{1,8}$",
                               "^(a|b)*?c{2}$",
                               "[0-9a-f]{4}"};
            s["pattern"] = p[pick(20)];
        }
        }
        return s;
    }

    Json number_schema(bool integer) {
        Json s = {{"type", integer ? "integer" : "number"}};
        int lo = pick(2001) - 1000, span = pick(3) == 0 ? pick(3) : pick(5000);
        switch (pick(5)) {
        case 0:
            break;
        case 1:
            s["minimum"] = lo;
            break;
        case 2:
            s["maximum"] = lo;
            break;
        case 3:
            s["minimum"] = lo;
            s["maximum"] = lo + span;
            break;
        default:
            s["exclusiveMinimum"] = lo;
            s["exclusiveMaximum"] = lo + span + 2;
            if (integer && coin(30)) s["minimum"] = lo - 0.5;
        }
        return s;
    }

    Json object_schema(int depth) {
        Json s = {{"type", "object"}};
        Json props = Json::object();
        Json required = Json::array();
        for (int i = 0, n = pick(5); i < n; i++) {
            std::string k = name();
            if (props.contains(k)) continue;
            props[k] = any(depth + 1);
            if (coin(50)) required.push_back(k);
        }
        if (!props.empty() || coin(50)) s["properties"] = props;
        if (!required.empty()) s["required"] = required;
        switch (pick(4)) {
        case 0:
            break;
        case 1:
            s["additionalProperties"] = false;
            break;
        case 2:
            s["additionalProperties"] = true;
            break;
        default:
            s["additionalProperties"] = depth < 3 ? any(depth + 1) : Json{{"type", "integer"}};
        }
        return s;
    }

    Json array_schema(int depth) {
        Json s = {{"type", "array"}};
        if (coin(30)) {
            Json prefix = Json::array();
            for (int i = 0, n = 1 + pick(3); i < n; i++)
                prefix.push_back(any(depth + 1));
            s["prefixItems"] = prefix;
            if (coin(50)) s["items"] = coin(50) ? Json(false) : any(depth + 1);
        } else {
            s["items"] = any(depth + 1);
        }
        int lo = pick(3);
        if (coin(40)) s["minItems"] = lo;
        if (coin(40)) s["maxItems"] = lo + pick(4);
        if (s.contains("items") && s["items"] == false && s.value("minItems", 0) > int(s["prefixItems"].size()))
            s.erase("minItems");
        return s;
    }

    Json typed(const std::string& type, int depth) {
        if (type == "string") return string_schema();
        if (type == "integer") return number_schema(true);
        if (type == "number") return number_schema(false);
        if (type == "object") return object_schema(depth);
        if (type == "array") return array_schema(depth);
        return {{"type", type}};
    }

    Json any(int depth) {
        int kinds = depth >= 3 ? 6 : 14;
        switch (pick(kinds)) {
        case 0:
            return string_schema();
        case 1:
            return number_schema(true);
        case 2:
            return number_schema(false);
        case 3:
            return {{"type", coin(50) ? "boolean" : "null"}};
        case 4: {
            Json e = Json::array();
            for (int i = 0, n = 1 + pick(5); i < n; i++)
                e.push_back(scalar_value());
            return {{"enum", e}};
        }
        case 5:
            return {{"const", scalar_value()}};
        case 6:
        case 7:
            return object_schema(depth);
        case 8:
            return array_schema(depth);
        case 9: {
            Json branches = Json::array();
            for (int i = 0, n = 2 + pick(2); i < n; i++)
                branches.push_back(any(depth + 1));
            return {{"anyOf", branches}};
        }
        case 10: { // oneOf over distinct types
            std::vector<std::string> types{"string", "integer", "boolean", "null", "array", "object"};
            std::shuffle(types.begin(), types.end(), rng_);
            Json branches = Json::array();
            for (int i = 0, n = 2 + pick(2); i < n; i++)
                branches.push_back(typed(types[size_t(i)], depth + 1));
            return {{"oneOf", branches}};
        }
        case 11: { // allOf of two objects with different properties
            Json a = {{"type", "object"}, {"properties", {{"p", any(depth + 1)}}}, {"required", {"p"}}};
            Json b = {{"properties", {{"q", any(depth + 1)}}}};
            return {{"allOf", {a, b}}};
        }
        case 12: { // $ref to a definition
            std::string def = "d" + std::to_string(defs_.size());
            defs_[def] = true; // reserve the name: the definition may refer to others, never to itself
            defs_[def] = any(depth + 1);
            return {{"$ref", "#/$defs/" + def}};
        }
        default: { // a type array
            Json s = string_schema();
            s["type"] = Json::array({"string", "null"});
            if (coin(50)) s["type"].push_back("integer");
            return s;
        }
        }
    }
};

} // namespace hearth::grammar::test
