// gguf/gguf.h: GGUF v2/v3 reader. This header is also the format's spec as hearth reads it.
//
// Byte layout (all integers little-endian):
//   u32   magic            "GGUF" (0x46554747)
//   u32   version          2 or 3 (v1 used u32 counts and is refused)
//   u64   n_tensors
//   u64   n_kv
//   kv[n_kv]:
//     string key           (u64 length, then that many bytes, no NUL terminator)
//     u32    value_type    (ValueType)
//     value                scalar: its natural size; bool: 1 byte (0 or 1)
//                          string: u64 length + bytes
//                          array: u32 element type, u64 count, then count elements
//                                 (arrays of strings and arrays of arrays allowed)
//   tensor_info[n_tensors]:
//     string name
//     u32    n_dims        (1..4)
//     u64    ne[n_dims]    (ne[0] is the contiguous, fastest-moving dimension)
//     u32    type          (DType id, tensor/dtype.h)
//     u64    offset        (relative to the start of the data section; multiple of alignment)
//   padding to `general.alignment` (u32 key, default 32, power of two)
//   tensor data            (each tensor's bytes at data_offset + offset)
//
// Checks beyond the layout: the version is 2 or 3; value types are valid; bools are 0 or 1; arrays
// nest at most ParseLimits::max_array_depth deep; keys are non-empty and unique; `general.alignment`
// is a u32 power of two; n_dims is 1..4; each ne[i] and the element count fit in int64; the type id is
// known; offsets are multiples of the alignment; tensors' byte ranges do not overlap (gaps are allowed).
//
// Memory: a count is checked against the bytes left (at the element type's minimum encoded size:
// strings 8 bytes, arrays 12) before anything is reserved, so every allocation is bounded by the
// file size times sizeof(Value); the total metadata memory is also capped by ParseLimits.
//
// Invariants after a successful open(): every count, length, dimension, offset and byte size has
// been checked for overflow and against the file size before anything was allocated or read;
// every tensor's bytes lie inside the file; ne[0] is a multiple of the type's block size; tensor
// names and keys are unique. A hostile file gets an error naming the field, never a crash or an
// allocation larger than the file.
#pragma once

#include "base/status.h"
#include "tensor/dtype.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::gguf {

inline constexpr uint32_t kMagic = 0x46554747; // "GGUF" read as little-endian u32
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr int kMaxDims = 4;

enum class ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};

// "u8", "string", "array", ...; "invalid(N)" for an id outside the enum.
std::string_view value_type_name(ValueType t);
// llama.cpp's name for a general.file_type value (llama_ftype: "Q4_K_M", "Q8_0", ...); "" when unknown.
std::string_view file_type_name(uint64_t ftype);
// True for the integer types (U8..I64, not BOOL).
bool value_type_is_integer(ValueType t);

// One metadata value. Scalars live in the matching field; arrays keep their element type and items.
struct Value {
    ValueType type = ValueType::U8;
    uint64_t u = 0;                      // U8, U16, U32, U64, BOOL (0/1)
    int64_t i = 0;                       // I8, I16, I32, I64
    double f = 0;                        // F32, F64
    std::string str;                     // STRING
    ValueType elem_type = ValueType::U8; // ARRAY
    std::vector<Value> arr;              // ARRAY

    static Value make_u8(uint8_t v);
    static Value make_i8(int8_t v);
    static Value make_u16(uint16_t v);
    static Value make_i16(int16_t v);
    static Value make_u32(uint32_t v);
    static Value make_i32(int32_t v);
    static Value make_u64(uint64_t v);
    static Value make_i64(int64_t v);
    static Value make_f32(float v);
    static Value make_f64(double v);
    static Value make_bool(bool v);
    static Value make_string(std::string v);
    // Every item must have type elem_type (checked: a mismatch is a programming error).
    static Value make_array(ValueType elem_type, std::vector<Value> items);
    static Value make_string_array(const std::vector<std::string>& items);

    // "u32", "string", "array[string]", "array[array]".
    std::string type_name() const;
};

bool operator==(const Value& a, const Value& b); // same type and contents (F32/F64 bitwise via double)

struct KeyValue {
    std::string key;
    Value value;
};

struct TensorInfo {
    std::string name;
    std::vector<uint64_t> ne; // (n_dims) ne[0] fastest-moving
    DType type = DType::F32;
    uint64_t offset = 0; // relative to the data section
    uint64_t n_elements = 0;
    uint64_t n_bytes = 0;
};

// Limits beyond the file-size checks, for callers that parse untrusted files in a constrained process.
struct ParseLimits {
    int max_array_depth = 8;                  // arrays of arrays nest at most this deep
    uint64_t max_metadata_bytes = 1ull << 30; // memory for parsed metadata (Values + string bytes)
};

// An open GGUF file. Tensor data is memory-mapped (or borrowed, for from_memory) and stays valid
// as long as the File lives. Movable, not copyable.
class File {
public:
    // Errors from open() start with the path; all parse errors then read "gguf: <field>: <problem>".
    static Result<File> open(const std::string& path, const ParseLimits& limits = {});
    // Parses bytes the caller keeps alive for the File's lifetime (fuzzing, tests).
    static Result<File> from_memory(std::span<const uint8_t> bytes, const ParseLimits& limits = {});

    File(File&&) noexcept;
    File& operator=(File&&) noexcept;
    ~File();

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t file_size() const { return bytes_.size(); }
    uint64_t data_offset() const { return data_offset_; }

    const std::vector<KeyValue>& metadata() const { return kv_; }
    const Value* find(std::string_view key) const;

    // Typed accessors: an error names the key and the expected/actual type, or says it is missing.
    // Integer getters accept any integer type whose value fits; float getters accept F32/F64.
    Result<std::string> get_string(std::string_view key) const;
    Result<uint64_t> get_u64(std::string_view key) const;
    Result<uint32_t> get_u32(std::string_view key) const;
    Result<int64_t> get_i64(std::string_view key) const;
    Result<double> get_f64(std::string_view key) const;
    Result<float> get_f32(std::string_view key) const;
    Result<bool> get_bool(std::string_view key) const;
    Result<std::vector<std::string>> get_string_array(std::string_view key) const;
    Result<std::vector<int64_t>> get_int_array(std::string_view key) const;
    Result<std::vector<float>> get_f32_array(std::string_view key) const;
    // Array length without copying; error if the key is missing or not an array.
    Result<uint64_t> get_array_size(std::string_view key) const;

    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    // True when the bytes are this File's own read-only file mapping (open()), false when borrowed (from_memory):
    // only then may a reader give pages back (madvise DONTNEED re-reads them from the file if touched again).
    bool is_mapped() const { return map_ != nullptr; }
    const TensorInfo* find_tensor(std::string_view name) const;
    // The tensor's bytes inside the file (n_bytes long, at data_offset() + t.offset).
    std::span<const uint8_t> tensor_data(const TensorInfo& t) const;

private:
    File();
    struct Mapping;
    std::unique_ptr<Mapping> map_;   // null for from_memory
    std::span<const uint8_t> bytes_; // the whole file
    uint32_t version_ = 0;
    uint64_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<KeyValue> kv_;
    std::vector<TensorInfo> tensors_;
    friend class Parser;
};

} // namespace hearth::gguf
