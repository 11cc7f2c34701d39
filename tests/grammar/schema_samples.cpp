// grammar_schema_samples: prints, one JSON object per line, each schema of the fixtures and of a random set
// with random sentences of its grammar, for validate_samples.py to check with Python's jsonschema.
// Usage: grammar_schema_samples <schemas.json> <n_random_schemas> <samples_per_schema> <seed>
// Line: {"name", "schema", "samples": [text...], "valid"/"invalid"/"narrowed": [...] (fixtures only)}, or
// {"name", "schema", "error"} when a schema does not compile. Every sample is accepted by the grammar by
// construction; the converse check (valid instances accepted) is in test_json_schema.cpp.
#include "grammar/json_schema.h"
#include "grammar_test_util.h"
#include "random_schema.h"
#include "schema_fixtures.h"

#include <cstdio>
#include <iostream>

namespace {

using Json = nlohmann::ordered_json;
using namespace hearth::grammar;

void emit(const std::string& name, const Json& schema, const Json* fixture, int n_samples, std::mt19937_64& rng) {
    Json line;
    line["name"] = name;
    line["schema"] = schema;
    auto g = compile_json_schema(schema);
    if (!g) {
        line["error"] = g.message() + " (at '" + g.status().field() + "')";
        std::cout << test::dump_json(line) << "\n";
        return;
    }
    auto m = Matcher::create(std::move(g.value()), test::roomy_limits());
    if (!m) {
        line["error"] = m.message();
        std::cout << test::dump_json(line) << "\n";
        return;
    }
    Json samples = Json::array();
    for (int i = 0; i < n_samples; i++) {
        auto s = test::random_sentence(*m, rng, 150, 0.1);
        if (s) samples.push_back(*s);
    }
    line["samples"] = samples;
    if (fixture) {
        for (const char* list : {"valid", "invalid", "narrowed"})
            if (fixture->contains(list)) line[list] = (*fixture)[list];
    }
    std::cout << test::dump_json(line) << "\n";
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s <schemas.json> <n_random_schemas> <samples_per_schema> <seed>\n", argv[0]);
        return 2;
    }
    int n_random = std::atoi(argv[2]), n_samples = std::atoi(argv[3]);
    std::mt19937_64 rng(std::strtoull(argv[4], nullptr, 10));
    Json fixtures = test::load_schema_fixtures(argv[1]);
    for (const Json& f : fixtures)
        emit(f["name"].get<std::string>(), f["schema"], &f, n_samples, rng);
    test::RandomSchema gen(rng());
    for (int i = 0; i < n_random; i++)
        emit("random-" + std::to_string(i), gen.make(), nullptr, n_samples, rng);
    return 0;
}
