// store/modelfile.cpp: the Modelfile parser (modelfile.h), `create` and the Modelfile printer.
#include "store/modelfile.h"

#include "gguf/gguf.h"
#include "store/store_fs.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace hearth::store {
namespace {

constexpr uint64_t kMaxModelfileBytes = 1u << 20;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool blank(char c) {
    return c == ' ' || c == '\t';
}

// A cursor over the (LF-normalized) text that counts lines.
class Reader {
public:
    Reader(std::string text, std::string origin) : s_(std::move(text)), origin_(std::move(origin)) {}
    bool done() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    int line() const { return line_; }
    void advance() {
        if (s_[i_] == '\n') ++line_;
        ++i_;
    }
    void skip_blanks() {
        while (!done() && blank(peek()))
            advance();
    }
    void skip_line() {
        while (!done() && peek() != '\n')
            advance();
    }
    bool at_line_end() const { return done() || peek() == '\n'; }
    bool starts_with(std::string_view t) const { return s_.compare(i_, t.size(), t) == 0; }
    // A run of non-blank characters on this line.
    std::string word() {
        std::string w;
        while (!done() && !blank(peek()) && peek() != '\n') {
            w += peek();
            advance();
        }
        return w;
    }
    std::string where(int line) const { return origin_ + ":" + std::to_string(line) + ": "; }
    Status fail(int line, const std::string& msg) const { return error(where(line) + msg); }

    // The value that ends an instruction: """verbatim""", "escaped", or the rest of the line, trimmed.
    Result<std::string> value(int line, const std::string& what) {
        skip_blanks();
        if (at_line_end()) return fail(line, what + " needs a value");
        std::string v;
        if (starts_with("\"\"\"")) {
            for (int k = 0; k < 3; ++k)
                advance();
            while (!starts_with("\"\"\"")) {
                if (done()) return fail(line, what + ": the \"\"\" opened here is never closed");
                v += peek();
                advance();
            }
            for (int k = 0; k < 3; ++k)
                advance();
        } else if (peek() == '"') {
            advance();
            while (true) {
                if (done()) return fail(line, what + ": the quote opened here is never closed");
                const char c = peek();
                advance();
                if (c == '"') break;
                if (c == '\\' && !done() && (peek() == '"' || peek() == '\\')) {
                    v += peek();
                    advance();
                    continue;
                }
                v += c;
            }
        } else {
            while (!at_line_end()) {
                v += peek();
                advance();
            }
            while (!v.empty() && blank(v.back()))
                v.pop_back();
            return v;
        }
        skip_blanks();
        if (!at_line_end()) return fail(this->line(), what + ": unexpected text after the closing quote");
        return v;
    }

private:
    std::string s_;
    std::string origin_;
    size_t i_ = 0;
    int line_ = 1;
};

} // namespace

const ParameterKey* find_parameter_key(std::string_view name) {
    for (const auto& k : kParameterKeys)
        if (k.name == name) return &k;
    return nullptr;
}

Result<json> parse_parameter_json(const ParameterKey& key, const json& v) {
    if (v.is_string()) return parse_parameter(key, v.get<std::string>());
    if (v.is_number_integer())
        return parse_parameter(key, v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                                           : std::to_string(v.get<int64_t>()));
    if (v.is_number_float()) {
        std::ostringstream o;
        o.precision(17);
        o << v.get<double>();
        return parse_parameter(key, o.str());
    }
    return error("has a value of the wrong type");
}

Result<json> parse_parameter(const ParameterKey& key, const std::string& v) {
    auto range = [&](double x) -> Status {
        if (x >= key.min && x <= key.max) return Status::ok();
        std::ostringstream o;
        o << v << " is outside [" << key.min << ", " << key.max << "]";
        return error(o.str());
    };
    if (key.type == "int") {
        int64_t x = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
        if (ec != std::errc() || p != v.data() + v.size()) return error("'" + v + "' is not an integer");
        HEARTH_TRY(range(double(x)));
        return json(x);
    }
    if (key.type == "float") {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(x) ||
            std::isspace(static_cast<unsigned char>(v[0])))
            return error("'" + v + "' is not a number");
        HEARTH_TRY(range(x));
        return json(x);
    }
    if (v.empty()) return error("empty value");
    return json(v);
}

namespace {

std::string known_keys() {
    std::string s;
    for (const auto& k : kParameterKeys)
        s += (s.empty() ? "" : ", ") + std::string(k.name);
    return s;
}

Status parse_instruction(Reader& r, Modelfile& mf, const std::string& instr, int line) {
    const std::string op = lower(instr);
    if (op == "from") {
        if (!mf.from.empty())
            return r.fail(line, "FROM given twice (first on line " + std::to_string(mf.from_line) + ")");
        auto v = r.value(line, "FROM");
        if (!v) return v.status();
        mf.from = *v;
        mf.from_line = line;
    } else if (op == "parameter") {
        r.skip_blanks();
        const std::string key = lower(r.word());
        if (key.empty()) return r.fail(line, "PARAMETER needs a name and a value");
        const ParameterKey* pk = find_parameter_key(key);
        if (!pk) {
            for (std::string_view ignored : kIgnoredParameterKeys)
                if (ignored == key) {
                    auto v = r.value(line, "PARAMETER " + key);
                    if (!v) return v.status();
                    mf.warnings.push_back(r.where(line) + "PARAMETER " + key +
                                          " is an Ollama parameter hearth does not use; ignored");
                    return Status::ok();
                }
            return r.fail(line, "unknown parameter '" + key + "' (known: " + known_keys() + ")");
        }
        auto v = r.value(line, "PARAMETER " + key);
        if (!v) return v.status();
        auto typed = parse_parameter(*pk, *v);
        if (!typed) return r.fail(line, "PARAMETER " + key + ": " + typed.message());
        if (key == "stop") {
            if (!mf.params.contains("stop")) mf.params["stop"] = json::array();
            mf.params["stop"].push_back(*typed);
        } else {
            mf.params[key] = *typed;
        }
    } else if (op == "template" || op == "system" || op == "license") {
        auto v = r.value(line, instr);
        if (!v) return v.status();
        if (op == "template") mf.template_text = *v;
        if (op == "system") mf.system = *v;
        if (op == "license") mf.license = mf.license ? *mf.license + "\n\n" + *v : *v;
    } else if (op == "message") {
        r.skip_blanks();
        const std::string role = lower(r.word());
        if (role != "system" && role != "user" && role != "assistant" && role != "tool")
            return r.fail(line, "MESSAGE role '" + role + "' is not one of system, user, assistant, tool");
        auto v = r.value(line, "MESSAGE " + role);
        if (!v) return v.status();
        mf.messages.push_back({{"role", role}, {"content", *v}});
    } else if (op == "adapter") {
        return r.fail(line, "ADAPTER is not supported: hearth cannot apply LoRA adapters (merge it into the GGUF)");
    } else {
        return r.fail(line, "unknown instruction '" + instr +
                                "' (known: FROM, PARAMETER, TEMPLATE, SYSTEM, LICENSE, MESSAGE)");
    }
    return Status::ok();
}

bool looks_like_path(const std::string& s) {
    const std::string l = lower(s);
    return s.starts_with("/") || s.starts_with("./") || s.starts_with("../") || s.starts_with("~") ||
           (l.size() > 5 && l.ends_with(".gguf"));
}

fs::path expand_path(const std::string& s, const fs::path& base_dir) {
    fs::path p = s;
    if (s == "~" || s.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        p = fs::path(home ? home : "") / s.substr(std::min<size_t>(2, s.size()));
    }
    return p.is_absolute() ? p : base_dir / p;
}

// Text for a Modelfile value that parse_modelfile reads back unchanged.
std::string quote(const std::string& s) {
    if (s.find("\"\"\"") == std::string::npos && (s.empty() || s.back() != '"')) return "\"\"\"" + s + "\"\"\"";
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

} // namespace

Result<Modelfile> parse_modelfile(std::string_view text, std::string_view origin) {
    std::string s;
    s.reserve(text.size());
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    for (size_t i = 0; i < text.size(); ++i)
        if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) s += text[i];
    Reader r(std::move(s), std::string(origin));
    Modelfile mf;
    while (true) {
        while (!r.done() && (blank(r.peek()) || r.peek() == '\n'))
            r.advance();
        if (r.done()) break;
        if (r.peek() == '#') {
            r.skip_line();
            continue;
        }
        const int line = r.line();
        const std::string instr = r.word();
        HEARTH_TRY(parse_instruction(r, mf, instr, line));
        r.skip_blanks();
        if (!r.at_line_end()) return r.fail(r.line(), "unexpected text after " + instr);
    }
    if (mf.from.empty())
        return error(std::string(origin) +
                     ": no FROM instruction (FROM <model> or FROM ./file.gguf says what to build on)");
    return mf;
}

Result<Modelfile> read_modelfile(const fs::path& path) {
    auto text = detail::read_small_file(path, kMaxModelfileBytes);
    if (!text) return error("cannot read the Modelfile: " + text.message());
    return parse_modelfile(*text, path.string());
}

namespace {

// FROM as a store model: the model, nullopt when FROM is a path (or no such model), an error when the
// store cannot say.
Result<std::optional<ResolvedModel>> base_model(const Store& store, const Modelfile& mf) {
    if (looks_like_path(mf.from)) return std::optional<ResolvedModel>();
    auto n = parse_name(mf.from);
    if (!n) return std::optional<ResolvedModel>();
    auto rm = resolve(store, *n);
    if (rm) return std::optional<ResolvedModel>(std::move(*rm));
    if (rm.code() != Code::NotFound) return rm.status();
    return std::optional<ResolvedModel>();
}

} // namespace

Result<Manifest> create_model(const Store& store, const ModelName& name, const Modelfile& mf,
                              const fs::path& base_dir) {
    const std::string at = "FROM " + mf.from + " (line " + std::to_string(mf.from_line) + ")";
    // Pinned (store.h) from resolving the base to writing the manifest: the base may be removed
    // meanwhile, the blobs the new model shares with it may not.
    auto pin = lock_store(store, LockMode::Shared);
    if (!pin) return pin.status();
    auto found = base_model(store, mf);
    if (!found) return error(at + ": " + found.message());
    std::optional<ResolvedModel> base = std::move(*found);
    Manifest m;
    if (base) {
        m = base->manifest;
        m.config["from"] = base->name.display();
    } else {
        *pin = StoreLock(); // a GGUF file is hashed (maybe copied) into tmp/ unpinned: that may take long
        const fs::path p = expand_path(mf.from, base_dir);
        std::error_code ec;
        if (!fs::exists(p, ec))
            return error(at + ": there is no model named '" + mf.from + "' in the store and no file " + p.string());
        if (!fs::is_regular_file(p, ec)) return error(at + ": " + p.string() + " is not a GGUF file");
        auto g = detail::stage_gguf(store, p, true);
        if (!g) return error(at + ": " + g.message());
        pin = lock_store(store, LockMode::Shared);
        if (!pin) return pin.status();
        HEARTH_TRY(detail::place_staged(store, g->blob));
        m = std::move(g->manifest);
    }
    const std::optional<ResolvedModel>& from = base;

    // The model layer stays; every small layer is rebuilt from the base's values and the Modelfile's.
    Layer model_layer;
    for (const auto& l : m.layers)
        if (l.media_type == kMediaModel) model_layer = l;
    m.layers = {model_layer};
    auto add = [&](std::string_view type, const std::string& bytes) -> Status {
        auto d = add_blob_bytes(store, bytes);
        if (!d) return d.status();
        m.layers.push_back({std::string(type), *d, bytes.size()});
        return Status::ok();
    };
    const auto pick = [&](const std::optional<std::string>& own, std::optional<std::string> ResolvedModel::*field) {
        return own ? own : (from ? (*from).*field : std::nullopt);
    };
    if (auto t = pick(mf.template_text, &ResolvedModel::template_text)) HEARTH_TRY(add(kMediaTemplate, *t));
    if (auto t = pick(mf.system, &ResolvedModel::system)) HEARTH_TRY(add(kMediaSystem, *t));
    json params = from ? from->params : json::object();
    for (const auto& [k, v] : mf.params.items())
        params[k] = v;
    if (!params.empty()) HEARTH_TRY(add(kMediaParams, params.dump()));
    const json& messages = !mf.messages.empty() || !from ? mf.messages : from->messages;
    if (!messages.empty()) HEARTH_TRY(add(kMediaMessages, messages.dump()));
    if (auto t = pick(mf.license, &ResolvedModel::license)) HEARTH_TRY(add(kMediaLicense, *t));
    for (const auto& l : m.layers)
        if (l.size > kMaxSmallLayer && l.media_type != kMediaModel)
            return error("cannot create " + name.display() + ": the " + l.media_type + " text is larger than " +
                         std::to_string(kMaxSmallLayer) + " bytes");
    HEARTH_TRY(write_manifest(store, *pin, name, m));
    return m;
}

std::string format_modelfile(const ResolvedModel& r) {
    std::string s = "# Modelfile generated by \"hearth show\"\n"
                    "# To build a new Modelfile based on this one, replace the FROM line with:\n"
                    "# FROM " +
                    r.name.display() + "\n\nFROM " + r.model_path.string() + "\n";
    if (r.template_text) s += "TEMPLATE " + quote(*r.template_text) + "\n";
    if (r.system) s += "SYSTEM " + quote(*r.system) + "\n";
    for (const auto& [k, v] : r.params.items()) {
        if (v.is_array()) {
            for (const auto& item : v)
                s += "PARAMETER " + k + " " + quote(item.is_string() ? item.get<std::string>() : item.dump()) + "\n";
        } else {
            s += "PARAMETER " + k + " " + (v.is_string() ? quote(v.get<std::string>()) : v.dump()) + "\n";
        }
    }
    for (const auto& msg : r.messages)
        s += "MESSAGE " + msg.value("role", std::string()) + " " + quote(msg.value("content", std::string())) + "\n";
    if (r.license) s += "LICENSE " + quote(*r.license) + "\n";
    return s;
}

std::optional<CreatedTemplate> created_template(const Store& store, const Modelfile& mf, const fs::path& base_dir) {
    if (mf.template_text && !mf.template_text->empty()) return CreatedTemplate{*mf.template_text, false};
    auto base = base_model(store, mf);
    if (!base) return std::nullopt;
    // A TEMPLATE "" of the Modelfile is stored as it is, and means the GGUF's template.
    if (!mf.template_text && *base && (*base)->template_text && !(*base)->template_text->empty())
        return CreatedTemplate{*(*base)->template_text, false};
    auto file = gguf::File::open((*base ? (*base)->model_path : expand_path(mf.from, base_dir)).string());
    if (!file || !file->find("tokenizer.chat_template")) return std::nullopt;
    auto text = file->get_string("tokenizer.chat_template");
    if (!text || text->empty()) return std::nullopt;
    return CreatedTemplate{*text, true};
}

} // namespace hearth::store
