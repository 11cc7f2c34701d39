// quantize/imatrix.h: importance matrices in llama.cpp's formats, so files made by `hearth imatrix` and by
// llama-imatrix work in `hearth quantize --imatrix` and in llama-quantize alike.
//
// GGUF format (llama-imatrix's default since 2025): general.type = "imatrix"; imatrix.datasets (array of strings:
// the texts it was computed on), imatrix.chunk_count (u32), imatrix.chunk_size (u32: tokens per chunk); per weight
// W two F32 tensors, in name order: "W.in_sum2" (ne = {W's columns, n_mat}: the sum over every token that met W
// of the square of its input, per column; n_mat is 1 for dense weights, the experts for MoE) and "W.counts"
// (ne = {1, n_mat}: how many tokens). The weight of column j is in_sum2[j] / count (1 where the count is 0).
// Legacy format (".dat", what llama-imatrix wrote before): i32 n_entries; per entry i32 name length, the name,
// i32 ncall, i32 nval, nval f32 (the mean square times ncall); then optionally i32 chunk count, i32 length and the
// dataset's name. Both are read; GGUF is written.
//
// Files are untrusted: every size is checked against the file before anything is allocated, every value must be
// finite and non-negative, and an error names what is wrong.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace hearth::quantize {

struct ImatrixEntry {
    std::vector<float> sums;   // (n_mat * n_cols) in_sum2
    std::vector<float> counts; // (n_mat)
};

struct Imatrix {
    std::map<std::string, ImatrixEntry> entries; // by weight name ("blk.0.attn_q.weight")
    std::vector<std::string> datasets;
    uint32_t chunk_count = 0;
    uint32_t chunk_size = 0;
    bool legacy = false; // read from the legacy format (its sums are already means times ncall)
};

Result<Imatrix> read_imatrix(const std::string& path);
// The same from bytes in memory (fuzzing, tests); `what` names the source in errors.
Result<Imatrix> parse_imatrix(std::span<const uint8_t> bytes, const std::string& what);
// GGUF, written to a temporary file and renamed.
Status write_imatrix(const Imatrix& m, const std::string& path);

// Per weight, the importance of each column as llama-quantize computes it from the file: sums / count per matrix
// (1 for a matrix no token reached), legacy sums / ncall.
std::map<std::string, std::vector<float>> imatrix_weights(const Imatrix& m);

} // namespace hearth::quantize
