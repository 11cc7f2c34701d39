// cli/inspect.h: `hearth inspect` — a summary of a GGUF model read from its metadata and tensor table.
//
// Everything is derived from the file itself (never from its name). Keys that are absent are
// reported as absent, not guessed.
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hearth::cli {

struct QuantMixRow {
    std::string type; // dtype name, e.g. "q4_K"
    uint64_t n_tensors = 0;
    uint64_t n_elements = 0;
    uint64_t n_bytes = 0;
};

struct SpecialToken {
    std::string role; // "bos", "eos", "eot", ...
    int64_t id = -1;
    std::string text; // the token's piece, empty when the id is out of range
};

struct InspectReport {
    std::string path;
    uint64_t file_size = 0;
    uint32_t gguf_version = 0;
    uint64_t n_kv = 0;
    std::string architecture;
    std::string name;                     // general.name
    std::optional<std::string> file_type; // general.file_type as llama.cpp names it ("Q4_K_M")
    uint64_t n_params = 0;                // sum of tensor elements
    uint64_t tensor_bytes = 0;            // sum of tensor data bytes
    double bits_per_weight = 0;           // 8 * tensor_bytes / n_params
    std::vector<QuantMixRow> quant_mix;   // by bytes, largest first
    // Hyperparameters under "<arch>.": absent keys stay nullopt. Per-layer arrays report their maximum.
    std::optional<uint64_t> context_length, embedding_length, block_count, feed_forward_length, head_count,
        head_count_kv, vocab_size_key;
    std::string tokenizer_model; // tokenizer.ggml.model
    std::string tokenizer_pre;   // tokenizer.ggml.pre
    uint64_t vocab_size = 0;     // length of tokenizer.ggml.tokens
    std::vector<SpecialToken> special_tokens;
    std::optional<bool> add_bos, add_eos;
    bool has_chat_template = false;
    uint64_t chat_template_bytes = 0;
    std::vector<gguf::TensorInfo> tensors;
};

// Builds the report; fails only on metadata whose type contradicts the GGUF conventions
// (e.g. a string where a count belongs), naming the key.
Result<InspectReport> inspect(const gguf::File& file, const std::string& path);

std::string llama_ftype_name(uint64_t ftype);
nlohmann::json to_json(const InspectReport& r, bool with_tensors);
std::string to_text(const InspectReport& r, bool with_tensors);

} // namespace hearth::cli
