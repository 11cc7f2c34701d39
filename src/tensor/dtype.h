// tensor/dtype.h: the one table of GGUF tensor types.
//
// Values are the on-disk `ggml_type` ids of the GGUF format (they never change; retired ids are
// absent). Each type stores `block_size` elements in `type_size` bytes; a row of n elements is
// n / block_size blocks and n must be a multiple of block_size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace hearth {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
};

struct DTypeInfo {
    DType type;
    std::string_view name; // as llama.cpp prints it: "q4_K", "f16", ...
    uint32_t block_size;   // elements per block
    uint32_t type_size;    // bytes per block
    bool quantized;
};

// Info for a known type id, or nullopt for an id that is not a valid GGUF tensor type.
std::optional<DTypeInfo> dtype_info(uint32_t id);
const DTypeInfo& dtype_info(DType t); // t must be a valid enumerator
std::string_view dtype_name(DType t);
// Parses a name case-insensitively ("Q4_K", "q4_k", "f16").
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes for a row of n elements; nullopt if n is not a multiple of the block size.
std::optional<uint64_t> dtype_row_bytes(DType t, uint64_t n);
// Byte offsets of the binary16 scale fields (d, and dmin / m) in one block of a quantized type; the rest of such a
// block is quant bits, any pattern of which is valid. Empty for float types and types without one (Q8_K).
std::vector<size_t> dtype_scale_fields(DType t);

// All valid types in id order (for tables and tests).
const DTypeInfo* dtype_all(size_t* count);

} // namespace hearth
