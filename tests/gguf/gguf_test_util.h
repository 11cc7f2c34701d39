// tests/gguf/gguf_test_util.h: a byte builder that records where each field of a hand-made GGUF file
// lies, so hostile-input tests can corrupt one named field at a time.
#pragma once

#include "gguf/gguf.h"

#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hearth::gguf::testing {

class RawGguf {
public:
    // Appends v; if `field` is non-empty, remembers its offset and size for patch().
    template <typename T> void put(const std::string& field, T v) {
        if (!field.empty()) fields_[field] = {bytes.size(), sizeof(T)};
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        bytes.insert(bytes.end(), p, p + sizeof(T));
    }
    // u64 length (recorded as `field`.len) then the bytes (recorded as `field`).
    void put_str(const std::string& field, const std::string& s) {
        put<uint64_t>(field + ".len", s.size());
        if (!field.empty()) fields_[field] = {bytes.size(), s.size()};
        bytes.insert(bytes.end(), s.begin(), s.end());
    }
    void pad(size_t alignment) { bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0); }

    // Overwrites a recorded field with v (sizes must match).
    template <typename T> void patch(const std::string& field, T v) {
        auto it = fields_.find(field);
        ASSERT_NE(it, fields_.end()) << "no field " << field;
        ASSERT_EQ(it->second.second, sizeof(T)) << "size of field " << field;
        std::memcpy(bytes.data() + it->second.first, &v, sizeof(T));
    }
    void patch_bytes(const std::string& field, const std::string& s) {
        auto it = fields_.find(field);
        ASSERT_NE(it, fields_.end()) << "no field " << field;
        ASSERT_EQ(it->second.second, s.size()) << "size of field " << field;
        std::memcpy(bytes.data() + it->second.first, s.data(), s.size());
    }
    size_t offset_of(const std::string& field) const { return fields_.at(field).first; }

    std::vector<uint8_t> bytes;

private:
    std::map<std::string, std::pair<size_t, size_t>> fields_; // name -> (offset, size)
};

// A small valid v3 file: 5 kvs (string, alignment, string array, array of arrays, bool) and two
// tensors: t0 f32 (4, 2) at 0 and t1 q8_0 (32) at 32; the file ends exactly at t1's last byte.
inline RawGguf small_valid_file() {
    RawGguf f;
    f.put<uint32_t>("magic", kMagic);
    f.put<uint32_t>("version", 3);
    f.put<uint64_t>("n_tensors", 2);
    f.put<uint64_t>("n_kv", 5);

    f.put_str("kv0.key", "general.architecture");
    f.put<uint32_t>("kv0.type", static_cast<uint32_t>(ValueType::STRING));
    f.put_str("kv0.val", "test");

    f.put_str("kv1.key", "general.alignment");
    f.put<uint32_t>("kv1.type", static_cast<uint32_t>(ValueType::U32));
    f.put<uint32_t>("kv1.val", 32);

    f.put_str("kv2.key", "tokens");
    f.put<uint32_t>("kv2.type", static_cast<uint32_t>(ValueType::ARRAY));
    f.put<uint32_t>("kv2.elem_type", static_cast<uint32_t>(ValueType::STRING));
    f.put<uint64_t>("kv2.count", 2);
    f.put_str("kv2.item0", "a");
    f.put_str("kv2.item1", "bc");

    f.put_str("kv3.key", "nested");
    f.put<uint32_t>("kv3.type", static_cast<uint32_t>(ValueType::ARRAY));
    f.put<uint32_t>("kv3.elem_type", static_cast<uint32_t>(ValueType::ARRAY));
    f.put<uint64_t>("kv3.count", 1);
    f.put<uint32_t>("kv3.inner.elem_type", static_cast<uint32_t>(ValueType::I32));
    f.put<uint64_t>("kv3.inner.count", 2);
    f.put<int32_t>("kv3.inner.item0", 1);
    f.put<int32_t>("kv3.inner.item1", -2);

    f.put_str("kv4.key", "flag");
    f.put<uint32_t>("kv4.type", static_cast<uint32_t>(ValueType::BOOL));
    f.put<uint8_t>("kv4.val", 1);

    f.put_str("t0.name", "t0");
    f.put<uint32_t>("t0.n_dims", 2);
    f.put<uint64_t>("t0.ne0", 4);
    f.put<uint64_t>("t0.ne1", 2);
    f.put<uint32_t>("t0.type", static_cast<uint32_t>(DType::F32));
    f.put<uint64_t>("t0.offset", 0);

    f.put_str("t1.name", "t1");
    f.put<uint32_t>("t1.n_dims", 1);
    f.put<uint64_t>("t1.ne0", 32);
    f.put<uint32_t>("t1.type", static_cast<uint32_t>(DType::Q8_0));
    f.put<uint64_t>("t1.offset", 32);

    f.pad(32);
    for (int i = 0; i < 32 + 34; ++i)
        f.put<uint8_t>("", static_cast<uint8_t>(i));
    return f;
}

// Parses a private copy sized exactly to `bytes`, so ASan flags any read past the end.
inline Result<File> parse_copy(const std::vector<uint8_t>& bytes, std::vector<uint8_t>* storage) {
    *storage = std::vector<uint8_t>(bytes); // a fresh buffer whose capacity is its size
    return File::from_memory(std::span<const uint8_t>(storage->data(), storage->size()));
}

} // namespace hearth::gguf::testing
