// store/pull/net_guard.h: the SSRF rules of `hearth pull`, apart from libcurl: which URLs and which
// addresses a download may reach (see download.h for the policy as a whole).
#pragma once

#include "base/status.h"

#include <string>
#include <sys/socket.h>
#include <vector>

namespace hearth::store {

// A URL split into what the checks need. `host` has no brackets; `port` is explicit or the default.
struct UrlParts {
    std::string scheme; // lower case: "https" or "http"
    std::string host;   // lower case
    int port = 0;
    bool host_is_literal = false; // an IPv4/IPv6 literal, not a DNS name
};

// Parses an absolute http(s) URL; refuses other schemes, user:password@ and an empty host, and
// http:// unless allow_insecure.
Result<UrlParts> parse_url(const std::string& url, bool allow_insecure);

// Whether the address (sockaddr_in / sockaddr_in6) is loopback, private, link-local, CGNAT,
// unspecified, multicast, broadcast or reserved, looking through the IPv6 forms that embed an IPv4
// address: IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 (2002::/16). Teredo
// (2001:0::/32) and NAT64 local-use (64:ff9b:1::/48) addresses, whose IPv4 part cannot be checked,
// are always blocked.
bool blocked_sockaddr(const sockaddr* addr);
std::string sockaddr_text(const sockaddr* addr);
// The same for an IPv4 or IPv6 literal (no brackets); false for text that is not an address.
bool is_blocked_address(const std::string& text);

// Resolves `parts.host` and checks every address it has. Returns the addresses (as text, IPv6 in
// brackets) to pin the connection to, or an error naming the refused address. With allow_private,
// nothing is resolved here and the list is empty.
Result<std::vector<std::string>> check_host(const UrlParts& parts, bool allow_private);

} // namespace hearth::store
