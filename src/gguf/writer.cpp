// gguf/writer.cpp: serializes metadata and tensors as GGUF v3 (layout in gguf.h).
#include "gguf/writer.h"

#include "base/check.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

namespace hearth::gguf {

namespace {

constexpr uint32_t kVersion = 3;

class Sink {
public:
    template <typename T> void put(T v) {
        size_t at = out.size();
        out.resize(at + sizeof(T));
        std::memcpy(out.data() + at, &v, sizeof(T));
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        size_t at = out.size();
        out.resize(at + s.size());
        if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
    }
    void put_value(const Value& v) {
        switch (v.type) {
        case ValueType::U8:
            put<uint8_t>(static_cast<uint8_t>(v.u));
            break;
        case ValueType::I8:
            put<int8_t>(static_cast<int8_t>(v.i));
            break;
        case ValueType::U16:
            put<uint16_t>(static_cast<uint16_t>(v.u));
            break;
        case ValueType::I16:
            put<int16_t>(static_cast<int16_t>(v.i));
            break;
        case ValueType::U32:
            put<uint32_t>(static_cast<uint32_t>(v.u));
            break;
        case ValueType::I32:
            put<int32_t>(static_cast<int32_t>(v.i));
            break;
        case ValueType::F32:
            put<float>(static_cast<float>(v.f));
            break;
        case ValueType::BOOL:
            put<uint8_t>(v.u ? 1 : 0);
            break;
        case ValueType::STRING:
            put_string(v.str);
            break;
        case ValueType::ARRAY:
            put<uint32_t>(static_cast<uint32_t>(v.elem_type));
            put<uint64_t>(v.arr.size());
            for (const Value& item : v.arr)
                put_value(item);
            break;
        case ValueType::U64:
            put<uint64_t>(v.u);
            break;
        case ValueType::I64:
            put<int64_t>(v.i);
            break;
        case ValueType::F64:
            put<double>(v.f);
            break;
        }
    }
    void pad_to(uint64_t alignment) { out.resize((out.size() + alignment - 1) / alignment * alignment, 0); }

    std::vector<uint8_t> out;
};

// Values reach the writer from code, so a malformed one is a programming error.
void check_value(const Value& v, int depth) {
    HEARTH_CHECK(static_cast<uint32_t>(v.type) <= static_cast<uint32_t>(ValueType::F64), "invalid value type");
    if (v.type == ValueType::BOOL) HEARTH_CHECK(v.u <= 1, "bool value is not 0 or 1");
    if (v.type != ValueType::ARRAY) return;
    HEARTH_CHECK(depth < ParseLimits{}.max_array_depth, "arrays nested too deep for the reader");
    for (const Value& item : v.arr) {
        HEARTH_CHECK(item.type == v.elem_type, "array item type differs from elem_type");
        check_value(item, depth + 1);
    }
}

uint64_t align_up(uint64_t x, uint64_t alignment) {
    return (x + alignment - 1) / alignment * alignment;
}

Status write_all(int fd, const uint8_t* p, size_t n, const std::string& path) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return error("gguf: cannot write '" + path + "': " + std::strerror(errno));
        p += w;
        n -= static_cast<size_t>(w);
    }
    return Status::ok();
}

std::string parent_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

void Writer::set(std::string key, Value value) {
    HEARTH_CHECK(!key.empty(), "empty metadata key");
    check_value(value, 0);
    if (key == "general.alignment") {
        HEARTH_CHECK(value.type == ValueType::U32 && std::has_single_bit(value.u),
                     "general.alignment must be a u32 power of two");
    }
    for (KeyValue& kv : kv_) {
        if (kv.key == key) {
            kv.value = std::move(value);
            return;
        }
    }
    kv_.push_back(KeyValue{std::move(key), std::move(value)});
}

Status Writer::declare(std::string name, DType type, std::vector<uint64_t> ne, PendingTensor* out) const {
    std::string ctx = "gguf writer: tensor '" + name + "': ";
    if (name.empty()) return error("gguf writer: tensor name is empty");
    for (const PendingTensor& t : tensors_) {
        if (t.info.name == name) return error(ctx + "duplicate tensor name");
    }
    if (ne.empty() || ne.size() > static_cast<size_t>(kMaxDims)) {
        return error(ctx + std::to_string(ne.size()) + " dimensions, expected 1.." + std::to_string(kMaxDims));
    }
    if (!dtype_info(static_cast<uint32_t>(type))) return error(ctx + "invalid dtype");
    uint64_t n_elements = 1;
    uint64_t rows = 1;
    for (size_t d = 0; d < ne.size(); ++d) {
        if (__builtin_mul_overflow(n_elements, ne[d], &n_elements) || n_elements > INT64_MAX) {
            return error(ctx + "element count overflows int64");
        }
        if (d > 0) rows *= ne[d]; // <= n_elements unless ne[0] == 0; then n_bytes is 0 regardless
    }
    auto row_bytes = dtype_row_bytes(type, ne[0]);
    if (!row_bytes) {
        return error(ctx + "ne[0] = " + std::to_string(ne[0]) + " is not a multiple of the block size of " +
                     std::string(dtype_name(type)));
    }
    out->info.name = std::move(name);
    out->info.ne = std::move(ne);
    out->info.type = type;
    out->info.n_elements = n_elements;
    out->info.n_bytes = out->info.ne[0] == 0 ? 0 : *row_bytes * rows;
    return Status::ok();
}

Status Writer::add_tensor(std::string name, DType type, std::vector<uint64_t> ne, std::span<const uint8_t> data) {
    PendingTensor t;
    HEARTH_TRY(declare(name, type, std::move(ne), &t));
    if (data.size() != t.info.n_bytes) {
        return error("gguf writer: tensor '" + name + "': data is " + std::to_string(data.size()) +
                     " bytes, shape needs " + std::to_string(t.info.n_bytes));
    }
    t.data.assign(data.begin(), data.end());
    tensors_.push_back(std::move(t));
    return Status::ok();
}

Status Writer::add_tensor_later(std::string name, DType type, std::vector<uint64_t> ne) {
    PendingTensor t;
    HEARTH_TRY(declare(std::move(name), type, std::move(ne), &t));
    t.later = true;
    tensors_.push_back(std::move(t));
    return Status::ok();
}

namespace {

uint64_t writer_alignment(const std::vector<KeyValue>& kv) {
    for (const KeyValue& e : kv) {
        if (e.key == "general.alignment") return e.value.u;
    }
    return kDefaultAlignment;
}

// Everything before the first tensor's bytes (header, metadata, tensor infos, padding), then each
// tensor's bytes followed by padding to the alignment, handed to `emit` in order.
Status serialize(const std::vector<KeyValue>& kv, const std::vector<TensorInfo>& infos,
                 const std::function<Result<std::span<const uint8_t>>(size_t)>& data_of, uint64_t alignment,
                 const std::function<void(const uint8_t*, size_t)>& emit) {
    Sink head;
    head.put<uint32_t>(kMagic);
    head.put<uint32_t>(kVersion);
    head.put<uint64_t>(infos.size());
    head.put<uint64_t>(kv.size());
    for (const KeyValue& e : kv) {
        head.put_string(e.key);
        head.put<uint32_t>(static_cast<uint32_t>(e.value.type));
        head.put_value(e.value);
    }
    uint64_t offset = 0;
    for (const TensorInfo& t : infos) {
        head.put_string(t.name);
        head.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
        for (uint64_t n : t.ne)
            head.put<uint64_t>(n);
        head.put<uint32_t>(static_cast<uint32_t>(t.type));
        head.put<uint64_t>(offset);
        offset = align_up(offset + t.n_bytes, alignment);
    }
    head.pad_to(alignment);
    emit(head.out.data(), head.out.size());
    static const uint8_t kZeros[256] = {};
    for (size_t i = 0; i < infos.size(); ++i) {
        auto data = data_of(i);
        if (!data) return data.status();
        if (data->size() != infos[i].n_bytes)
            return error("gguf writer: tensor '" + infos[i].name + "': " + std::to_string(data->size()) +
                         " bytes produced, shape needs " + std::to_string(infos[i].n_bytes));
        emit(data->data(), data->size());
        for (uint64_t pad = align_up(data->size(), alignment) - data->size(); pad > 0;) {
            size_t n = pad < sizeof(kZeros) ? pad : sizeof(kZeros);
            emit(kZeros, n);
            pad -= n;
        }
    }
    return Status::ok();
}

} // namespace

std::vector<uint8_t> Writer::to_bytes() const {
    std::vector<TensorInfo> infos;
    for (const PendingTensor& t : tensors_) {
        HEARTH_CHECK(!t.later, "to_bytes() with a tensor added by add_tensor_later");
        infos.push_back(t.info);
    }
    std::vector<uint8_t> out;
    const Status st = serialize(
        kv_, infos,
        [&](size_t i) -> Result<std::span<const uint8_t>> { return std::span<const uint8_t>(tensors_[i].data); },
        writer_alignment(kv_), [&](const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); });
    HEARTH_CHECK(st.is_ok(), "serializing stored tensors cannot fail");
    return out;
}

Status Writer::write(const std::string& path, const Producer& later) const {
    std::string tmp = path + ".tmp-XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) return error("gguf: cannot create a temporary file next to '" + path + "': " + std::strerror(errno));
    std::vector<TensorInfo> infos;
    size_t n_later = 0;
    for (const PendingTensor& t : tensors_) {
        infos.push_back(t.info);
        n_later += t.later ? 1 : 0;
    }
    Status st;
    if (n_later > 0 && !later) st = error("gguf writer: tensors added by add_tensor_later need a producer");
    std::vector<uint8_t> scratch;
    size_t i_later = 0;
    if (st) {
        st = serialize(
            kv_, infos,
            [&](size_t i) -> Result<std::span<const uint8_t>> {
                if (!st) return st; // the file failed: produce nothing more
                if (!tensors_[i].later) return std::span<const uint8_t>(tensors_[i].data);
                return later(i_later++, scratch);
            },
            writer_alignment(kv_),
            [&](const uint8_t* p, size_t n) {
                if (st) st = write_all(fd, p, n, tmp);
            });
    }
    if (st && ::fchmod(fd, 0644) != 0) st = error("gguf: cannot chmod '" + tmp + "': " + std::strerror(errno));
    if (st && ::fsync(fd) != 0) st = error("gguf: cannot fsync '" + tmp + "': " + std::strerror(errno));
    if (::close(fd) != 0 && st) st = error("gguf: cannot close '" + tmp + "': " + std::strerror(errno));
    if (st && ::rename(tmp.c_str(), path.c_str()) != 0) {
        st = error("gguf: cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
    }
    if (!st) {
        ::unlink(tmp.c_str());
        return st;
    }
    // Make the rename itself durable; a failure here leaves a complete file, so it is not an error.
    int dir = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return Status::ok();
}

} // namespace hearth::gguf
