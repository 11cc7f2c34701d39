// gguf/parser.cpp: the GGUF reader. Every count, length, dimension and offset is checked for
// overflow and against the bytes left *before* anything is reserved or read (gguf.h has the layout).
// Errors read "gguf: <field>: <problem>"; inner readers return just the problem and callers prefix
// the field, so the hot path (hundreds of thousands of vocabulary strings) builds no strings.
#include "gguf/parser.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hearth::gguf {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

namespace {

constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;            // magic, version, n_tensors, n_kv
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;                 // key length, value type, smallest value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8; // name length, n_dims, ne[0], type, offset
constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

std::string str(uint64_t x) {
    return std::to_string(x);
}

// A name read from the file, quoted, with control bytes escaped and long names cut.
std::string printable(std::string_view s) {
    constexpr size_t kMaxShown = 96;
    std::string out = "'";
    for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > kMaxShown) out += "...";
    return out + "'";
}

std::string shape_string(const std::vector<uint64_t>& ne) {
    std::string out = "[";
    for (size_t i = 0; i < ne.size(); ++i)
        out += (i ? ", " : "") + str(ne[i]);
    return out + "]";
}

bool valid_value_type(uint32_t t) {
    return t <= static_cast<uint32_t>(ValueType::F64);
}

// Smallest encoding of one value of type t, to bound element counts by the bytes left.
uint64_t min_value_bytes(ValueType t) {
    switch (t) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::BOOL:
        return 1;
    case ValueType::U16:
    case ValueType::I16:
        return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
        return 4;
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
    case ValueType::STRING:
        return 8; // u64 length
    case ValueType::ARRAY:
        return 12; // u32 element type + u64 count
    }
    return 1;
}

// A cursor over the file's bytes plus the metadata memory budget.
class Reader {
public:
    Reader(std::span<const uint8_t> bytes, const ParseLimits& limits) : bytes_(bytes), limits_(limits) {}

    uint64_t pos() const { return pos_; }
    uint64_t left() const { return bytes_.size() - pos_; }

    template <typename T> Status read(T* out, std::string_view what) {
        if (sizeof(T) > left()) return truncated(what, sizeof(T));
        std::memcpy(out, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return Status::ok();
    }

    Status truncated(std::string_view what, uint64_t need) const {
        return error("unexpected end of file reading " + std::string(what) + " at offset " + str(pos_) + " (need " +
                     str(need) + " bytes, " + str(left()) + " left)");
    }

    // Reserves `bytes` of the metadata memory budget.
    Status charge(uint64_t bytes) {
        if (bytes > limits_.max_metadata_bytes - used_) {
            return error("metadata needs more than " + str(limits_.max_metadata_bytes) +
                         " bytes of memory (ParseLimits::max_metadata_bytes)");
        }
        used_ += bytes;
        return Status::ok();
    }

    Status read_string(std::string* out, std::string_view what) {
        uint64_t len = 0;
        if (sizeof(len) > left()) return truncated(std::string(what) + " length", sizeof(len));
        std::memcpy(&len, bytes_.data() + pos_, sizeof(len));
        pos_ += sizeof(len);
        if (len > left()) {
            return error(std::string(what) + " length " + str(len) + " exceeds remaining file bytes (" + str(left()) +
                         " left at offset " + str(pos_) + ")");
        }
        HEARTH_TRY(charge(len));
        out->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
        pos_ += len;
        return Status::ok();
    }

    Status read_value(ValueType type, int depth, Value* out);

private:
    Status read_array(int depth, Value* out);

    std::span<const uint8_t> bytes_;
    const ParseLimits& limits_;
    uint64_t pos_ = 0;
    uint64_t used_ = 0; // metadata memory charged so far, <= limits_.max_metadata_bytes
};

Status Reader::read_value(ValueType type, int depth, Value* out) {
    out->type = type;
    switch (type) {
    case ValueType::U8: {
        uint8_t x = 0;
        HEARTH_TRY(read(&x, "u8 value"));
        out->u = x;
        return Status::ok();
    }
    case ValueType::I8: {
        int8_t x = 0;
        HEARTH_TRY(read(&x, "i8 value"));
        out->i = x;
        return Status::ok();
    }
    case ValueType::U16: {
        uint16_t x = 0;
        HEARTH_TRY(read(&x, "u16 value"));
        out->u = x;
        return Status::ok();
    }
    case ValueType::I16: {
        int16_t x = 0;
        HEARTH_TRY(read(&x, "i16 value"));
        out->i = x;
        return Status::ok();
    }
    case ValueType::U32: {
        uint32_t x = 0;
        HEARTH_TRY(read(&x, "u32 value"));
        out->u = x;
        return Status::ok();
    }
    case ValueType::I32: {
        int32_t x = 0;
        HEARTH_TRY(read(&x, "i32 value"));
        out->i = x;
        return Status::ok();
    }
    case ValueType::U64:
        return read(&out->u, "u64 value");
    case ValueType::I64:
        return read(&out->i, "i64 value");
    case ValueType::F32: {
        float x = 0;
        HEARTH_TRY(read(&x, "f32 value"));
        out->f = x;
        return Status::ok();
    }
    case ValueType::F64:
        return read(&out->f, "f64 value");
    case ValueType::BOOL: {
        uint8_t x = 0;
        HEARTH_TRY(read(&x, "bool value"));
        if (x > 1) return error("bool value " + str(x) + " at offset " + str(pos_ - 1) + " is not 0 or 1");
        out->u = x;
        return Status::ok();
    }
    case ValueType::STRING:
        return read_string(&out->str, "string");
    case ValueType::ARRAY:
        return read_array(depth + 1, out);
    }
    return error("invalid value type " + str(static_cast<uint32_t>(type)));
}

Status Reader::read_array(int depth, Value* out) {
    if (depth > limits_.max_array_depth) {
        return error("arrays nested more than " + str(static_cast<uint64_t>(limits_.max_array_depth)) +
                     " deep (ParseLimits::max_array_depth)");
    }
    uint32_t elem = 0;
    HEARTH_TRY(read(&elem, "array element type"));
    if (!valid_value_type(elem)) return error("invalid array element type " + str(elem) + " (valid: 0..12)");
    uint64_t count = 0;
    HEARTH_TRY(read(&count, "array count"));
    auto elem_type = static_cast<ValueType>(elem);
    uint64_t min_bytes = min_value_bytes(elem_type);
    if (count > left() / min_bytes) {
        return error("array count " + str(count) + " exceeds remaining file bytes (each " +
                     std::string(value_type_name(elem_type)) + " element needs at least " + str(min_bytes) +
                     " bytes, " + str(left()) + " left)");
    }
    HEARTH_TRY(charge(count * sizeof(Value))); // count <= file size, so no overflow
    out->elem_type = elem_type;
    out->arr.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
        Status st = read_value(elem_type, depth, &out->arr.emplace_back());
        if (!st) return error("element " + str(i) + ": " + st.message());
    }
    return Status::ok();
}

std::string kv_context(uint64_t index, std::string_view key) {
    return "gguf: kv[" + str(index) + "] " + printable(key) + ": ";
}

std::string tensor_context(uint64_t index, std::string_view name) {
    return "gguf: tensor[" + str(index) + "] " + printable(name) + ": ";
}

Status read_header(Reader& r, uint64_t file_size, uint32_t* version, uint64_t* n_tensors, uint64_t* n_kv) {
    if (file_size < 4) {
        return error("gguf: file is " + str(file_size) + " bytes, too small for a GGUF header (" + str(kHeaderBytes) +
                     " bytes)");
    }
    uint32_t magic = 0;
    HEARTH_TRY(r.read(&magic, "magic"));
    if (magic != kMagic) {
        char shown[64];
        std::snprintf(shown, sizeof(shown), "%02x %02x %02x %02x", magic & 0xff, (magic >> 8) & 0xff,
                      (magic >> 16) & 0xff, magic >> 24);
        std::string text(reinterpret_cast<const char*>(&magic), 4);
        std::string msg = "gguf: bad magic " + printable(text) + " (" + shown + "), expected 'GGUF' (47 47 55 46)";
        if (magic == __builtin_bswap32(kMagic)) msg += ": looks like a big-endian GGUF, which is not supported";
        return error(msg + "; not a GGUF file");
    }
    if (file_size < kHeaderBytes) {
        return error("gguf: file is " + str(file_size) + " bytes, too small for a GGUF header (" + str(kHeaderBytes) +
                     " bytes)");
    }
    HEARTH_TRY(r.read(version, "version"));
    uint32_t swapped = __builtin_bswap32(*version);
    if (*version > 3 && swapped >= 1 && swapped <= 3) {
        return error("gguf: version field reads " + str(*version) + ": looks like a big-endian GGUF (version " +
                     str(swapped) + " byte-swapped), which is not supported");
    }
    if (*version == 1) {
        return error("gguf: version 1 is not supported (it used 32-bit counts); re-convert the model with a "
                     "current llama.cpp");
    }
    if (*version != 2 && *version != 3) {
        return error("gguf: unsupported version " + str(*version) + " (hearth reads versions 2 and 3)");
    }
    HEARTH_TRY(r.read(n_tensors, "n_tensors"));
    HEARTH_TRY(r.read(n_kv, "n_kv"));
    uint64_t left = r.left();
    if (*n_tensors > left / kMinTensorInfoBytes) {
        return error("gguf: n_tensors " + str(*n_tensors) + " exceeds what the file can hold (each tensor info needs " +
                     "at least " + str(kMinTensorInfoBytes) + " bytes, " + str(left) + " left)");
    }
    if (*n_kv > left / kMinKvBytes) {
        return error("gguf: n_kv " + str(*n_kv) + " exceeds what the file can hold (each kv needs at least " +
                     str(kMinKvBytes) + " bytes, " + str(left) + " left)");
    }
    if (*n_tensors * kMinTensorInfoBytes + *n_kv * kMinKvBytes > left) { // each term <= left: no overflow
        return error("gguf: n_kv " + str(*n_kv) + " and n_tensors " + str(*n_tensors) + " need more bytes than the " +
                     str(left) + " left in the file");
    }
    return Status::ok();
}

Status read_metadata(Reader& r, uint64_t n_kv, std::vector<KeyValue>* kvs) {
    HEARTH_TRY(r.charge(n_kv * sizeof(KeyValue))); // n_kv <= file size / 13
    kvs->reserve(n_kv);                            // no reallocation below: `seen` may view the keys
    std::unordered_map<std::string_view, uint64_t> seen;
    for (uint64_t i = 0; i < n_kv; ++i) {
        KeyValue& kv = kvs->emplace_back();
        Status st = r.read_string(&kv.key, "key");
        if (!st) return error("gguf: kv[" + str(i) + "]: " + st.message());
        if (kv.key.empty()) return error(kv_context(i, kv.key) + "key is empty");
        auto [it, inserted] = seen.emplace(kv.key, i);
        if (!inserted)
            return error(kv_context(i, kv.key) + "duplicate key (first defined by kv[" + str(it->second) + "])");
        uint32_t type = 0;
        st = r.read(&type, "value type");
        if (!st) return error(kv_context(i, kv.key) + st.message());
        if (!valid_value_type(type))
            return error(kv_context(i, kv.key) + "invalid value type " + str(type) + " (valid: 0..12)");
        st = r.read_value(static_cast<ValueType>(type), 0, &kv.value);
        if (!st) return error(kv_context(i, kv.key) + st.message());
    }
    return Status::ok();
}

Status read_alignment(const std::vector<KeyValue>& kvs, uint64_t* alignment) {
    *alignment = kDefaultAlignment;
    for (size_t i = 0; i < kvs.size(); ++i) {
        if (kvs[i].key != "general.alignment") continue;
        const Value& v = kvs[i].value;
        if (v.type != ValueType::U32)
            return error(kv_context(i, kvs[i].key) + "has type " + v.type_name() + ", expected u32");
        if (v.u == 0 || !std::has_single_bit(v.u)) {
            return error(kv_context(i, kvs[i].key) + "alignment " + str(v.u) + " is not a power of two");
        }
        *alignment = v.u;
    }
    return Status::ok();
}

// Reads dims, type and offset of one tensor info (the name is already read) and derives its sizes.
Status read_tensor_shape(Reader& r, uint64_t alignment, TensorInfo* t) {
    uint32_t n_dims = 0;
    HEARTH_TRY(r.read(&n_dims, "n_dims"));
    if (n_dims == 0 || n_dims > static_cast<uint32_t>(kMaxDims)) {
        return error("n_dims " + str(n_dims) + " is outside 1.." + str(kMaxDims));
    }
    t->ne.resize(n_dims);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
        std::string field = "ne[" + str(d) + "]";
        HEARTH_TRY(r.read(&t->ne[d], field));
        if (t->ne[d] > kInt64Max) return error(field + " = " + str(t->ne[d]) + " exceeds INT64_MAX");
        if (__builtin_mul_overflow(n_elements, t->ne[d], &n_elements) || n_elements > kInt64Max) {
            return error("element count of shape " + shape_string(t->ne) + " overflows int64");
        }
    }
    uint32_t type_id = 0;
    HEARTH_TRY(r.read(&type_id, "type"));
    auto info = dtype_info(type_id);
    if (!info) return error("unknown tensor type id " + str(type_id));
    t->type = info->type;
    HEARTH_TRY(r.read(&t->offset, "offset"));

    if (t->ne[0] % info->block_size != 0) {
        return error("ne[0] = " + str(t->ne[0]) + " is not a multiple of the block size " + str(info->block_size) +
                     " of type " + std::string(info->name));
    }
    uint64_t rows = 1; // ne[1] * ne[2] * ne[3]; cannot overflow when ne[0] > 0, but ne[0] may be 0
    uint64_t row_bytes = 0;
    uint64_t n_bytes = 0;
    bool overflow = __builtin_mul_overflow(t->ne[0] / info->block_size, info->type_size, &row_bytes);
    for (uint32_t d = 1; d < n_dims; ++d)
        overflow = overflow || __builtin_mul_overflow(rows, t->ne[d], &rows);
    overflow = overflow || __builtin_mul_overflow(row_bytes, rows, &n_bytes);
    if (overflow) {
        return error("byte size of shape " + shape_string(t->ne) + " of type " + std::string(info->name) +
                     " overflows u64");
    }
    t->n_elements = n_elements;
    t->n_bytes = n_bytes;
    if (t->offset % alignment != 0) {
        return error("offset " + str(t->offset) + " is not a multiple of the alignment " + str(alignment));
    }
    return Status::ok();
}

Status read_tensor_infos(Reader& r, uint64_t n_tensors, uint64_t alignment, std::vector<TensorInfo>* tensors) {
    HEARTH_TRY(r.charge(n_tensors * sizeof(TensorInfo))); // n_tensors <= file size / 32
    tensors->reserve(n_tensors);                          // no reallocation below: `seen` may view names
    std::unordered_map<std::string_view, uint64_t> seen;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        TensorInfo& t = tensors->emplace_back();
        Status st = r.read_string(&t.name, "name");
        if (!st) return error("gguf: tensor[" + str(i) + "]: " + st.message());
        if (t.name.empty()) return error(tensor_context(i, t.name) + "name is empty");
        auto [it, inserted] = seen.emplace(t.name, i);
        if (!inserted) {
            return error(tensor_context(i, t.name) + "duplicate tensor name (first defined by tensor[" +
                         str(it->second) + "])");
        }
        st = read_tensor_shape(r, alignment, &t);
        if (!st) return error(tensor_context(i, t.name) + st.message());
    }
    return Status::ok();
}

std::string span_string(uint64_t data_offset, const TensorInfo& t) {
    return "[offset " + str(data_offset + t.offset) + ", " + str(t.n_bytes) + " bytes]";
}

// Places the data section after the tensor infos and checks every tensor's bytes lie inside the file
// without overlapping another's.
Status place_tensor_data(uint64_t infos_end, uint64_t file_size, uint64_t alignment,
                         const std::vector<TensorInfo>& tensors, uint64_t* data_offset) {
    // infos_end <= file_size and alignment <= 2^31, so this cannot overflow for any real file size.
    uint64_t padded = (infos_end + alignment - 1) / alignment * alignment;
    if (tensors.empty()) {
        *data_offset = std::min(padded, file_size); // files without tensors may omit the final padding
        return Status::ok();
    }
    if (padded > file_size) {
        return error("gguf: data section starts at offset " + str(padded) + " (tensor infos end at " + str(infos_end) +
                     ", padded to alignment " + str(alignment) + "), past end of file (size " + str(file_size) + ")");
    }
    *data_offset = padded;
    uint64_t data_size = file_size - padded;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const TensorInfo& t = tensors[i];
        if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
            std::string where = t.offset > data_size ? "[offset " + str(padded) + " + " + str(t.offset) + ", " +
                                                           str(t.n_bytes) + " bytes]"
                                                     : span_string(padded, t);
            return error(tensor_context(i, t.name) + "data " + where + " extends past end of file (size " +
                         str(file_size) + ")");
        }
    }
    std::vector<size_t> order;
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (tensors[i].n_bytes > 0) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const TensorInfo& prev = tensors[order[k - 1]];
        const TensorInfo& cur = tensors[order[k]];
        if (cur.offset < prev.offset + prev.n_bytes) {
            return error(tensor_context(order[k], cur.name) + "data " + span_string(padded, cur) + " overlaps tensor[" +
                         str(order[k - 1]) + "] " + printable(prev.name) + " " + span_string(padded, prev));
        }
    }
    return Status::ok();
}

} // namespace

Result<File> Parser::parse(std::span<const uint8_t> bytes, const ParseLimits& limits) {
    Reader r(bytes, limits);
    File f;
    f.bytes_ = bytes;
    uint64_t n_tensors = 0;
    uint64_t n_kv = 0;
    HEARTH_TRY(read_header(r, bytes.size(), &f.version_, &n_tensors, &n_kv));
    HEARTH_TRY(read_metadata(r, n_kv, &f.kv_));
    HEARTH_TRY(read_alignment(f.kv_, &f.alignment_));
    HEARTH_TRY(read_tensor_infos(r, n_tensors, f.alignment_, &f.tensors_));
    HEARTH_TRY(place_tensor_data(r.pos(), bytes.size(), f.alignment_, f.tensors_, &f.data_offset_));
    return Result<File>(std::move(f));
}

} // namespace hearth::gguf
