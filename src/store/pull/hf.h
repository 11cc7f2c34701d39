// store/pull/hf.h: Hugging Face repository listings and the choice of a GGUF file in them.
//
// The listing is GET {endpoint}/api/models/{org}/{repo}/tree/main: a JSON array of entries
//   {"type": "file", "path": "x.Q4_K_M.gguf", "size": N, "lfs": {"oid": "<sha256 hex>", "size": N}}
// It comes from the network, so every field is checked (paths are relative, without "..", NUL or
// backslashes; an lfs oid is 64 lower-case hex digits); malformed entries are errors.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::store {

struct HfFile {
    std::string path;   // relative to the repository root, e.g. "model-Q4_K_M.gguf"
    uint64_t size = 0;  // bytes (the LFS size when there is one)
    std::string sha256; // lower-case hex from lfs.oid; empty when the hub gave none
};

Result<std::vector<HfFile>> parse_hf_tree(std::string_view json);

// The quant named in a file name ("Q4_K_M" in "llama-3-8b.Q4_K_M.gguf"), upper case; empty if none.
std::string quant_of(std::string_view file_name);

// True for the parts of a split GGUF ("...-00001-of-00003.gguf").
bool is_split_gguf(std::string_view path);

// Chooses the .gguf to pull. With `quant`, the file whose name holds it as a whole token
// (case-insensitive); without, the first of Q4_K_M, Q4_0, Q5_K_M, Q8_0 that exists, else the first
// .gguf by name. Projector files (mmproj*) and split GGUFs are never chosen; the errors list what the
// repository has.
Result<HfFile> choose_gguf(const std::vector<HfFile>& files, std::string_view quant);

} // namespace hearth::store
