#include "quantize/imatrix.h"

#include "base/mmap_file.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"

#include <cmath>
#include <cstring>

namespace hearth::quantize {
namespace {

constexpr std::string_view kSums = ".in_sum2";
constexpr std::string_view kCounts = ".counts";

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool valid(float v) {
    return std::isfinite(v) && v >= 0;
}

std::vector<float> f32_values(const gguf::File& f, const gguf::TensorInfo& t) {
    const auto bytes = f.tensor_data(t);
    std::vector<float> v(size_t(t.n_elements));
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float)); // (a tensor may be empty)
    return v;
}

Result<Imatrix> parse_gguf(const gguf::File& f, const std::string& what) {
    Imatrix m;
    if (auto d = f.get_string_array("imatrix.datasets")) m.datasets = *d;
    if (auto c = f.get_u32("imatrix.chunk_count")) m.chunk_count = *c;
    if (auto c = f.get_u32("imatrix.chunk_size")) m.chunk_size = *c;
    if (!f.find("imatrix.datasets") || !f.find("imatrix.chunk_count") || !f.find("imatrix.chunk_size"))
        return error(what + ": not an importance matrix (no imatrix.datasets / chunk_count / chunk_size)");
    for (const gguf::TensorInfo& t : f.tensors()) {
        const bool sums = ends_with(t.name, kSums), counts = ends_with(t.name, kCounts);
        if (!sums && !counts) continue;
        if (t.type != DType::F32) return error(what + ": " + t.name + " is not F32");
        const std::string weight = t.name.substr(0, t.name.size() - (sums ? kSums.size() : kCounts.size()));
        ImatrixEntry& e = m.entries[weight];
        (sums ? e.sums : e.counts) = f32_values(f, t);
    }
    if (m.entries.empty()) return error(what + ": the importance matrix has no entries");
    for (const auto& [name, e] : m.entries) {
        if (e.sums.empty() || e.counts.empty())
            return error(what + ": " + name + " has " +
                         (e.sums.empty() ? "counts without sums" : "sums without counts"));
        if (e.sums.size() % e.counts.size() != 0)
            return error(what + ": " + name + ": " + std::to_string(e.sums.size()) + " sums do not split into " +
                         std::to_string(e.counts.size()) + " matrices");
        for (float v : e.sums)
            if (!valid(v)) return error(what + ": " + name + " has a negative or non-finite sum");
        for (float v : e.counts)
            if (!valid(v)) return error(what + ": " + name + " has a negative or non-finite count");
    }
    return m;
}

// Reads little-endian fields of the legacy format, each checked against the bytes left.
struct Cursor {
    std::span<const uint8_t> b;
    size_t pos = 0;
    bool i32(int32_t* v) {
        if (b.size() - pos < 4) return false;
        std::memcpy(v, b.data() + pos, 4);
        pos += 4;
        return true;
    }
    bool bytes(size_t n, const uint8_t** p) {
        if (b.size() - pos < n) return false;
        *p = b.data() + pos;
        pos += n;
        return true;
    }
};

Result<Imatrix> parse_legacy(std::span<const uint8_t> bytes, const std::string& what) {
    Imatrix m;
    m.legacy = true;
    Cursor c{bytes};
    int32_t n = 0;
    if (!c.i32(&n) || n < 1) return error(what + ": neither a GGUF nor a legacy importance matrix (no entries)");
    for (int32_t i = 0; i < n; ++i) {
        const std::string at = what + ": entry " + std::to_string(i) + ": ";
        int32_t len = 0, ncall = 0, nval = 0;
        const uint8_t* p = nullptr;
        if (!c.i32(&len) || len < 1 || !c.bytes(size_t(len), &p)) return error(at + "bad or truncated name");
        std::string name(reinterpret_cast<const char*>(p), size_t(len));
        if (!c.i32(&ncall) || ncall < 0 || !c.i32(&nval) || nval < 1)
            return error(at + name + ": bad call or value count");
        if (!c.bytes(size_t(nval) * 4, &p)) return error(at + name + ": truncated values");
        if (m.entries.count(name)) return error(at + name + " appears twice");
        ImatrixEntry& e = m.entries[name];
        e.sums.resize(size_t(nval));
        std::memcpy(e.sums.data(), p, size_t(nval) * 4);
        for (float v : e.sums)
            if (!valid(v)) return error(at + name + " has a negative or non-finite value");
        e.counts = {float(ncall)};
    }
    int32_t chunks = 0, len = 0;
    const uint8_t* p = nullptr;
    if (c.i32(&chunks) && chunks >= 0) {
        m.chunk_count = uint32_t(chunks);
        if (c.i32(&len) && len > 0 && c.bytes(size_t(len), &p))
            m.datasets.emplace_back(reinterpret_cast<const char*>(p), size_t(len));
    }
    return m; // llama.cpp ignores anything after, and so do we
}

} // namespace

Result<Imatrix> parse_imatrix(std::span<const uint8_t> bytes, const std::string& what) {
    uint32_t magic = 0;
    if (bytes.size() >= 4) std::memcpy(&magic, bytes.data(), 4);
    if (magic == gguf::kMagic) {
        auto f = gguf::File::from_memory(bytes);
        if (!f) return error(what + ": " + f.message());
        return parse_gguf(*f, what);
    }
    return parse_legacy(bytes, what);
}

Result<Imatrix> read_imatrix(const std::string& path) {
    uint32_t magic = 0;
    {
        auto f = MmapFile::open(path);
        if (!f) return error(f.message());
        const auto bytes = f->bytes();
        if (bytes.size() >= 4) std::memcpy(&magic, bytes.data(), 4);
        if (magic != gguf::kMagic) return parse_legacy(bytes, path);
    }
    auto f = gguf::File::open(path);
    if (!f) return error(f.message());
    return parse_gguf(*f, path);
}

Status write_imatrix(const Imatrix& m, const std::string& path) {
    gguf::Writer w;
    w.set("general.type", gguf::Value::make_string("imatrix"));
    w.set("imatrix.datasets", gguf::Value::make_string_array(m.datasets));
    w.set("imatrix.chunk_count", gguf::Value::make_u32(m.chunk_count));
    w.set("imatrix.chunk_size", gguf::Value::make_u32(m.chunk_size));
    for (const auto& [name, e] : m.entries) { // std::map: name order, as llama-imatrix writes
        if (e.counts.empty() || e.sums.size() % e.counts.size() != 0)
            return error("imatrix entry " + name + ": sums and counts do not match");
        const uint64_t n_mat = e.counts.size(), n_cols = e.sums.size() / n_mat;
        auto bytes = [](const std::vector<float>& v) {
            return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float));
        };
        HEARTH_TRY(w.add_tensor(name + std::string(kSums), DType::F32, {n_cols, n_mat}, bytes(e.sums)));
        HEARTH_TRY(w.add_tensor(name + std::string(kCounts), DType::F32, {1, n_mat}, bytes(e.counts)));
    }
    return w.write(path);
}

std::map<std::string, std::vector<float>> imatrix_weights(const Imatrix& m) {
    std::map<std::string, std::vector<float>> out;
    for (const auto& [name, e] : m.entries) {
        std::vector<float>& w = out[name];
        w.resize(e.sums.size());
        const size_t n_mat = e.counts.size(), n_cols = e.sums.size() / n_mat;
        for (size_t j = 0; j < n_mat; ++j) {
            // llama.cpp rounds the stored counts to integers (std::lround) before dividing.
            const float count = m.legacy ? e.counts[j] : float(std::llround(e.counts[j]));
            for (size_t i = 0; i < n_cols; ++i) {
                if (m.legacy)
                    w[j * n_cols + i] = count > 0 ? e.sums[j * n_cols + i] / count : e.sums[j * n_cols + i];
                else
                    w[j * n_cols + i] = count > 0 ? e.sums[j * n_cols + i] / count : 1.0f;
            }
        }
    }
    return out;
}

} // namespace hearth::quantize
