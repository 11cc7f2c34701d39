// convert/hf_dir.h: the JSON files of a Hugging Face model directory, read once.
//
// config.json and tokenizer.json are required; tokenizer_config.json, generation_config.json and
// chat_template.jinja are optional (absent: null / empty). A multimodal config's "text_config" is merged into
// the top level, as llama.cpp's converter does.
#pragma once

#include "base/status.h"

#include <nlohmann/json.hpp>
#include <string>

namespace hearth::convert {

struct HfDir {
    std::string path;
    nlohmann::json config;            // config.json (object)
    nlohmann::json tokenizer;         // tokenizer.json (object)
    nlohmann::json tokenizer_config;  // tokenizer_config.json (object or null)
    nlohmann::json generation_config; // generation_config.json (object or null)
    std::string chat_template_jinja;  // chat_template.jinja ("" when absent)
};

Result<HfDir> read_hf_dir(const std::string& path);

// Typed reads of optional fields (a field of another type counts as absent).
int64_t json_int(const nlohmann::json& j, const char* key, int64_t fallback);
double json_num(const nlohmann::json& j, const char* key, double fallback);
std::string json_str(const nlohmann::json& j, const char* key, const std::string& fallback = "");
bool json_bool(const nlohmann::json& j, const char* key, bool fallback);

} // namespace hearth::convert
