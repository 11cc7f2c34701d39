// model/archs/archs.h: the architecture registry (archs/registry.cpp) and what the architecture files share.
//
// An architecture is one entry {GGUF name, configure, forward} in the registry's table: `name` is the
// GGUF `general.architecture` value; `configure` reads the architecture's own metadata keys and sets its
// config flags (called by read_model_config after the keys every architecture shares); `forward` runs the
// layers of a pass. The code shared by every architecture (weights.cpp, the decoder, model.cpp) reads
// config flags, never the architecture's name. A new architecture is archs/NAME.cpp plus its line in the
// registry's table (and, just above it, the declarations of the functions that line names); CMake picks up
// every archs/*.cpp by itself.
//
// ArchEntry is a plain struct of a name and function pointers, so later kinds of model (encoders for
// embeddings, converters) add fields, not class hierarchies; an entry without them leaves them null.
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "model/config_keys.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hearth {

struct Model;
struct ComputeCtx;
struct PassScratch;
struct WeightBinder;

// Reads the architecture's own keys (r.prefix is "<name>.") into c, whose shared fields are already set.
using ArchConfigure = Status(const gguf::File& f, const KeyReader& r, ModelConfig& c);
// The layers over the pass's n tokens (b.pos and b.token_seq set by forward_batch), leaving the final hidden
// states in b.x (n_tokens, n_embd); forward_batch then computes the logits.
using ArchForward = void(const Model& m, const ComputeCtx& c, PassScratch& b, const int32_t* tokens, int32_t n_tokens);

// Binds the architecture's tensors when they are not the decoder layout weights.cpp binds (encoders).
using ArchBind = Status(WeightBinder& b, const ModelConfig& c);

struct ArchEntry {
    const char* name;         // GGUF general.architecture, e.g. "llama"; also the prefix of its keys
    ArchConfigure* configure; // never null
    ArchForward* forward;     // never null
    ArchBind* bind = nullptr; // null: the decoder layout (weights.cpp)
};

// Every supported architecture, in the registry's order.
std::span<const ArchEntry> arch_registry();
// The entry named `name`, or null when it is not supported.
const ArchEntry* find_arch(std::string_view name);
// "llama, qwen2, ...": the supported names, for error messages.
std::string arch_names();

// The pre-norm decoder the Llama family shares (model/decoder.cpp), driven by config flags.
ArchForward forward_decoder;

} // namespace hearth
