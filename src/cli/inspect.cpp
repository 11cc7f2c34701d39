#include "cli/inspect.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace hearth::cli {
namespace {

// Reads "<arch>.<suffix>" as an unsigned count; an array (per-layer values) reports its maximum.
Result<std::optional<uint64_t>> arch_count(const gguf::File& f, const std::string& key) {
    const gguf::Value* v = f.find(key);
    if (!v) return std::optional<uint64_t>();
    if (v->type == gguf::ValueType::ARRAY) {
        auto arr = f.get_int_array(key);
        if (!arr) return arr.status();
        int64_t mx = 0;
        for (int64_t x : *arr)
            mx = std::max(mx, x);
        return std::optional<uint64_t>(static_cast<uint64_t>(mx));
    }
    auto u = f.get_u64(key);
    if (!u) return u.status();
    return std::optional<uint64_t>(*u);
}

std::string human_bytes(uint64_t n) {
    char buf[64];
    const double d = static_cast<double>(n);
    if (n >= (1ull << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", d / (1ull << 30));
    else if (n >= (1ull << 20))
        std::snprintf(buf, sizeof buf, "%.2f MiB", d / (1ull << 20));
    else if (n >= (1ull << 10))
        std::snprintf(buf, sizeof buf, "%.2f KiB", d / (1ull << 10));
    else
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    return buf;
}

std::string human_count(uint64_t n) {
    char buf[64];
    const double d = static_cast<double>(n);
    if (n >= 1000000000ull)
        std::snprintf(buf, sizeof buf, "%.2fB", d / 1e9);
    else if (n >= 1000000ull)
        std::snprintf(buf, sizeof buf, "%.2fM", d / 1e6);
    else if (n >= 1000ull)
        std::snprintf(buf, sizeof buf, "%.2fK", d / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    return buf;
}

std::string shape_string(const std::vector<uint64_t>& ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(ne[i]);
    }
    return s + "]";
}

// Printable form of a token piece: control characters escaped so a hostile vocabulary cannot
// drive the terminal.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

constexpr const char* kSpecialRoles[] = {"bos",       "eos",     "eot",     "eom",     "unknown",
                                         "separator", "padding", "mask",    "cls",     "fim_pre",
                                         "fim_suf",   "fim_mid", "fim_pad", "fim_rep", "fim_sep"};

} // namespace

std::string llama_ftype_name(uint64_t ftype) {
    const std::string_view name = gguf::file_type_name(ftype);
    return name.empty() ? "unknown(" + std::to_string(ftype) + ")" : std::string(name);
}

Result<InspectReport> inspect(const gguf::File& f, const std::string& path) {
    InspectReport r;
    r.path = path;
    r.file_size = f.file_size();
    r.gguf_version = f.version();
    r.n_kv = f.metadata().size();
    if (f.find("general.architecture")) {
        auto arch = f.get_string("general.architecture");
        if (!arch) return arch.status();
        r.architecture = *arch;
    }
    if (f.find("general.name")) {
        auto name = f.get_string("general.name");
        if (!name) return name.status();
        r.name = *name;
    }
    if (f.find("general.file_type")) {
        auto ft = f.get_u64("general.file_type");
        if (!ft) return ft.status();
        r.file_type = llama_ftype_name(*ft);
    }

    std::map<std::string, QuantMixRow> mix;
    for (const auto& t : f.tensors()) {
        r.n_params += t.n_elements;
        r.tensor_bytes += t.n_bytes;
        QuantMixRow& row = mix[std::string(dtype_name(t.type))];
        row.type = dtype_name(t.type);
        row.n_tensors += 1;
        row.n_elements += t.n_elements;
        row.n_bytes += t.n_bytes;
    }
    for (auto& [_, row] : mix)
        r.quant_mix.push_back(row);
    std::sort(r.quant_mix.begin(), r.quant_mix.end(), [](const QuantMixRow& a, const QuantMixRow& b) {
        return a.n_bytes != b.n_bytes ? a.n_bytes > b.n_bytes : a.type < b.type;
    });
    r.bits_per_weight = r.n_params ? 8.0 * static_cast<double>(r.tensor_bytes) / static_cast<double>(r.n_params) : 0;

    const std::string a = r.architecture + ".";
    struct {
        const char* suffix;
        std::optional<uint64_t>* dst;
    } counts[] = {{"context_length", &r.context_length},   {"embedding_length", &r.embedding_length},
                  {"block_count", &r.block_count},         {"feed_forward_length", &r.feed_forward_length},
                  {"attention.head_count", &r.head_count}, {"attention.head_count_kv", &r.head_count_kv},
                  {"vocab_size", &r.vocab_size_key}};
    for (auto& c : counts) {
        auto v = arch_count(f, a + c.suffix);
        if (!v) return v.status();
        *c.dst = *v;
    }

    for (auto [key, dst] :
         {std::pair{"tokenizer.ggml.model", &r.tokenizer_model}, std::pair{"tokenizer.ggml.pre", &r.tokenizer_pre}}) {
        if (!f.find(key)) continue;
        auto s = f.get_string(key);
        if (!s) return s.status();
        *dst = *s;
    }
    std::vector<std::string> tokens;
    if (f.find("tokenizer.ggml.tokens")) {
        auto toks = f.get_string_array("tokenizer.ggml.tokens");
        if (!toks) return toks.status();
        tokens = std::move(*toks);
        r.vocab_size = tokens.size();
    }
    for (const char* role : kSpecialRoles) {
        const std::string key = std::string("tokenizer.ggml.") + role + "_token_id";
        if (!f.find(key)) continue;
        auto id = f.get_i64(key);
        if (!id) return id.status();
        SpecialToken st{role, *id, ""};
        if (*id >= 0 && static_cast<uint64_t>(*id) < tokens.size()) st.text = tokens[static_cast<size_t>(*id)];
        r.special_tokens.push_back(st);
    }
    for (auto [key, dst] : {std::pair{"tokenizer.ggml.add_bos_token", &r.add_bos},
                            std::pair{"tokenizer.ggml.add_eos_token", &r.add_eos}}) {
        if (!f.find(key)) continue;
        auto b = f.get_bool(key);
        if (!b) return b.status();
        *dst = *b;
    }
    if (f.find("tokenizer.chat_template")) {
        auto tmpl = f.get_string("tokenizer.chat_template");
        if (!tmpl) return tmpl.status();
        r.has_chat_template = true;
        r.chat_template_bytes = tmpl->size();
    }
    r.tensors = f.tensors();
    return r;
}

nlohmann::json to_json(const InspectReport& r, bool with_tensors) {
    using nlohmann::json;
    auto opt = [](const std::optional<uint64_t>& v) { return v ? json(*v) : json(nullptr); };
    json j;
    j["path"] = r.path;
    j["file_size"] = r.file_size;
    j["gguf_version"] = r.gguf_version;
    j["n_kv"] = r.n_kv;
    j["n_tensors"] = r.tensors.size();
    j["architecture"] = r.architecture;
    j["name"] = r.name;
    j["file_type"] = r.file_type ? json(*r.file_type) : json(nullptr);
    j["n_params"] = r.n_params;
    j["tensor_bytes"] = r.tensor_bytes;
    j["bits_per_weight"] = r.bits_per_weight;
    j["quant_mix"] = json::array();
    for (const auto& q : r.quant_mix) {
        j["quant_mix"].push_back(
            {{"type", q.type}, {"n_tensors", q.n_tensors}, {"n_elements", q.n_elements}, {"n_bytes", q.n_bytes}});
    }
    j["context_length"] = opt(r.context_length);
    j["embedding_length"] = opt(r.embedding_length);
    j["block_count"] = opt(r.block_count);
    j["feed_forward_length"] = opt(r.feed_forward_length);
    j["head_count"] = opt(r.head_count);
    j["head_count_kv"] = opt(r.head_count_kv);
    j["tokenizer"] = {{"model", r.tokenizer_model},
                      {"pre", r.tokenizer_pre},
                      {"vocab_size", r.vocab_size},
                      {"add_bos", r.add_bos ? json(*r.add_bos) : json(nullptr)},
                      {"add_eos", r.add_eos ? json(*r.add_eos) : json(nullptr)}};
    j["special_tokens"] = json::object();
    for (const auto& s : r.special_tokens) {
        // Token text may be arbitrary bytes: callers dump with error_handler_t::replace.
        j["special_tokens"][s.role] = {{"id", s.id}, {"text", s.text}};
    }
    j["chat_template"] = {{"present", r.has_chat_template}, {"bytes", r.chat_template_bytes}};
    if (with_tensors) {
        j["tensors"] = json::array();
        for (const auto& t : r.tensors) {
            j["tensors"].push_back({{"name", t.name},
                                    {"type", dtype_name(t.type)},
                                    {"shape", t.ne},
                                    {"offset", t.offset},
                                    {"n_bytes", t.n_bytes}});
        }
    }
    return j;
}

std::string to_text(const InspectReport& r, bool with_tensors) {
    std::string out;
    char buf[512];
    auto line = [&](const char* key, const std::string& val) {
        std::snprintf(buf, sizeof buf, "%-22s %s\n", key, val.c_str());
        out += buf;
    };
    auto opt = [](const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
    line("file", r.path);
    line("file size", human_bytes(r.file_size) + " (" + std::to_string(r.file_size) + " bytes)");
    line("gguf version", std::to_string(r.gguf_version));
    line("architecture", r.architecture.empty() ? "-" : printable(r.architecture));
    line("name", r.name.empty() ? "-" : printable(r.name));
    line("file type", r.file_type.value_or("-"));
    line("parameters", human_count(r.n_params) + " (" + std::to_string(r.n_params) + ")");
    std::snprintf(buf, sizeof buf, "%.2f", r.bits_per_weight);
    line("bits per weight", buf);
    line("context length", opt(r.context_length));
    line("embedding length", opt(r.embedding_length));
    line("layers", opt(r.block_count));
    line("feed-forward length", opt(r.feed_forward_length));
    line("attention heads", opt(r.head_count));
    line("kv heads", opt(r.head_count_kv));
    line("tokenizer", r.tokenizer_model.empty()
                          ? "-"
                          : printable(r.tokenizer_model) +
                                (r.tokenizer_pre.empty() ? "" : " (pre: " + printable(r.tokenizer_pre) + ")"));
    line("vocabulary size", std::to_string(r.vocab_size));
    for (const auto& s : r.special_tokens) {
        line((s.role + " token").c_str(), std::to_string(s.id) + " '" + printable(s.text) + "'");
    }
    line("chat template", r.has_chat_template ? "yes (" + std::to_string(r.chat_template_bytes) + " bytes)" : "no");
    out += "\nquant mix:\n";
    std::snprintf(buf, sizeof buf, "  %-8s %8s %14s %12s\n", "type", "tensors", "elements", "size");
    out += buf;
    for (const auto& q : r.quant_mix) {
        std::snprintf(buf, sizeof buf, "  %-8s %8llu %14llu %12s\n", q.type.c_str(),
                      static_cast<unsigned long long>(q.n_tensors), static_cast<unsigned long long>(q.n_elements),
                      human_bytes(q.n_bytes).c_str());
        out += buf;
    }
    if (with_tensors) {
        out += "\ntensors:\n";
        for (const auto& t : r.tensors) {
            std::snprintf(buf, sizeof buf, "  %-40s %-8s %-24s %12s\n", printable(t.name).c_str(),
                          std::string(dtype_name(t.type)).c_str(), shape_string(t.ne).c_str(),
                          human_bytes(t.n_bytes).c_str());
            out += buf;
        }
    }
    return out;
}

} // namespace hearth::cli
