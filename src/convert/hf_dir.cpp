#include "convert/hf_dir.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace hearth::convert {
namespace {

using json = nlohmann::json;

// The file's JSON object; null when the file is absent and not `required`.
Result<json> read_object(const std::string& path, bool required) {
    if (!std::filesystem::exists(path)) {
        if (required) return error(Code::NotFound, "missing file " + path);
        return json();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return error("cannot read " + path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return error(path + ": not valid JSON");
    if (!j.is_object()) return error(path + ": not a JSON object");
    return j;
}

} // namespace

Result<HfDir> read_hf_dir(const std::string& path) {
    if (!std::filesystem::is_directory(path)) return error(Code::NotFound, "no model directory " + path);
    HfDir d;
    d.path = path;
    auto config = read_object(path + "/config.json", true);
    if (!config) return config.status();
    d.config = std::move(config.value());
    if (auto tc = d.config.find("text_config"); tc != d.config.end() && tc->is_object()) {
        json merged = d.config;
        for (auto it = tc->begin(); it != tc->end(); ++it)
            merged[it.key()] = it.value();
        d.config = std::move(merged);
    }
    auto tok = read_object(path + "/tokenizer.json", true);
    if (!tok) return tok.status();
    d.tokenizer = std::move(tok.value());
    auto tc = read_object(path + "/tokenizer_config.json", false);
    if (!tc) return tc.status();
    d.tokenizer_config = std::move(tc.value());
    auto gc = read_object(path + "/generation_config.json", false);
    if (!gc) return gc.status();
    d.generation_config = std::move(gc.value());
    if (std::ifstream in(path + "/chat_template.jinja", std::ios::binary); in)
        d.chat_template_jinja.assign(std::istreambuf_iterator<char>(in), {});
    return d;
}

int64_t json_int(const json& j, const char* key, int64_t fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

double json_num(const json& j, const char* key, double fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string json_str(const json& j, const char* key, const std::string& fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool json_bool(const json& j, const char* key, bool fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

} // namespace hearth::convert
