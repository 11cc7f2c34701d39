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
    std::vector<std::string> warnings;                 // "Modelfile:3: PARAMETER num_gpu is ignored ..."
};

// Parameter keys with their types ("int", "float" or "string"; stop: a list of strings) and accepted
// ranges — the one table `hearth create` and `hearth run` both check against. Ollama's special values are
// in range: seed < 0 (random), num_predict -1 (no limit) and -2 (fill the context), repeat_last_n -1 (the
// whole context).
struct ParameterKey {
    std::string_view name;
    std::string_view type;
    double min = 0, max = 0; // inclusive, for int and float
};
inline constexpr ParameterKey kParameterKeys[] = {
    {"num_ctx", "int", 0, 1 << 24},
    {"num_predict", "int", -2, 1 << 24},
    {"temperature", "float", 0, 100},
    {"top_k", "int", 0, 1 << 30},
    {"top_p", "float", 1e-6, 1},
    {"min_p", "float", 0, 1},
    {"repeat_penalty", "float", 1e-6, 100},
    {"repeat_last_n", "int", -1, 1 << 20},
    {"presence_penalty", "float", -100, 100},
    {"frequency_penalty", "float", -100, 100},
    {"seed", "int", -9.2e18, 9.2e18},
    {"stop", "string"},
    {"num_thread", "int", 0, 1024},
};
// Ollama parameters hearth accepts in Modelfiles so they keep working, but does not use (they tune
// other samplers or GPU offload); `hearth create` warns about each.
inline constexpr std::string_view kIgnoredParameterKeys[] = {
    "num_keep",  "typical_p", "tfs_z",   "mirostat",   "mirostat_tau",   "mirostat_eta",        "penalize_newline",
    "numa",      "num_batch", "num_gpu", "main_gpu",   "low_vram",       "vocab_only",          "use_mmap",
    "use_mlock", "num_gqa",   "f16_kv",  "logits_all", "embedding_only", "rope_frequency_base", "rope_frequency_scale",
};
const ParameterKey* find_parameter_key(std::string_view name);
// Parses `text` as the key's type and checks its range; errors say what is wrong ("'x' is not a number",
// "2.5 is outside [0, 1]").
Result<nlohmann::json> parse_parameter(const ParameterKey& key, const std::string& text);
// The same for a JSON scalar (a manifest's stored params): numbers and strings are checked as their text.
Result<nlohmann::json> parse_parameter_json(const ParameterKey& key, const nlohmann::json& value);

// Parses Modelfile text. `origin` names it in errors ("Modelfile" → "Modelfile:3: ...").
Result<Modelfile> parse_modelfile(std::string_view text, std::string_view origin = "Modelfile");
// Reads and parses a Modelfile (at most 1 MiB).
Result<Modelfile> read_modelfile(const std::filesystem::path& path);

// Builds `name` from a parsed Modelfile: resolves FROM (store name, or a GGUF path relative to
// base_dir), stores the small layers as blobs, writes the manifest last. Returns the manifest.
Result<Manifest> create_model(const Store& store, const ModelName& name, const Modelfile& modelfile,
                              const std::filesystem::path& base_dir);

// The chat template a model built by create_model from `modelfile` would use, read without writing: its
// TEMPLATE, else the base model's TEMPLATE, else the GGUF's tokenizer.chat_template (`from_gguf`: always
// Jinja; a TEMPLATE may be an Ollama Go template). nullopt when there is none, or when FROM does not
// resolve (create_model says why). `hearth create` and /api/create check it before creating.
struct CreatedTemplate {
    std::string text;
    bool from_gguf = false;
};
std::optional<CreatedTemplate> created_template(const Store& store, const Modelfile& modelfile,
                                                const std::filesystem::path& base_dir);

// An equivalent Modelfile for a resolved model (FROM the model's blob path), as `hearth show --modelfile`.
std::string format_modelfile(const ResolvedModel& model);

} // namespace hearth::store
