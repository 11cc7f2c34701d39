// gguf/writer.h: GGUF v3 writer (metadata + aligned tensor data), the inverse of File (gguf.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "gguf/gguf.h"

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

}  // namespace hearth::gguf
