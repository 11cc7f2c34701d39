#include "convert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

namespace hearth::convert {
namespace {

using json = nlohmann::json;

Status bad(const std::string& what) {
    return error("safetensors: " + what);
}

// One header entry: {"dtype": ..., "shape": [...], "data_offsets": [b, e]}, checked against the data size.
Result<StTensor> parse_entry(const std::string& name, const json& e, uint64_t data_size) {
    const std::string where = "tensor '" + name + "': ";
    if (!e.is_object()) return bad(where + "entry is not an object");
    auto dt = e.find("dtype");
    auto sh = e.find("shape");
    auto off = e.find("data_offsets");
    if (dt == e.end() || !dt->is_string()) return bad(where + "missing or non-string 'dtype'");
    if (sh == e.end() || !sh->is_array()) return bad(where + "missing or non-array 'shape'");
    if (off == e.end() || !off->is_array() || off->size() != 2)
        return bad(where + "'data_offsets' is not [begin, end]");
    StTensor t;
    t.name = name;
    t.dtype = dt->get<std::string>();
    t.dtype_bytes = st_dtype_bytes(t.dtype);
    if (t.dtype_bytes == 0) return bad(where + "unknown dtype '" + t.dtype + "'");
    if (sh->size() > kMaxDims) return bad(where + "more than " + std::to_string(kMaxDims) + " dimensions");
    uint64_t n = 1;
    for (const json& d : *sh) {
        if (!d.is_number_unsigned()) return bad(where + "a shape entry is not a non-negative integer");
        const uint64_t v = d.get<uint64_t>();
        if (v != 0 && n > UINT64_MAX / v) return bad(where + "element count overflows");
        n *= v;
        t.shape.push_back(v);
    }
    t.n_elements = n;
    for (const json& o : *off)
        if (!o.is_number_unsigned()) return bad(where + "'data_offsets' entries must be non-negative integers");
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size)
        return bad(where + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                   "] outside the data section (" + std::to_string(data_size) + " bytes)");
    if (n > UINT64_MAX / t.dtype_bytes || n * t.dtype_bytes != t.end - t.begin)
        return bad(where + "data_offsets span " + std::to_string(t.end - t.begin) + " bytes, but " + t.dtype +
                   " x shape needs " + std::to_string(n) + " x " + std::to_string(t.dtype_bytes));
    return t;
}

Result<json> read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error(Code::NotFound, "missing file " + path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return error(path + ": not valid JSON");
    return j;
}

} // namespace

uint32_t st_dtype_bytes(std::string_view dtype) {
    static constexpr std::pair<std::string_view, uint32_t> kTable[] = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
        {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
        {"F32", 4},  {"F64", 8}, {"I64", 8}, {"U64", 8},     {"C64", 8},
    };
    for (auto [name, bytes] : kTable)
        if (name == dtype) return bytes;
    return 0;
}

Result<std::vector<StTensor>> parse_safetensors(std::span<const uint8_t> file) {
    if (file.size() < 8)
        return bad("file is " + std::to_string(file.size()) + " bytes, shorter than its header length");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | file[size_t(i)];
    if (n > kMaxHeaderBytes) return bad("header length " + std::to_string(n) + " is over the limit");
    if (n > file.size() - 8)
        return bad("header length " + std::to_string(n) + " is past the end of the file (" +
                   std::to_string(file.size()) + " bytes)");
    const uint64_t data_size = file.size() - 8 - n;
    const char* text = reinterpret_cast<const char*>(file.data() + 8);

    std::unordered_set<std::string> keys;
    std::string duplicate;
    json::parser_callback_t note_keys = [&](int depth, json::parse_event_t ev, json& parsed) {
        if (ev == json::parse_event_t::key && depth == 1 && parsed.is_string() &&
            !keys.insert(parsed.get<std::string>()).second && duplicate.empty())
            duplicate = parsed.get<std::string>();
        return true;
    };
    const json h = json::parse(text, text + n, note_keys, /*allow_exceptions=*/false);
    if (h.is_discarded()) return bad("header is not valid JSON");
    if (!h.is_object()) return bad("header is not a JSON object");
    if (!duplicate.empty()) return bad("tensor '" + duplicate + "' appears twice in the header");

    std::vector<StTensor> out;
    out.reserve(h.size());
    for (auto it = h.begin(); it != h.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it->is_object()) return bad("__metadata__ is not an object");
            continue;
        }
        auto t = parse_entry(it.key(), it.value(), data_size);
        if (!t) return t.status();
        out.push_back(std::move(t.value()));
    }
    std::sort(out.begin(), out.end(), [](const StTensor& a, const StTensor& b) { return a.begin < b.begin; });
    return out;
}

Status SafetensorsSet::add_file(const std::string& dir, const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        return error("safetensors: shard name '" + name + "' is not a file name in the model directory");
    const std::string path = dir + "/" + name;
    if (!std::filesystem::exists(path)) return error(Code::NotFound, "missing file " + path);
    auto m = MmapFile::open(path);
    if (!m) return m.status();
    auto header = parse_safetensors(m->bytes());
    if (!header) return error(path + ": " + header.message());
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | m->bytes()[size_t(i)];
    const size_t idx = files_.size();
    files_.push_back(std::move(m.value()));
    names_.push_back(name);
    data_start_.push_back(8 + n);
    for (auto& t : header.value())
        tensors_.push_back(Entry{std::move(t), idx});
    return Status::ok();
}

Result<SafetensorsSet> SafetensorsSet::open(const std::string& dir) {
    SafetensorsSet s;
    const std::string index_path = dir + "/model.safetensors.index.json";
    std::map<std::string, std::string> weight_map; // tensor -> shard
    if (std::filesystem::exists(index_path)) {
        auto index = read_json_file(index_path);
        if (!index) return index.status();
        auto wm = index->find("weight_map");
        if (!index->is_object() || wm == index->end() || !wm->is_object())
            return error(index_path + ": no \"weight_map\" object");
        std::set<std::string> shards;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            if (!it->is_string()) return error(index_path + ": weight_map['" + it.key() + "'] is not a file name");
            weight_map[it.key()] = it->get<std::string>();
            shards.insert(it->get<std::string>());
        }
        for (const std::string& shard : shards)
            HEARTH_TRY(s.add_file(dir, shard));
    } else if (std::filesystem::exists(dir + "/model.safetensors")) {
        HEARTH_TRY(s.add_file(dir, "model.safetensors"));
    } else {
        return error(Code::NotFound, "missing file " + dir + "/model.safetensors (or model.safetensors.index.json)");
    }

    std::map<std::string_view, size_t> seen;
    for (size_t i = 0; i < s.tensors_.size(); ++i) {
        const Entry& e = s.tensors_[i];
        auto [it, fresh] = seen.emplace(e.info.name, i);
        if (!fresh)
            return error("safetensors: tensor '" + e.info.name + "' is in both " +
                         s.names_[s.tensors_[it->second].file] + " and " + s.names_[e.file]);
        if (!weight_map.empty()) {
            auto w = weight_map.find(e.info.name);
            if (w == weight_map.end())
                return error("safetensors: tensor '" + e.info.name + "' of " + s.names_[e.file] +
                             " is not in model.safetensors.index.json");
            if (w->second != s.names_[e.file])
                return error("safetensors: tensor '" + e.info.name + "' is in " + s.names_[e.file] +
                             ", but the index says " + w->second);
        }
    }
    for (const auto& [name, shard] : weight_map)
        if (!seen.count(name))
            return error("safetensors: tensor '" + name + "' listed in the index is missing from " + shard);
    return s;
}

const SafetensorsSet::Entry* SafetensorsSet::find(std::string_view name) const {
    for (const Entry& e : tensors_)
        if (e.info.name == name) return &e;
    return nullptr;
}

std::span<const uint8_t> SafetensorsSet::data(const Entry& e) const {
    return files_[e.file].bytes().subspan(data_start_[e.file] + e.info.begin, e.info.end - e.info.begin);
}

} // namespace hearth::convert
