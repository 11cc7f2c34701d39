// store/store.h: the model store. Content-addressed blobs and manifests under $HEARTH_HOME, laid out
// like Ollama's, so a file imported twice is stored once:
//
//   $HEARTH_HOME/                    default: ~/.local/share/hearth (or ~/.hearth if that exists)
//     blobs/sha256-<64 hex>          GGUF weights, templates, system prompts, parameters (immutable)
//     manifests/<host>/<namespace>/<model>/<tag>
//                                    JSON: schemaVersion 2, config + layers [{mediaType, digest, size}]
//     tmp/                           downloads and copies in progress (same filesystem, so rename is atomic)
//
// Names and digests come from users and remote servers: they are untrusted. Every path the store builds
// is made from a validated ModelName or digest, and is checked to resolve inside the store (symlinks
// planted in the store are refused), so "../", absolute paths, backslashes, NUL and look-alikes never
// reach the filesystem.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::store {

// ---- names -------------------------------------------------------------------------------------
// Grammar (ASCII only; letters are folded to lower case):
//   name      = [host "/"] [namespace "/"] model [":" tag]
//   host      = label ("." label)*       label = [a-z0-9] ([a-z0-9-]{0,61} [a-z0-9])?   (<= 253 chars)
//   namespace = model = part             part = [a-z0-9] [a-z0-9._-]{0,79}  (no "..")
//   tag       = [a-z0-9_] [a-z0-9._-]{0,79}  (no "..")
// A name with three "/"-separated parts has a host; with two, a namespace; with one, just a model.
// Defaults: host "local", namespace "library", tag "latest". Anything else is an error that says
// which part is wrong and why.
struct ModelName {
    std::string host = "local";
    std::string ns = "library";
    std::string model;
    std::string tag = "latest";

    // Short form for users: "model:tag" with the default host and namespace, else "host/ns/model:tag"
    // (or "ns/model:tag" with the default host).
    std::string display() const;
    bool operator==(const ModelName&) const = default;
};
Result<ModelName> parse_name(std::string_view text);

// A valid model part made from arbitrary text such as a file stem ("SmolLM2-135M.Q4_1" ->
// "smollm2-135m.q4_1"): lower case, other characters become '-', runs collapse, the ends are trimmed,
// at most 80 characters; "model" when nothing is left.
std::string sanitize_model_part(std::string_view text);

// ^sha256:[0-9a-f]{64}$
bool valid_digest(std::string_view digest);

// ---- manifests ---------------------------------------------------------------------------------
inline constexpr std::string_view kMediaModel = "application/vnd.ollama.image.model";
inline constexpr std::string_view kMediaTemplate = "application/vnd.ollama.image.template";
inline constexpr std::string_view kMediaSystem = "application/vnd.ollama.image.system";
inline constexpr std::string_view kMediaParams = "application/vnd.ollama.image.params";
inline constexpr std::string_view kMediaMessages = "application/vnd.ollama.image.messages";
inline constexpr std::string_view kMediaLicense = "application/vnd.ollama.image.license";

struct Layer {
    std::string media_type;
    std::string digest; // sha256:<hex>
    uint64_t size = 0;
};

struct Manifest {
    std::vector<Layer> layers; // exactly one kMediaModel layer; at most one of each other type
    nlohmann::json config;     // free-form: {"source": "...", "format": "gguf", "file_type": "Q4_1", ...}
};

// A model as `run`/`show` use it: the GGUF blob plus the contents of the small layers.
struct ResolvedModel {
    ModelName name;
    Manifest manifest;
    std::filesystem::path model_path; // blobs/sha256-... of the GGUF
    std::string model_digest;
    std::optional<std::string> template_text;          // TEMPLATE (Jinja2, or an Ollama Go template)
    std::optional<std::string> system;                 // SYSTEM
    nlohmann::json params = nlohmann::json::object();  // PARAMETER: {"temperature": 0.2, "stop": ["..."]}
    nlohmann::json messages = nlohmann::json::array(); // MESSAGE: [{"role": ..., "content": ...}]
    std::optional<std::string> license;                // LICENSE
};

struct ModelEntry {
    ModelName name;
    std::string model_digest;
    uint64_t size = 0; // sum of the layers' sizes
    std::string quant; // from the manifest config (e.g. "Q4_K_M"), may be empty
    std::filesystem::file_time_type modified;
};

// ---- the store ---------------------------------------------------------------------------------
struct Store {
    std::filesystem::path root; // absolute, canonical
};

// $HEARTH_HOME if set, else ~/.hearth if it exists, else ~/.local/share/hearth.
std::filesystem::path default_home();
// Opens (creating blobs/, manifests/, tmp/ if needed) the store at `root` (default_home() if empty).
Result<Store> open_store(const std::filesystem::path& root = {});

// Path of a blob; the digest must be valid (HEARTH_CHECK).
std::filesystem::path blob_path(const Store& store, std::string_view digest);
bool has_blob(const Store& store, std::string_view digest);

// Adds a file's contents as a blob: hashes it, then hard-links it into blobs/ (when `link` and the
// file is on the same filesystem) or copies it through tmp/ (fsync, then atomic rename). Returns the
// digest. A blob already present is not copied again.
Result<std::string> add_blob_file(const Store& store, const std::filesystem::path& src, bool link = true);
Result<std::string> add_blob_bytes(const Store& store, std::string_view bytes);

// A stable path in tmp/ for a resumable download identified by `key` (any string: it is hashed).
std::filesystem::path partial_path(const Store& store, std::string_view key);
// Moves a finished download into blobs/ as `digest`: checks the file's sha256 equals `digest`
// (if not: the file is deleted and an error names both digests), fsyncs, renames atomically.
Status commit_blob(const Store& store, const std::filesystem::path& tmp_file, std::string_view digest);

Status write_manifest(const Store& store, const ModelName& name, const Manifest& manifest);
Result<Manifest> read_manifest(const Store& store, const ModelName& name);
Result<ResolvedModel> resolve(const Store& store, const ModelName& name);
Result<std::vector<ModelEntry>> list_models(const Store& store);
// Removes the manifest, then every blob no remaining manifest references.
Status remove_model(const Store& store, const ModelName& name);
Status copy_model(const Store& store, const ModelName& from, const ModelName& to);

// Imports a GGUF file (checked to be a readable GGUF first) as `name`, with a manifest whose config
// records the source path, architecture and quant. Returns the manifest written.
Result<Manifest> import_gguf(const Store& store, const std::filesystem::path& file, const ModelName& name,
                             bool link = true);

// import_gguf without the manifest: checks the GGUF, adds it as a blob and returns the manifest
// (one model layer; config with format, source, architecture, file_type, parameter_count).
Result<Manifest> gguf_manifest(const Store& store, const std::filesystem::path& file, bool link = true);

// ---- helpers (also used by pull, create and the tests) -----------------------------------------
// "sha256:<hex>" of a file's contents, or of bytes.
Result<std::string> sha256_file(const std::filesystem::path& path);
std::string sha256_digest(std::string_view bytes);
// manifests/<host>/<ns>/<model>/<tag>, checked to lie inside the store with no symlink on the way.
Result<std::filesystem::path> manifest_path(const Store& store, const ModelName& name);
// The manifest as JSON text / from JSON text (every field validated; errors name the field).
std::string manifest_to_json(const Manifest& manifest);
Result<Manifest> parse_manifest(std::string_view json_text);
// Structure only: exactly one model layer, at most one of each other type, known media types,
// valid digests, config an object.
Status validate_manifest(const Manifest& manifest);
// list_models that also reports manifests it skipped (unreadable, malformed, odd entries), one line each.
Result<std::vector<ModelEntry>> list_models(const Store& store, std::vector<std::string>& warnings);
// llama.cpp's name for general.file_type ("Q4_K_M"); "" when unknown.
std::string file_type_name(uint64_t ftype);
// Small layers (template, system, params, messages, license) are capped at this size.
inline constexpr uint64_t kMaxSmallLayer = 1u << 20;

} // namespace hearth::store
