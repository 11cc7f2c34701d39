// gguf/writer.h: GGUF v3 writer (metadata + aligned tensor data), the inverse of File (gguf.h).
//
// Output: header, kvs in first-insertion order, tensor infos in add order, zero padding to the
// alignment, then each tensor's bytes followed by zero padding to the alignment, so every tensor
// offset is a multiple of `general.alignment` (default 32). Keys, values and alignment that the
// reader would reject are programming errors here (HEARTH_CHECK); add_tensor checks its inputs.
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hearth::gguf {

class Writer {
public:
    // Sets or replaces a key (keeps first-insertion order). `general.alignment` (U32, power of two)
    // changes the alignment used for tensor data.
    void set(std::string key, Value value);
    // Adds a tensor; data.size() must equal the row bytes of `type` times the other dims.
    Status add_tensor(std::string name, DType type, std::vector<uint64_t> ne, std::span<const uint8_t> data);

    std::vector<uint8_t> to_bytes() const;
    // Writes to a temporary file next to `path`, fsyncs, then renames: never a partial file.
    Status write(const std::string& path) const;

private:
    std::vector<KeyValue> kv_;
    struct PendingTensor {
        TensorInfo info;
        std::vector<uint8_t> data;
    };
    std::vector<PendingTensor> tensors_;
};

} // namespace hearth::gguf
