// gguf/gguf.cpp: Value helpers and File's accessors. Parsing lives in parser.cpp.
#include "gguf/gguf.h"

#include "base/check.h"
#include "base/mmap_file.h"
#include "gguf/parser.h"

#include <cstring>
#include <limits>
#include <map>
#include <utility>

namespace hearth::gguf {

std::string_view file_type_name(uint64_t ftype) {
    static const std::map<uint64_t, const char*> names = {
        {0, "F32"},     {1, "F16"},     {2, "Q4_0"},      {3, "Q4_1"},    {7, "Q8_0"},     {8, "Q5_0"},
        {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"},   {12, "Q3_K_M"}, {13, "Q3_K_L"},  {14, "Q4_K_S"},
        {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},   {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
        {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"},  {24, "IQ1_S"},  {25, "IQ4_NL"},  {26, "IQ3_S"},
        {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},    {30, "IQ4_XS"}, {31, "IQ1_M"},   {32, "BF16"},
        {36, "TQ1_0"},  {37, "TQ2_0"},  {38, "MXFP4_MOE"}};
    auto it = names.find(ftype);
    return it == names.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view value_type_name(ValueType t) {
    switch (t) {
    case ValueType::U8:
        return "u8";
    case ValueType::I8:
        return "i8";
    case ValueType::U16:
        return "u16";
    case ValueType::I16:
        return "i16";
    case ValueType::U32:
        return "u32";
    case ValueType::I32:
        return "i32";
    case ValueType::F32:
        return "f32";
    case ValueType::BOOL:
        return "bool";
    case ValueType::STRING:
        return "string";
    case ValueType::ARRAY:
        return "array";
    case ValueType::U64:
        return "u64";
    case ValueType::I64:
        return "i64";
    case ValueType::F64:
        return "f64";
    }
    return "invalid";
}

bool value_type_is_integer(ValueType t) {
    switch (t) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::U16:
    case ValueType::I16:
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::U64:
    case ValueType::I64:
        return true;
    default:
        return false;
    }
}

namespace {

bool is_signed(ValueType t) {
    return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

Value make_unsigned(ValueType t, uint64_t v) {
    Value out;
    out.type = t;
    out.u = v;
    return out;
}

Value make_signed(ValueType t, int64_t v) {
    Value out;
    out.type = t;
    out.i = v;
    return out;
}

} // namespace

Value Value::make_u8(uint8_t v) {
    return make_unsigned(ValueType::U8, v);
}
Value Value::make_i8(int8_t v) {
    return make_signed(ValueType::I8, v);
}
Value Value::make_u16(uint16_t v) {
    return make_unsigned(ValueType::U16, v);
}
Value Value::make_i16(int16_t v) {
    return make_signed(ValueType::I16, v);
}
Value Value::make_u32(uint32_t v) {
    return make_unsigned(ValueType::U32, v);
}
Value Value::make_i32(int32_t v) {
    return make_signed(ValueType::I32, v);
}
Value Value::make_u64(uint64_t v) {
    return make_unsigned(ValueType::U64, v);
}
Value Value::make_i64(int64_t v) {
    return make_signed(ValueType::I64, v);
}
Value Value::make_bool(bool v) {
    return make_unsigned(ValueType::BOOL, v ? 1 : 0);
}

Value Value::make_f32(float v) {
    Value out;
    out.type = ValueType::F32;
    out.f = v;
    return out;
}

Value Value::make_f64(double v) {
    Value out;
    out.type = ValueType::F64;
    out.f = v;
    return out;
}

Value Value::make_string(std::string v) {
    Value out;
    out.type = ValueType::STRING;
    out.str = std::move(v);
    return out;
}

Value Value::make_array(ValueType elem_type, std::vector<Value> items) {
    for (const Value& item : items)
        HEARTH_CHECK(item.type == elem_type, "array item type differs from elem_type");
    Value out;
    out.type = ValueType::ARRAY;
    out.elem_type = elem_type;
    out.arr = std::move(items);
    return out;
}

Value Value::make_string_array(const std::vector<std::string>& items) {
    std::vector<Value> values;
    values.reserve(items.size());
    for (const std::string& s : items)
        values.push_back(make_string(s));
    return make_array(ValueType::STRING, std::move(values));
}

std::string Value::type_name() const {
    std::string name(value_type_name(type));
    if (type == ValueType::ARRAY) {
        name += '[';
        name += value_type_name(elem_type);
        name += ']';
    }
    return name;
}

bool operator==(const Value& a, const Value& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
    case ValueType::F32:
    case ValueType::F64:
        return std::memcmp(&a.f, &b.f, sizeof(double)) == 0;
    case ValueType::STRING:
        return a.str == b.str;
    case ValueType::ARRAY:
        return a.elem_type == b.elem_type && a.arr == b.arr;
    default:
        return is_signed(a.type) ? a.i == b.i : a.u == b.u;
    }
}

// ---- File ----

struct File::Mapping {
    MmapFile file;
};

File::File() = default;
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

Result<File> File::open(const std::string& path, const ParseLimits& limits) {
    auto mapped = MmapFile::open(path);
    if (!mapped) return error("gguf: " + mapped.message());
    auto mapping = std::make_unique<Mapping>(Mapping{std::move(mapped).value()});
    auto file = Parser::parse(mapping->file.bytes(), limits);
    if (!file) return error(path + ": " + file.message());
    file->map_ = std::move(mapping); // the mapped bytes do not move with the MmapFile object
    return file;
}

Result<File> File::from_memory(std::span<const uint8_t> bytes, const ParseLimits& limits) {
    return Parser::parse(bytes, limits);
}

const Value* File::find(std::string_view key) const {
    for (const KeyValue& kv : kv_) {
        if (kv.key == key) return &kv.value;
    }
    return nullptr;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
    for (const TensorInfo& t : tensors_) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

std::span<const uint8_t> File::tensor_data(const TensorInfo& t) const {
    // The parser proved data_offset_ + offset + n_bytes <= file size for every tensor it returned.
    HEARTH_CHECK(data_offset_ + t.offset + t.n_bytes <= bytes_.size(), "tensor does not belong to this file");
    return bytes_.subspan(data_offset_ + t.offset, t.n_bytes);
}

// ---- typed accessors ----

namespace {

std::string quoted(std::string_view key) {
    std::string out = "'"; // built by appending: GCC 12 warns falsely on "literal" + std::string&&
    out += key;
    out += '\'';
    return out;
}

Status type_error(std::string_view key, const Value& v, std::string_view expected) {
    return error("gguf: key " + quoted(key) + " has type " + v.type_name() + ", expected " + std::string(expected));
}

// Integer value as a signed 128-bit quantity so that every range check is one comparison.
__int128 int_value(const Value& v) {
    return is_signed(v.type) ? static_cast<__int128>(v.i) : v.u;
}

std::string int_string(__int128 x) {
    if (x < 0) return std::string("-").append(std::to_string(static_cast<uint64_t>(-x)));
    return std::to_string(static_cast<uint64_t>(x));
}

template <typename T> Result<T> get_int(const File& f, std::string_view key, std::string_view want) {
    const Value* v = f.find(key);
    if (!v) return error("gguf: key " + quoted(key) + " not found");
    if (!value_type_is_integer(v->type)) return type_error(key, *v, "an integer (" + std::string(want) + ")");
    __int128 x = int_value(*v);
    if (x < static_cast<__int128>(std::numeric_limits<T>::min()) ||
        x > static_cast<__int128>(std::numeric_limits<T>::max())) {
        return error("gguf: key " + quoted(key) + ": value " + int_string(x) + " does not fit in " + std::string(want));
    }
    return static_cast<T>(x);
}

Result<const Value*> find_typed(const File& f, std::string_view key, ValueType type) {
    const Value* v = f.find(key);
    if (!v) return error("gguf: key " + quoted(key) + " not found");
    if (v->type != type) return type_error(key, *v, value_type_name(type));
    return v;
}

Result<const Value*> find_array(const File& f, std::string_view key, bool (*elem_ok)(ValueType),
                                std::string_view expected) {
    const Value* v = f.find(key);
    if (!v) return error("gguf: key " + quoted(key) + " not found");
    if (v->type != ValueType::ARRAY || !elem_ok(v->elem_type)) return type_error(key, *v, expected);
    return v;
}

} // namespace

Result<std::string> File::get_string(std::string_view key) const {
    auto v = find_typed(*this, key, ValueType::STRING);
    if (!v) return v.status();
    return (*v)->str;
}

Result<uint64_t> File::get_u64(std::string_view key) const {
    return get_int<uint64_t>(*this, key, "u64");
}
Result<uint32_t> File::get_u32(std::string_view key) const {
    return get_int<uint32_t>(*this, key, "u32");
}
Result<int64_t> File::get_i64(std::string_view key) const {
    return get_int<int64_t>(*this, key, "i64");
}

Result<double> File::get_f64(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return error("gguf: key " + quoted(key) + " not found");
    if (v->type != ValueType::F32 && v->type != ValueType::F64) return type_error(key, *v, "f32 or f64");
    return v->f;
}

Result<float> File::get_f32(std::string_view key) const {
    auto d = get_f64(key);
    if (!d) return d.status();
    return static_cast<float>(*d);
}

Result<bool> File::get_bool(std::string_view key) const {
    auto v = find_typed(*this, key, ValueType::BOOL);
    if (!v) return v.status();
    return (*v)->u != 0;
}

Result<std::vector<std::string>> File::get_string_array(std::string_view key) const {
    auto v = find_array(
        *this, key, [](ValueType t) { return t == ValueType::STRING; }, "array[string]");
    if (!v) return v.status();
    std::vector<std::string> out;
    out.reserve((*v)->arr.size());
    for (const Value& item : (*v)->arr)
        out.push_back(item.str);
    return out;
}

Result<std::vector<int64_t>> File::get_int_array(std::string_view key) const {
    auto v = find_array(*this, key, value_type_is_integer, "an array of integers");
    if (!v) return v.status();
    std::vector<int64_t> out;
    out.reserve((*v)->arr.size());
    for (size_t i = 0; i < (*v)->arr.size(); ++i) {
        const Value& item = (*v)->arr[i];
        if (!is_signed(item.type) && item.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return error("gguf: key " + quoted(key) + ": element " + std::to_string(i) + " value " +
                         std::to_string(item.u) + " does not fit in i64");
        }
        out.push_back(is_signed(item.type) ? item.i : static_cast<int64_t>(item.u));
    }
    return out;
}

Result<std::vector<float>> File::get_f32_array(std::string_view key) const {
    auto v = find_array(
        *this, key, [](ValueType t) { return t == ValueType::F32 || t == ValueType::F64; }, "array[f32] or array[f64]");
    if (!v) return v.status();
    std::vector<float> out;
    out.reserve((*v)->arr.size());
    for (const Value& item : (*v)->arr)
        out.push_back(static_cast<float>(item.f));
    return out;
}

Result<uint64_t> File::get_array_size(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return error("gguf: key " + quoted(key) + " not found");
    if (v->type != ValueType::ARRAY) return type_error(key, *v, "an array");
    return static_cast<uint64_t>(v->arr.size());
}

} // namespace hearth::gguf
