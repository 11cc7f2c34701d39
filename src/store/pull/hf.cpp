// store/pull/hf.cpp: parsing a Hugging Face tree listing and choosing the GGUF to pull.
#include "store/pull/hf.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace hearth::store {
namespace {

char lower_c(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = lower_c(c);
    return out;
}
std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}
bool alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view base_name(std::string_view path) {
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_gguf(std::string_view path) {
    return path.size() > 5 && lower(path.substr(path.size() - 5)) == ".gguf";
}

// The file name without ".gguf".
std::string_view stem(std::string_view path) {
    std::string_view b = base_name(path);
    return is_gguf(b) ? b.substr(0, b.size() - 5) : b;
}

bool is_projector(std::string_view path) {
    return lower(base_name(path)).starts_with("mmproj");
}

// `token` appears in `text` (case-insensitive) not glued to letters/digits before it, nor to
// letters/digits/'_' after it: "Q4_K" is not in "Q4_K_M", "Q4_0" is not in "IQ4_0".
bool has_token(std::string_view text, std::string_view token) {
    if (token.empty()) return false;
    const std::string t = lower(text), k = lower(token);
    for (size_t pos = t.find(k); pos != std::string::npos; pos = t.find(k, pos + 1)) {
        const size_t end = pos + k.size();
        const bool before_ok = pos == 0 || !alnum(t[pos - 1]);
        const bool after_ok = end == t.size() || (!alnum(t[end]) && t[end] != '_');
        if (before_ok && after_ok) return true;
    }
    return false;
}

Status check_path(const std::string& p) {
    if (p.empty() || p.size() > 1024) return error("hub listing: a path is empty or too long");
    if (p.front() == '/') return error("hub listing: absolute path '" + p + "'");
    for (char c : p)
        if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f)
            return error("hub listing: path with a control character or backslash");
    size_t start = 0;
    while (start <= p.size()) {
        size_t end = p.find('/', start);
        if (end == std::string::npos) end = p.size();
        const std::string_view part(p.data() + start, end - start);
        if (part.empty() || part == "." || part == "..") return error("hub listing: bad path '" + p + "'");
        start = end + 1;
    }
    return Status::ok();
}

bool is_hex64(const std::string& s) {
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string list_files(const std::vector<const HfFile*>& files) {
    std::string out;
    for (const HfFile* f : files)
        out += (out.empty() ? "" : ", ") + f->path;
    return out.empty() ? "(none)" : out;
}

} // namespace

// (Hand-written scanners: std::regex is slow, and GCC 12 warns inside it under the sanitizer build.)
bool is_split_gguf(std::string_view path) {
    // <stem>-NNNNN-of-NNNNN
    const std::string_view s = stem(path);
    constexpr std::string_view shape = "-00000-of-00000";
    if (s.size() < shape.size()) return false;
    const std::string_view tail = s.substr(s.size() - shape.size());
    for (size_t i = 0; i < shape.size(); ++i) {
        const bool digit = tail[i] >= '0' && tail[i] <= '9';
        if (shape[i] == '0' ? !digit : tail[i] != shape[i]) return false;
    }
    return true;
}

std::string quant_of(std::string_view file_name) {
    // The last token that reads as a quant type: (IQ|TQ|Q)<digit>(_<alnum>+)*, BF16, F16, F32 or MXFP4,
    // case-insensitive, not inside a longer word.
    const std::string s = upper(std::string(stem(file_name)));
    auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    std::string found;
    for (size_t i = 0; i < s.size(); ++i) {
        if (i > 0 && alnum(s[i - 1])) continue;
        size_t j = i;
        if (s.compare(i, 2, "IQ") == 0 || s.compare(i, 2, "TQ") == 0)
            j = i + 2;
        else if (s[i] == 'Q')
            j = i + 1;
        if (j > i && j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
            ++j;
            while (j + 1 < s.size() && s[j] == '_' && alnum(s[j + 1])) {
                ++j;
                while (j < s.size() && alnum(s[j]))
                    ++j;
            }
        } else {
            j = i;
            for (std::string_view w : {"BF16", "F16", "F32", "MXFP4"})
                if (s.compare(i, w.size(), w) == 0) {
                    j = i + w.size();
                    break;
                }
        }
        if (j == i || (j < s.size() && (alnum(s[j]) || s[j] == '_'))) continue;
        found = s.substr(i, j - i);
        i = j - 1;
    }
    return found;
}

Result<std::vector<HfFile>> parse_hf_tree(std::string_view text) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return error("hub listing: not valid JSON");
    if (!j.is_array()) return error("hub listing: expected a JSON array of files");
    std::vector<HfFile> files;
    for (const auto& e : j) {
        if (!e.is_object()) return error("hub listing: an entry is not an object");
        const auto type = e.find("type");
        if (type != e.end() && (!type->is_string() || *type != "file")) continue; // directories
        const auto path = e.find("path");
        const auto size = e.find("size");
        if (path == e.end() || !path->is_string()) return error("hub listing: an entry has no path");
        HfFile f;
        f.path = path->get<std::string>();
        HEARTH_TRY(check_path(f.path));
        if (size == e.end() || !size->is_number_unsigned())
            return error("hub listing: '" + f.path + "' has no valid size");
        f.size = size->get<uint64_t>();
        if (const auto lfs = e.find("lfs"); lfs != e.end() && !lfs->is_null()) {
            const auto oid = lfs->find("oid");
            const auto lsize = lfs->find("size");
            if (!lfs->is_object() || oid == lfs->end() || !oid->is_string() || !is_hex64(oid->get<std::string>()))
                return error("hub listing: '" + f.path + "' has an invalid lfs.oid (expected a sha256)");
            f.sha256 = oid->get<std::string>();
            if (lsize != lfs->end()) {
                if (!lsize->is_number_unsigned()) return error("hub listing: '" + f.path + "' has an invalid lfs.size");
                f.size = lsize->get<uint64_t>();
            }
        }
        files.push_back(std::move(f));
    }
    return files;
}

Result<HfFile> choose_gguf(const std::vector<HfFile>& files, std::string_view quant) {
    std::vector<const HfFile*> single, split;
    for (const HfFile& f : files) {
        if (!is_gguf(f.path) || is_projector(f.path)) continue;
        (is_split_gguf(f.path) ? split : single).push_back(&f);
    }
    std::sort(single.begin(), single.end(), [](const HfFile* a, const HfFile* b) { return a->path < b->path; });
    if (single.empty()) {
        if (!split.empty())
            return error("this repository only has split GGUFs (" + list_files(split) +
                         "); split GGUFs are not supported yet");
        return error("this repository has no .gguf files");
    }
    auto find = [&](std::string_view q) -> const HfFile* {
        for (const HfFile* f : single)
            if (has_token(stem(f->path), q)) return f;
        return nullptr;
    };
    if (!quant.empty()) {
        if (const HfFile* f = find(quant)) return *f;
        for (const HfFile* f : split)
            if (has_token(stem(f->path), quant))
                return error("quant " + upper(quant) + " is only available as a split GGUF (" + f->path +
                             "); split GGUFs are not supported yet");
        return error("no .gguf file for quant " + upper(quant) + " in this repository; it has: " + list_files(single));
    }
    for (std::string_view q : {"Q4_K_M", "Q4_0", "Q5_K_M", "Q8_0"})
        if (const HfFile* f = find(q)) return *f;
    return *single.front();
}

} // namespace hearth::store
