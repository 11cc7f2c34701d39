// store/names.cpp: the model-name grammar (store.h) and digest syntax. Names come from users and
// remote servers, so parsing is strict: ASCII only, every part checked, errors say which part and why.
#include "store/store.h"

#include <cstdio>
#include <vector>

namespace hearth::store {
namespace {

constexpr size_t kMaxHost = 253;
constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxPart = 80;
// Longer than any valid name (host + ns + model + tag + separators): refuse before any work.
constexpr size_t kMaxName = kMaxHost + 3 * kMaxPart + 3;

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A byte as users can read it in an error message.
std::string describe_byte(unsigned char c) {
    char buf[32];
    if (c >= 0x21 && c < 0x7f)
        std::snprintf(buf, sizeof buf, "'%c'", c);
    else if (c == ' ')
        std::snprintf(buf, sizeof buf, "a space");
    else if (c >= 0x80)
        std::snprintf(buf, sizeof buf, "non-ASCII byte 0x%02x", c);
    else
        std::snprintf(buf, sizeof buf, "control byte 0x%02x", c);
    return buf;
}

// Checks `s` as a namespace/model part, or a tag (underscore_first: it may also start with "_").
Status check_part(std::string_view what, const std::string& s, bool underscore_first) {
    if (s.empty()) return error(std::string(what) + " is empty");
    if (s.size() > kMaxPart)
        return error(std::string(what) + " is " + std::to_string(s.size()) + " characters long (at most " +
                     std::to_string(kMaxPart) + ")");
    const char c0 = s[0];
    if (!is_lower_alnum(c0) && !(underscore_first && c0 == '_'))
        return error(std::string(what) + " '" + s + "' must start with a letter or digit" +
                     (underscore_first ? " or '_'" : ""));
    for (char c : s)
        if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-')
            return error(std::string(what) + " '" + s + "' contains " + describe_byte(static_cast<unsigned char>(c)) +
                         " (allowed: letters, digits, '.', '_', '-')");
    if (s.find("..") != std::string::npos) return error(std::string(what) + " '" + s + "' contains \"..\"");
    return Status::ok();
}

Status check_host(const std::string& s) {
    if (s.empty()) return error("host is empty");
    if (s.size() > kMaxHost)
        return error("host is " + std::to_string(s.size()) + " characters long (at most " + std::to_string(kMaxHost) +
                     ")");
    size_t start = 0;
    while (true) {
        const size_t dot = s.find('.', start);
        const std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (label.empty()) return error("host '" + s + "' has an empty label");
        if (label.size() > kMaxLabel) return error("host '" + s + "' has a label longer than 63 characters");
        if (!is_lower_alnum(label.front()) || !is_lower_alnum(label.back()))
            return error("host '" + s + "': each label must start and end with a letter or digit");
        for (char c : label)
            if (!is_lower_alnum(c) && c != '-')
                return error("host '" + s + "' contains " + describe_byte(static_cast<unsigned char>(c)) +
                             " (allowed: letters, digits, '-', '.')");
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return Status::ok();
}

} // namespace

std::string ModelName::display() const {
    std::string s;
    if (host != "local")
        s = host + "/" + ns + "/";
    else if (ns != "library")
        s = ns + "/";
    return s + model + ":" + tag;
}

Result<ModelName> parse_name(std::string_view text) {
    if (text.empty()) return error("invalid model name: the name is empty");
    if (text.size() > kMaxName)
        return error("invalid model name: " + std::to_string(text.size()) + " characters is too long (at most " +
                     std::to_string(kMaxName) + ")");
    std::string s(text);
    // Characters first, so the message about a bad byte comes before any message about structure.
    for (size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 'A' && c <= 'Z') {
            s[i] = static_cast<char>(c - 'A' + 'a');
            continue;
        }
        if (is_lower_alnum(static_cast<char>(c)) || c == '.' || c == '_' || c == '-' || c == ':' || c == '/') continue;
        std::string shown = c >= 0x20 && c < 0x7f ? " in '" + std::string(text) + "'" : "";
        return error("invalid model name: " + describe_byte(c) + " at position " + std::to_string(i) + shown +
                     " (names use letters, digits, '.', '_', '-', '/' and one ':')");
    }
    const auto show = [&](const Status& st) { return error("invalid model name '" + s + "': " + st.message()); };

    ModelName n;
    std::string path = s;
    if (const size_t colon = s.find(':'); colon != std::string::npos) {
        if (s.find(':', colon + 1) != std::string::npos) return show(error("':' may appear only once"));
        path = s.substr(0, colon);
        n.tag = s.substr(colon + 1);
        if (n.tag.empty()) return show(error("the tag after ':' is empty"));
        if (n.tag.find('/') != std::string::npos) return show(error("the tag may not contain '/'"));
        if (Status st = check_part("tag", n.tag, true); !st) return show(st);
    }
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        const size_t slash = path.find('/', start);
        parts.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    if (parts.size() > 3) return show(error("too many '/'-separated parts (at most host/namespace/model)"));
    if (parts.size() == 3) {
        n.host = parts[0];
        if (Status st = check_host(n.host); !st) return show(st);
    }
    if (parts.size() >= 2) {
        n.ns = parts[parts.size() - 2];
        if (Status st = check_part("namespace", n.ns, false); !st) return show(st);
    }
    n.model = parts.back();
    if (Status st = check_part("model", n.model, false); !st) return show(st);
    return n;
}

std::string sanitize_model_part(std::string_view text) {
    std::string out;
    for (char ch : text) {
        char c = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
        if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-') c = '-';
        // No "..", and no run of separators.
        if ((c == '.' || c == '-' || c == '_') && !out.empty() && (out.back() == '.' || out.back() == '-')) {
            if (c == '.' && out.back() == '.') continue;
            if (c == '-') continue;
        }
        out += c;
    }
    size_t b = 0;
    while (b < out.size() && !is_lower_alnum(out[b]))
        ++b;
    out = out.substr(b, kMaxPart);
    while (!out.empty() && !is_lower_alnum(out.back()))
        out.pop_back();
    return out.empty() ? "model" : out;
}

bool valid_digest(std::string_view digest) {
    constexpr std::string_view prefix = "sha256:";
    if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix) return false;
    for (char c : digest.substr(prefix.size()))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

} // namespace hearth::store
