// store/resolve.h: model-name resolution, for every command and the server: what a MODEL argument names.
// A path to a .gguf file, a model in the store ("smollm2", "smollm2:135m-q4_1", "hf.co/org/repo:q4_k_m"),
// one of the built-in fixture models (imported into the store from the fixture cache on first use), or a
// Hugging Face / HTTPS reference that is pulled into the store. Nothing is printed: FindOptions::note and
// on_progress say what happens when the caller wants to show it.
#pragma once

#include "base/status.h"
#include "store/pull/pull.h"
#include "store/store.h"

#include <functional>
#include <optional>
#include <string>

namespace hearth::store {

struct ModelSource {
    std::string path;                    // the GGUF file to load
    std::string display;                 // how to name it to the user
    std::optional<ResolvedModel> stored; // set when it came from the store
};

struct FindOptions {
    bool allow_pull = true; // pull a Hugging Face / URL reference that is not in the store yet
    // What is going on, for people ("importing NAME from FILE", "pulling REF"); unset: nothing said.
    std::function<void(const std::string&)> note;
    std::function<void(const Progress&)> on_progress; // while pulling
};

// A built-in model: a store name whose file scripts/fetch-models puts in the fixture cache.
struct BuiltinModel {
    const char* name; // store name (model:tag)
    const char* file; // in $HEARTH_MODELS (default ~/.cache/hearth/models)
    const char* sha256;
    const char* fetch_name; // its name in scripts/fetch-models
};
std::optional<BuiltinModel> builtin_model(const ModelName& name);

Result<ModelSource> find_model(const std::string& arg, const FindOptions& opts = {});

} // namespace hearth::store
