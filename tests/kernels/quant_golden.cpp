#include "kernels/quant_golden.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace hearth::test {
namespace {

struct Cursor {
    const std::vector<uint8_t>& buf;
    size_t pos = 0;

    bool read(void* dst, size_t n) {
        if (n > buf.size() - pos) return false;
        std::memcpy(dst, buf.data() + pos, n);
        pos += n;
        return true;
    }
};

} // namespace

std::map<std::string, GoldenTensor> read_golden(const std::string& path, std::string* error) {
    std::map<std::string, GoldenTensor> out;
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        *error = "cannot open " + path;
        return {};
    }
    const std::vector<uint8_t> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Cursor c{buf};
    char magic[4];
    uint32_t count = 0;
    if (!c.read(magic, 4) || std::memcmp(magic, "HQT1", 4) != 0 || !c.read(&count, 4)) {
        *error = path + ": not an HQT1 file";
        return {};
    }
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t name_len = 0, type = 0;
        uint64_t n_per_row = 0, n_rows = 0, n_bytes = 0;
        std::string name;
        if (!c.read(&name_len, 4) || name_len > 4096) break;
        name.resize(name_len);
        if (!c.read(name.data(), name_len) || !c.read(&type, 4) || !c.read(&n_per_row, 8) || !c.read(&n_rows, 8) ||
            !c.read(&n_bytes, 8)) {
            break;
        }
        const auto info = dtype_info(type);
        const auto row_bytes = info ? dtype_row_bytes(info->type, n_per_row) : std::nullopt;
        if (!row_bytes || *row_bytes * n_rows != n_bytes || n_bytes > buf.size() - c.pos) {
            *error = path + ": bad record " + name;
            return {};
        }
        GoldenTensor t{info->type, int64_t(n_per_row), int64_t(n_rows), std::vector<uint8_t>(n_bytes)};
        c.read(t.data.data(), n_bytes);
        out.emplace(std::move(name), std::move(t));
    }
    if (out.size() != count) {
        *error = path + ": truncated";
        return {};
    }
    return out;
}

} // namespace hearth::test
