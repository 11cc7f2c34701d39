// store/store.h: the model store. Content-addressed blobs and manifests under $HEARTH_HOME, laid out
// like Ollama's, so a file imported twice is stored once:
//
//   $HEARTH_HOME/                    default: ~/.local/share/hearth (or ~/.hearth if that exists)
//     blobs/sha256-<64 hex>          GGUF weights, templates, system prompts, parameters (immutable)
//     manifests/<host>/<namespace>/<model>/<tag>
//                                    JSON: schemaVersion 2, config + layers [{mediaType, digest, size}]
//     tmp/                           downloads and copies in progress (same filesystem, so rename is atomic)
//     lock                           empty; flock(2)ed to keep garbage collection away from writers
//
// Concurrency: several processes (the CLI, the server) and threads may use one store at once; see
// "concurrency" below for the lock that keeps a manifest from ever naming a blob that was collected,
// and for how tmp/ is swept of what crashed writers left.
//
// Names and digests come from users and remote servers: they are untrusted. Every path the store builds
// is made from a validated ModelName or digest, and is checked to resolve inside the store (symlinks
// planted in the store are refused), so "../", absolute paths, backslashes, NUL and look-alikes never
// reach the filesystem.
#pragma once

#include "base/status.h"
#include "base/unique_fd.h"

#include <chrono>
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
    std::string problem; // empty, or why the model is broken (a blob missing or of the wrong size)
};

// ---- the store ---------------------------------------------------------------------------------
struct Store {
    std::filesystem::path root; // absolute, canonical
};

// What opening a store sweeps from tmp/ (see sweep_tmp below). Entries in use are never removed,
// whatever their age.
struct OpenOptions {
    std::chrono::seconds tmp_max_age{10 * 60};              // copies, links, writes of dead writers
    std::chrono::seconds partial_max_age{7 * 24 * 60 * 60}; // downloads kept this long for a resume
};

// $HEARTH_HOME if set, else ~/.hearth if it exists, else ~/.local/share/hearth.
std::filesystem::path default_home();
// Opens (creating blobs/, manifests/, tmp/ if needed) the store at `root` (default_home() if empty),
// then sweeps tmp/ (sweep_tmp; best effort: a failure there does not fail the open).
Result<Store> open_store(const std::filesystem::path& root = {}, const OpenOptions& opts = {});

// Path of a blob; the digest must be valid (HEARTH_CHECK).
std::filesystem::path blob_path(const Store& store, std::string_view digest);
bool has_blob(const Store& store, std::string_view digest);

// Adds a file's contents as a blob: hashes it, then hard-links it into blobs/ (when `link` and the
// file is on the same filesystem) or copies it through tmp/ (fsync, then atomic rename). Returns the
// digest. A blob already present is not copied again. Unpinned: see "concurrency" for keeping the blob
// until a manifest names it.
Result<std::string> add_blob_file(const Store& store, const std::filesystem::path& src, bool link = true);
Result<std::string> add_blob_bytes(const Store& store, std::string_view bytes);

// A stable path in tmp/ for a resumable download identified by `key` (any string: it is hashed).
std::filesystem::path partial_path(const Store& store, std::string_view key);
// Moves a finished download into blobs/ as `digest`: checks the file's sha256 equals `digest`
// (if not: the file is deleted and an error names both digests), fsyncs, renames atomically.
Status commit_blob(const Store& store, const std::filesystem::path& tmp_file, std::string_view digest);

// ---- concurrency ---------------------------------------------------------------------------------
// Blobs are shared between manifests, and garbage collection (remove_model) deletes the blobs no
// manifest references. A writer (create, copy, import, pull) first makes sure its blobs are in
// blobs/, then writes the manifest: if a collection ran in between, the manifest would name a blob
// that is gone. The store lock, flock(2) on the file `lock`, closes that window:
//   shared ("a pin")  held by a writer from the moment it checks or places the blobs a manifest will
//                     name until that manifest is written. Pins do not exclude each other. Slow work
//                     (hashing, copying, downloading) happens before, into tmp/, unpinned.
//   exclusive         held by remove_model: unlink the manifest, read every manifest, delete the
//                     unreferenced blobs.
// Why it is correct: a collection deletes a blob only while it holds the lock exclusively and no
// manifest references the blob; nothing else deletes blobs. A pinned writer's blobs are checked or
// placed after the pin is taken and the manifest is written before it is released, so a collection
// runs wholly before the writer looks at its blobs (and the writer places what is missing) or wholly
// after the manifest is written (and sees the reference). write_manifest checks every layer's blob
// under the pin as well, so a caller that added blobs unpinned (add_blob_*, then the write_manifest
// overload without a pin) gets an error, never a manifest that names a missing blob.
//
// Processes and threads: every lock_store() opens the lock file anew, so each StoreLock is its own
// open file description. flock(2) locks belong to open file descriptions, not to processes, so two
// StoreLocks conflict the same way whether they are in two processes or in two threads of one; a lock
// is released when its holder closes it, exits or is killed (kill -9 cannot leave the store locked).
// Hence: never call remove_model while holding a StoreLock on the same thread (it would wait for itself);
// never hand a StoreLock across fork() (the descriptor is O_CLOEXEC; a forked child would share it).
// flock works across processes on local filesystems and on NFS (Linux emulates it with fcntl locks there).
enum class LockMode { Shared, Exclusive };

class StoreLock { // move-only: it owns the descriptor that holds the flock
public:
    bool held() const { return fd_.valid(); }
    LockMode mode() const { return mode_; }

private:
    friend Result<StoreLock> lock_store(const Store& store, LockMode mode);
    UniqueFd fd_;
    LockMode mode_ = LockMode::Shared;
};

// Waits for and takes the store lock (creating the lock file if needed).
Result<StoreLock> lock_store(const Store& store, LockMode mode);

// tmp/ holds files on their way into blobs/ or manifests/ (named <pid>-<random>.<kind>) and partial
// downloads (<hash>.partial, with a .validator sidecar). A writer holds flock(2) on its tmp file (shared;
// a download: exclusive) for as long as it uses it, so a file nobody can lock exclusively is in use.
// sweep_tmp removes the regular files in tmp/ that are (1) not in use: it takes LOCK_EX | LOCK_NB on
// the file and re-checks that the name still is that file before unlinking, and (2) older than
// tmp_max_age (partial downloads: partial_max_age, so that an interrupted pull can still resume) by the
// later of their mtime and ctime. The age is a second guard, for writers that do not lock (an older
// hearth) and for a hard link staged in tmp/ (`hearth import`), whose mtime is the user's file's.
struct SweepResult {
    uint64_t files = 0, bytes = 0; // removed
};
SweepResult sweep_tmp(const Store& store, const OpenOptions& opts);

// ---- manifests and models -----------------------------------------------------------------------
// Writes the manifest atomically while `pin` (a held StoreLock of either mode) keeps garbage collection
// away; every layer's blob must be in the store with its recorded size, else nothing is written.
Status write_manifest(const Store& store, const StoreLock& pin, const ModelName& name, const Manifest& manifest);
// The same, taking and releasing a pin itself.
Status write_manifest(const Store& store, const ModelName& name, const Manifest& manifest);
Result<Manifest> read_manifest(const Store& store, const ModelName& name);
Result<ResolvedModel> resolve(const Store& store, const ModelName& name);
// Every model, sorted by name; `problem` is set for models whose blobs are missing or of the wrong size
// (a cheap check: lstat only).
Result<std::vector<ModelEntry>> list_models(const Store& store);
// Under the exclusive store lock: removes the manifest, then every blob no remaining manifest references.
Status remove_model(const Store& store, const ModelName& name);
// Under a pin: reads `from`'s manifest and writes it as `to`.
Status copy_model(const Store& store, const ModelName& from, const ModelName& to);

// Imports a GGUF file (checked to be a readable GGUF first) as `name`, with a manifest whose config
// records the source path, architecture and quant. The file is hashed and linked or copied into tmp/
// unpinned; placing the blob and writing the manifest are pinned. Returns the manifest written.
Result<Manifest> import_gguf(const Store& store, const std::filesystem::path& file, const ModelName& name,
                             bool link = true);

// ---- checking (hearth doctor) --------------------------------------------------------------------
struct ModelCheck {
    ModelName name;                    // model "" for an entry that is no manifest of a valid name
    std::vector<std::string> problems; // empty: the model is whole
    bool gone = false;                 // its manifest is not there (removed meanwhile)
};
// Checks a model's manifest against its blobs, pinned: each layer's blob is a regular file of the
// recorded size; with `hash`, its sha256 is also the layer's digest (reads every byte: slow for big models).
ModelCheck check_model(const Store& store, const ModelName& name, bool hash);
// check_model for every manifest (a malformed one is a broken model), plus one unnamed entry for each
// entry of manifests/ that is not a manifest of a valid name. A model removed meanwhile is left out.
Result<std::vector<ModelCheck>> check_store(const Store& store, bool hash);

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
