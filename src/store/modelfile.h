// store/modelfile.h: Ollama's Modelfile format, so existing Modelfiles work with `hearth create`.
//
// Syntax (one instruction per line; instruction names are case-insensitive):
//   # comment                          (a line whose first non-blank character is '#')
//   FROM <store name | path.gguf>      required, once; a path is relative to the Modelfile's
//                                      directory, "~/" is the home directory
//   PARAMETER <key> <value>            typed (see kParameterKeys); "stop" may repeat (a list)
//   TEMPLATE <text>   SYSTEM <text>    the last one wins
//   LICENSE <text>                     may repeat (joined with a blank line)
//   MESSAGE <system|user|assistant> <text>
//   ADAPTER ...                        refused: LoRA adapters are not supported
// A value is the rest of the line, trimmed, or "quoted" (may span lines; \" and \\ are escapes), or
// """triple-quoted""" (verbatim, may span lines). Every error names its line.
//
// FROM a store name inherits that model's weights, template, system, parameters, messages and
// license; the Modelfile's instructions override them (parameters key by key).
#pragma once

#include "base/status.h"
#include "store/store.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::store {

struct Modelfile {
    std::string from;
    int from_line = 0;
    std::optional<std::string> template_text;
    std::optional<std::string> system;
    std::optional<std::string> license;                // LICENSE instructions, joined
    nlohmann::json params = nlohmann::json::object();  // {"temperature": 0.2, "stop": ["a", "b"]}
    nlohmann::json messages = nlohmann::json::array(); // [{"role": "user", "content": "..."}]
};

// Parameter keys with their types: "int", "float" or "string" (stop: a list of strings).
struct ParameterKey {
    std::string_view name;
    std::string_view type;
};
inline constexpr ParameterKey kParameterKeys[] = {
    {"num_ctx", "int"},
    {"num_predict", "int"},
    {"temperature", "float"},
    {"top_k", "int"},
    {"top_p", "float"},
    {"min_p", "float"},
    {"repeat_penalty", "float"},
    {"repeat_last_n", "int"},
    {"presence_penalty", "float"},
    {"frequency_penalty", "float"},
    {"seed", "int"},
    {"stop", "string"},
    {"num_thread", "int"},
};

// Parses Modelfile text. `origin` names it in errors ("Modelfile" → "Modelfile:3: ...").
Result<Modelfile> parse_modelfile(std::string_view text, std::string_view origin = "Modelfile");
// Reads and parses a Modelfile (at most 1 MiB).
Result<Modelfile> read_modelfile(const std::filesystem::path& path);

// Builds `name` from a parsed Modelfile: resolves FROM (store name, or a GGUF path relative to
// base_dir), stores the small layers as blobs, writes the manifest last. Returns the manifest.
Result<Manifest> create_model(const Store& store, const ModelName& name, const Modelfile& modelfile,
                              const std::filesystem::path& base_dir);

// An equivalent Modelfile for a resolved model (FROM the model's blob path), as `hearth show --modelfile`.
std::string format_modelfile(const ResolvedModel& model);

} // namespace hearth::store
