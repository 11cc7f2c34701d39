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
#include <functional>
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
    // Adds a tensor whose bytes a Producer hands to write() when their turn comes (a model's worth of tensors need
    // not be in memory at once).
    Status add_tensor_later(std::string name, DType type, std::vector<uint64_t> ne);

    // The k-th tensor added by add_tensor_later (in add order): its bytes, in `scratch` or elsewhere, valid until
    // the next call. An error stops the write (nothing is left behind).
    using Producer = std::function<Result<std::span<const uint8_t>>(size_t k, std::vector<uint8_t>& scratch)>;

    std::vector<uint8_t> to_bytes() const; // no add_tensor_later tensors
    // Writes to a temporary file next to `path`, fsyncs, then renames: never a partial file.
    Status write(const std::string& path, const Producer& later = {}) const;

private:
    struct PendingTensor {
        TensorInfo info;
        std::vector<uint8_t> data;
        bool later = false;
    };
    Status declare(std::string name, DType type, std::vector<uint64_t> ne, PendingTensor* out) const;
    std::vector<KeyValue> kv_;
    std::vector<PendingTensor> tensors_;
};

} // namespace hearth::gguf
