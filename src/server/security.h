// server/security.h: the request checks `hearth serve` applies before any handler runs, as pure functions
// so they can be tested without a socket: API and management keys (compared in constant time on SHA-256
// digests), the Host allow-list that defends loopback binds against DNS rebinding, CORS origins, and
// Content-Length validation. The transport (http.cpp) wires them to sockets.
#pragma once

#include "base/status.h"
#include "server/http.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::server {

struct SecurityOptions {
    std::string api_key;                   // empty: Inference routes are open
    std::string management_key;            // empty: Management routes need the API key (open when none)
    std::vector<std::string> allow_hosts;  // extra Host names (no port), e.g. "myhost.lan"
    std::vector<std::string> cors_origins; // exact origins, e.g. "http://localhost:3000"
    bool check_host = true;                // enforce the Host allow-list (set for loopback binds)
};

// The keys, kept only as SHA-256 digests so comparisons take the same time whatever the input.
class KeyChecker {
public:
    KeyChecker(const std::string& api_key, const std::string& management_key);

    enum class Verdict { Ok, Missing, Wrong, NeedsManagementKey };
    // `authorization`: the Authorization header, or null when absent.
    Verdict check(Access access, const std::string* authorization) const;
    bool has_api_key() const { return has_api_key_; }
    bool has_management_key() const { return has_management_key_; }

private:
    using Digest = std::array<uint8_t, 32>;
    static Digest digest(std::string_view s);
    static bool equal(const Digest& a, const Digest& b);
    bool has_api_key_ = false, has_management_key_ = false;
    Digest api_{}, management_{};
};

// "Bearer <token>" (scheme case-insensitive, one space or more); nullopt for anything else.
std::optional<std::string> bearer_token(std::string_view authorization);

// Whether a bind address is a loopback one (127.0.0.0/8, ::1, "localhost").
bool is_loopback_address(std::string_view host);

// The name part of a Host header ("localhost:8080" -> "localhost", "[::1]:80" -> "[::1]"), lower-cased;
// nullopt when it is empty or malformed (bad port, spaces, control characters).
std::optional<std::string> host_name(std::string_view host_header);

// Whether a Host header is acceptable: localhost, 127.0.0.1 and [::1] with any port, plus `extra` names.
bool host_allowed(std::string_view host_header, const std::vector<std::string>& extra);

// Whether a request's Origin may use the API: an exact match in `allowed`, or the server's own origin
// (http://<Host>, where Host already passed the allow-list).
bool origin_allowed(std::string_view origin, std::string_view host_header, const std::vector<std::string>& allowed);

// A Content-Length value: decimal digits only, at most 18 of them; nullopt otherwise.
std::optional<uint64_t> parse_content_length(std::string_view value);

// Reads a key from a file (first line, surrounding whitespace trimmed); refuses an empty key.
Result<std::string> read_key_file(const std::string& path);

// OpenAI's error shape: {"error":{"message":...,"type":...,"param":null,"code":...}}.
std::string error_body(std::string_view message, std::string_view type, std::string_view code);
HttpResponse error_response(int status, std::string_view message, std::string_view type, std::string_view code);

} // namespace hearth::server
