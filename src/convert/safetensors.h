// convert/safetensors.h: reader of Hugging Face safetensors files (untrusted input), single or sharded.
//
// Byte layout of one file (https://github.com/huggingface/safetensors, "Format"):
//   u64   N                little-endian header length
//   u8    header[N]        UTF-8 JSON object:
//                            {"NAME": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]},
//                             ..., "__metadata__": {"key": "value", ...}}
//   u8    data[]           the rest of the file; a tensor's bytes are data[begin, end), row-major (C order),
//                          little-endian, shape[0] the slowest-moving dimension
//
// Checks (a hostile file gets an error naming the field, never a crash or an allocation larger than the file):
// the header fits the file and is at most kMaxHeaderBytes; it is a JSON object whose keys are unique; every entry
// has a dtype from the format's list (unknown names refused by name), a shape of at most kMaxDims non-negative
// integers, data_offsets [begin, end] with begin <= end <= data size, and end - begin = elements x dtype size (no
// overflow); __metadata__, when present, is an object. Tensors may leave gaps; each lies inside the file.
//
// A model directory holds `model.safetensors`, or shards listed by `model.safetensors.index.json`
// ({"weight_map": {"NAME": "model-00001-of-00002.safetensors", ...}}): every listed shard must exist, every tensor
// of the index must be in its shard and no shard may hold a tensor the index does not list; a name in two shards is
// refused.
#pragma once

#include "base/mmap_file.h"
#include "base/status.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::convert {

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000; // the safetensors library's own limit
inline constexpr size_t kMaxDims = 8;

// One tensor of a safetensors header.
struct StTensor {
    std::string name;
    std::string dtype;           // "F32", "BF16", "I64", ... as the file names it
    uint32_t dtype_bytes = 0;    // bytes per element (F8 types: 1; BOOL: 1)
    std::vector<uint64_t> shape; // (n_dims) slowest-moving first, as the file has it
    uint64_t n_elements = 0;
    uint64_t begin = 0, end = 0; // byte range in the data section
};

// Bytes per element of a safetensors dtype name; 0 when the name is not one of the format's dtypes.
uint32_t st_dtype_bytes(std::string_view dtype);

// Parses and validates the header of a whole safetensors file held in `file` (header length, JSON, data). The
// tensors come back in the order of their data offsets.
Result<std::vector<StTensor>> parse_safetensors(std::span<const uint8_t> file);

// The tensors of a model directory's safetensors files, each file mmapped for as long as this lives.
class SafetensorsSet {
public:
    struct Entry {
        StTensor info;
        size_t file = 0; // index into files_
    };
    // `dir` holds model.safetensors.index.json and its shards, or model.safetensors.
    static Result<SafetensorsSet> open(const std::string& dir);

    const std::vector<Entry>& tensors() const { return tensors_; }
    const Entry* find(std::string_view name) const;
    // The tensor's bytes (info.end - info.begin long).
    std::span<const uint8_t> data(const Entry& e) const;
    // Gives the tensor's pages back to the kernel once it has been read (MmapFile::release).
    void release(const Entry& e) const { files_[e.file].release(data(e)); }
    // The file an entry lives in (for messages).
    const std::string& file_name(const Entry& e) const { return names_[e.file]; }

private:
    Status add_file(const std::string& dir, const std::string& name);
    std::vector<MmapFile> files_;
    std::vector<std::string> names_;
    std::vector<uint64_t> data_start_; // (files) offset of the data section in each file
    std::vector<Entry> tensors_;
};

} // namespace hearth::convert
