// tests/kernels/quant_golden.h: reader for the "HQT1" golden files of tests/data/quant.
// The byte layout is documented in tools/make-quant-golden.py, which writes them.
#pragma once

#include "tensor/dtype.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hearth::test {

struct GoldenTensor {
    DType type;
    int64_t n_per_row;
    int64_t n_rows;
    std::vector<uint8_t> data; // (n_rows, row bytes of type)

    const float* f32() const { return reinterpret_cast<const float*>(data.data()); }
    int64_t n_elements() const { return n_per_row * n_rows; }
};

// Reads a whole golden file; on failure returns an empty map and sets *error.
std::map<std::string, GoldenTensor> read_golden(const std::string& path, std::string* error);

} // namespace hearth::test
