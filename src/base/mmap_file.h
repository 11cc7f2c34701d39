// base/mmap_file.h: a read-only memory-mapped file (RAII). The mapping is shared by everyone who
// reads weights from it; it is never written.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <span>
#include <string>

namespace hearth {

class MmapFile {
public:
    // Maps the whole file read-only. An empty file maps to an empty span (no mmap call).
    static Result<MmapFile> open(const std::string& path);

    MmapFile(MmapFile&& o) noexcept;
    MmapFile& operator=(MmapFile&& o) noexcept;
    MmapFile(const MmapFile&) = delete;
    MmapFile& operator=(const MmapFile&) = delete;
    ~MmapFile();

    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    uint64_t size() const { return size_; }
    // Gives the whole pages inside `range` (a part of bytes()) back to the kernel once read: the mapping stays valid
    // and touching them again re-reads the file, so a reader that passes over the file once stays small.
    void release(std::span<const uint8_t> range) const;

private:
    MmapFile() = default;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

} // namespace hearth
