// quantize/quantize.h: `hearth quantize`: a GGUF model rewritten with smaller weights, tensor by tensor.
//
// Types per tensor: the mixes users know from llama-quantize (Q4_K_M, Q5_K_S, ...), chosen by llama.cpp's rules
// (llama-quant.cpp's llama_tensor_get_type for dense models: more bits for attn_v and for ffn_down in the first,
// last and every third layer of the _M mixes, the output matrix (or the token embedding it is tied to) in Q6_K,
// fallbacks for rows that a type's block does not divide), so a file hearth writes has the tensor types of the one
// llama-quantize writes; the quantizers are kernels/ref's, bit for bit ggml's (what llama-quantize runs, with or
// without an importance matrix), so the bytes match too (tools/make-quantize-golden.py).
// With an importance matrix (quantize/imatrix.h), each tensor it has an entry for is quantized weighing its columns
// by it, the IQ4 and Q4_0/Q5_0 mixes choose types as llama.cpp does when one is given, and the output records it
// (quantize.imatrix.file, .dataset, .entries_count, .chunks_count, as llama-quantize writes).
// Not quantized, as in llama.cpp: 1-D tensors, names not ending in "weight", norms, position and token-type
// embeddings, MoE router weights. A tensor already of its target type is copied as it is.
//
// Source: F32/F16/BF16, or (allow_requantize) any quantized type kernels/ref dequantizes, dequantized as the file
// stores it. Metadata is copied; general.file_type and general.quantization_version are set; split keys dropped.
// The output is written to a temporary file and renamed (gguf::Writer): never a partial file.
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"
#include "tensor/dtype.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::quantize {

// A target as llama-quantize names it, with its llama_ftype id (general.file_type) and base tensor type.
struct Mix {
    std::string_view name;
    uint32_t ftype;
    DType base;
};
std::optional<Mix> find_mix(std::string_view name); // case-insensitive
std::vector<std::string_view> mix_names();

struct TensorPlan {
    std::string name;
    std::vector<uint64_t> ne;
    DType from = DType::F32, to = DType::F32;
    uint64_t bytes_in = 0, bytes_out = 0;
    bool copy = false;                           // written as the source has it
    const std::vector<float>* imatrix = nullptr; // (ne[0]) column importances, when given and the type uses them
};

// What `--imatrix FILE` brings: the per-column weights (imatrix_weights()) and what the output records of it.
struct ImatrixInput {
    std::map<std::string, std::vector<float>> weights;
    std::string file, dataset;
    uint32_t chunk_count = 0;
};

struct Plan {
    Mix mix;
    std::vector<TensorPlan> tensors;
    uint64_t bytes_in = 0, bytes_out = 0;
    int n_fallback = 0;                    // tensors whose rows the chosen type's block does not divide
    const ImatrixInput* imatrix = nullptr; // the caller keeps it alive until run() returns
    int n_without_imatrix = 0;             // quantized tensors the importance matrix has no entry for
};

// The per-tensor types. Errors: a mixture-of-experts model, a quantized source without allow_requantize (naming
// the first such tensor and its type), a source type that cannot be dequantized, a target type without a quantizer,
// an importance matrix entry whose size is not the tensor's column count (llama-quantize refuses that too; the
// token embedding's is ignored instead).
Result<Plan> make_plan(const gguf::File& f, const Mix& mix, bool allow_requantize,
                       const ImatrixInput* imatrix = nullptr);

// Quantizes as planned with n_threads threads and writes `out_path`. progress(done, total): bytes of source
// tensors handled, after each tensor.
Status run(const gguf::File& f, const Plan& plan, const std::string& out_path, int n_threads,
           const std::function<void(uint64_t, uint64_t)>& progress = {});

} // namespace hearth::quantize
