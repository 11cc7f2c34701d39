// tests/grammar/schema_fixtures.h: the JSON Schema fixtures (tests/data/grammar/schemas.json): schemas with
// valid instances (written in the declared property order), invalid ones and "narrowed" ones (valid, but
// outside what the grammar generates; json_schema.h lists why).
#pragma once

#include "grammar/json_schema.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

namespace hearth::grammar::test {

inline nlohmann::ordered_json load_schema_fixtures(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::ordered_json::parse(ss.str());
}

inline std::string dump_json(const nlohmann::ordered_json& j, int indent = -1) {
    return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace hearth::grammar::test
