// model/archs/archs.h: one file per architecture. Each reads the metadata keys and sets the config flags
// that are its own (called by read_model_config after the keys every architecture shares); the forward
// passes are the shared decoder (model/decoder.cpp) and Gemma 3's own (archs/gemma3.cpp).
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "model/config_keys.h"

#include <cstdint>

namespace hearth {

struct Model;
struct ComputeCtx;
struct ForwardBuffers;

Status configure_llama(const gguf::File& f, const KeyReader& r, ModelConfig& c);
Status configure_qwen2(const gguf::File& f, const KeyReader& r, ModelConfig& c);
Status configure_qwen3(const gguf::File& f, const KeyReader& r, ModelConfig& c);
Status configure_phi3(const gguf::File& f, const KeyReader& r, ModelConfig& c);
Status configure_gemma3(const gguf::File& f, const KeyReader& r, ModelConfig& c);

// The shared pre-norm decoder (Llama, Qwen 2/3, Phi-3) and Gemma 3's forward: the layers over the pass's n
// tokens (b.pos and b.token_cache set by forward_batch), leaving the final hidden states in b.x.
void forward_decoder(const Model& m, const ComputeCtx& c, ForwardBuffers& b, const int32_t* tokens, int32_t n_tokens);
void forward_gemma3(const Model& m, const ComputeCtx& c, ForwardBuffers& b, const int32_t* tokens, int32_t n_tokens);

} // namespace hearth
