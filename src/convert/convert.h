// convert/convert.h: `hearth convert`: a Hugging Face model directory (config.json, safetensors, tokenizer.json)
// written as one GGUF file, the file llama.cpp's convert_hf_to_gguf.py would write (hf_arch.h has the
// architectures and tensor transformations, hf_vocab.h the tokenizers, safetensors.h the weight files).
//
// Types: F32, F16, BF16 and Q8_0 are written directly, as the Python converter does: 1-D tensors, norms and
// tensors whose name does not end in ".weight" stay F32; a Q8_0 tensor whose rows 32 does not divide falls back to
// F16. Default ("auto", llama.cpp's --outtype auto): BF16 when the first 2-D source tensor is BF16, else F16. Any
// other type hearth quantize knows (Q4_K_M, ...) goes through a 16-bit file (the "auto" type: BF16 for a BF16
// model, whose values F16 could overflow, else F16) written next to the output, then quantize::run; the temporary
// file is removed. Sources must be F32, F16 or BF16 (others refused by name).
// The output is written to a temporary file and renamed (gguf::Writer): never a partial file.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace hearth::convert {

struct Options {
    std::string type = "auto"; // F32, F16, BF16, Q8_0, auto, or a quantize::find_mix name
    int n_threads = 0;         // for the quantize step (0 = all cores)
};

// Whether `type` (case-insensitive) is one --type accepts; type_names() lists them for messages.
bool is_known_type(std::string_view type);
std::string type_names();

// progress(done, total): source bytes converted so far (the quantize step reports its own bytes again).
using Progress = std::function<void(uint64_t, uint64_t)>;

Status convert_model(const std::string& dir, const std::string& out_path, const Options& opt,
                     const Progress& progress = {});

} // namespace hearth::convert
