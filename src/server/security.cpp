// server/security.cpp: key checks, Host and Origin allow-lists, Content-Length parsing (see security.h).
#include "server/security.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace hearth::server {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

} // namespace

KeyChecker::KeyChecker(const std::string& api_key, const std::string& management_key) {
    has_api_key_ = !api_key.empty();
    has_management_key_ = !management_key.empty();
    if (has_api_key_) api_ = digest(api_key);
    if (has_management_key_) management_ = digest(management_key);
}

KeyChecker::Digest KeyChecker::digest(std::string_view s) {
    Digest d{};
    unsigned int n = 0;
    // EVP_Digest fails only on allocation failure; an all-zero digest then matches no real key's digest.
    EVP_Digest(s.data(), s.size(), d.data(), &n, EVP_sha256(), nullptr);
    return d;
}

bool KeyChecker::equal(const Digest& a, const Digest& b) {
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

KeyChecker::Verdict KeyChecker::check(Access access, const std::string* authorization) const {
    if (access == Access::Public) return Verdict::Ok;
    const bool need_management = access == Access::Management && has_management_key_;
    if (!need_management && !has_api_key_) return Verdict::Ok; // no key configured for this route
    if (!authorization) return Verdict::Missing;
    const auto token = bearer_token(*authorization);
    if (!token) return Verdict::Missing;
    const Digest d = digest(*token);
    // Both comparisons always run, so the time does not say which key a token matched.
    const bool is_api = has_api_key_ && equal(d, api_);
    const bool is_management = has_management_key_ && equal(d, management_);
    if (need_management) return is_management ? Verdict::Ok : is_api ? Verdict::NeedsManagementKey : Verdict::Wrong;
    return is_api || is_management ? Verdict::Ok : Verdict::Wrong;
}

std::optional<std::string> bearer_token(std::string_view authorization) {
    constexpr std::string_view kScheme = "bearer";
    if (authorization.size() <= kScheme.size() || lower(authorization.substr(0, kScheme.size())) != kScheme)
        return std::nullopt;
    std::string_view rest = authorization.substr(kScheme.size());
    if (rest.front() != ' ') return std::nullopt;
    rest = trim(rest);
    if (rest.empty()) return std::nullopt;
    return std::string(rest);
}

bool is_loopback_address(std::string_view host) {
    const std::string h = lower(host);
    if (h == "localhost" || h == "::1" || h == "[::1]") return true;
    // 127.0.0.0/8 in dotted form.
    if (h.rfind("127.", 0) != 0) return false;
    int parts = 0;
    size_t start = 0;
    while (start <= h.size()) {
        const size_t dot = h.find('.', start);
        const std::string_view part =
            std::string_view(h).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!all_digits(part) || part.size() > 3 || std::stoi(std::string(part)) > 255) return false;
        ++parts;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return parts == 4;
}

std::optional<std::string> host_name(std::string_view host_header) {
    const std::string_view h = host_header;
    if (h.empty()) return std::nullopt;
    for (char c : h)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '/' || c == '@')
            return std::nullopt;
    std::string_view name = h, port;
    if (h.front() == '[') {
        const size_t close = h.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        name = h.substr(0, close + 1);
        std::string_view after = h.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port = after.substr(1);
            if (!all_digits(port)) return std::nullopt;
        }
    } else {
        const size_t colon = h.find(':');
        if (colon != std::string_view::npos) {
            name = h.substr(0, colon);
            port = h.substr(colon + 1);
            if (!all_digits(port)) return std::nullopt; // also refuses a second colon
        }
    }
    if (name.empty() || port.size() > 5) return std::nullopt;
    return lower(name);
}

bool host_allowed(std::string_view host_header, const std::vector<std::string>& extra) {
    const auto name = host_name(host_header);
    if (!name) return false;
    if (*name == "localhost" || *name == "127.0.0.1" || *name == "[::1]") return true;
    return std::any_of(extra.begin(), extra.end(), [&](const std::string& e) { return lower(e) == *name; });
}

bool origin_allowed(std::string_view origin, std::string_view host_header, const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end()) return true;
    if (host_header.empty()) return false;
    const std::string o = lower(origin), h = lower(host_header);
    return o == "http://" + h || o == "https://" + h;
}

std::optional<uint64_t> parse_content_length(std::string_view value) {
    if (!all_digits(value) || value.size() > 18) return std::nullopt;
    uint64_t n = 0;
    for (char c : value)
        n = n * 10 + static_cast<uint64_t>(c - '0');
    return n;
}

Result<std::string> read_key_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error("cannot read the key file " + path);
    std::string line;
    std::getline(in, line);
    const std::string key(trim(line));
    if (key.empty()) return error("the key file " + path + " is empty");
    return key;
}

std::string error_body(std::string_view message, std::string_view type, std::string_view code) {
    nlohmann::json j = {{"error",
                         {{"message", std::string(message)},
                          {"type", std::string(type)},
                          {"param", nullptr},
                          {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(code))}}}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse error_response(int status, std::string_view message, std::string_view type, std::string_view code) {
    HttpResponse r;
    r.status = status;
    r.body = error_body(message, type, code);
    return r;
}

} // namespace hearth::server
