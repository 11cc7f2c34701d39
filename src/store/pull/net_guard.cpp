// store/pull/net_guard.cpp: URL parsing (curl's URL API) and the address checks against SSRF.
#include "store/pull/net_guard.h"

#include <arpa/inet.h>
#include <cstring>
#include <curl/curl.h>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>

namespace hearth::store {
namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// `a` in host byte order.
bool blocked_v4(uint32_t a) {
    auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in(0x00000000, 8)     // 0.0.0.0/8 "this network", unspecified
           || in(0x0A000000, 8)  // 10/8 private
           || in(0x64400000, 10) // 100.64/10 carrier-grade NAT
           || in(0x7F000000, 8)  // 127/8 loopback
           || in(0xA9FE0000, 16) // 169.254/16 link-local (cloud metadata lives here)
           || in(0xAC100000, 12) // 172.16/12 private
           || in(0xC0000000, 24) // 192.0.0/24 IETF protocol assignments
           || in(0xC0A80000, 16) // 192.168/16 private
           || in(0xC6120000, 15) // 198.18/15 benchmarking
           || in(0xE0000000, 4)  // 224/4 multicast
           || in(0xF0000000, 4); // 240/4 reserved, 255.255.255.255 broadcast
}

bool blocked_v6(const uint8_t* b) {
    static constexpr uint8_t zero[16] = {};
    if (std::memcmp(b, zero, 16) == 0) return true; // :: unspecified
    auto v4_at_12 = [b] {
        return (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | uint32_t{b[15]};
    };
    // ::1 loopback and ::a.b.c.d (IPv4-compatible, deprecated): the first 12 bytes are zero, and
    // ::1 reads as 0.0.0.1, which is in the blocked 0/8.
    if (std::memcmp(b, zero, 12) == 0) return blocked_v4(v4_at_12());
    // ::ffff:a.b.c.d IPv4-mapped.
    if (std::memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) return blocked_v4(v4_at_12());
    // 64:ff9b::/96 NAT64 well-known prefix (RFC 6052): the IPv4 address is the last 32 bits.
    static constexpr uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    if (std::memcmp(b, nat64, 12) == 0) return blocked_v4(v4_at_12());
    // 64:ff9b:1::/48 NAT64 local use (RFC 8215): the IPv4 part's place depends on the local prefix
    // length, so it cannot be checked.
    if (std::memcmp(b, nat64, 4) == 0 && b[4] == 0x00 && b[5] == 0x01) return true;
    // 2002::/16 6to4 (RFC 3056): 2002:AABB:CCDD:: tunnels to the IPv4 address AA.BB.CC.DD.
    if (b[0] == 0x20 && b[1] == 0x02)
        return blocked_v4((uint32_t{b[2]} << 24) | (uint32_t{b[3]} << 16) | (uint32_t{b[4]} << 8) | uint32_t{b[5]});
    // 2001:0::/32 Teredo (RFC 4380): tunnels through a relay to an obfuscated IPv4 client address.
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) return true;
    if (b[0] == 0xff) return true;                                                 // ff00::/8 multicast
    if ((b[0] & 0xfe) == 0xfc) return true;                                        // fc00::/7 unique local
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;                        // fe80::/10 link-local
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;                        // fec0::/10 site-local (deprecated)
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return true; // 2001:db8::/32 documentation
    return false;
}

struct UrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStr {
    char* p = nullptr;
    ~CurlStr() { curl_free(p); }
};

} // namespace

bool blocked_sockaddr(const sockaddr* addr) {
    if (addr->sa_family == AF_INET) {
        sockaddr_in a{};
        std::memcpy(&a, addr, sizeof a);
        return blocked_v4(ntohl(a.sin_addr.s_addr));
    }
    if (addr->sa_family == AF_INET6) {
        sockaddr_in6 a{};
        std::memcpy(&a, addr, sizeof a);
        return blocked_v6(a.sin6_addr.s6_addr);
    }
    return true; // unix sockets and anything else: never
}

std::string sockaddr_text(const sockaddr* addr) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (addr->sa_family == AF_INET) {
        sockaddr_in a{};
        std::memcpy(&a, addr, sizeof a);
        inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
        return buf;
    }
    if (addr->sa_family == AF_INET6) {
        sockaddr_in6 a{};
        std::memcpy(&a, addr, sizeof a);
        inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof buf);
        return std::string("[") + buf + "]";
    }
    return "(unknown address family)";
}

bool is_blocked_address(const std::string& text) {
    in_addr a4{};
    if (inet_pton(AF_INET, text.c_str(), &a4) == 1) return blocked_v4(ntohl(a4.s_addr));
    in6_addr a6{};
    if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) return blocked_v6(a6.s6_addr);
    return false;
}

Result<UrlParts> parse_url(const std::string& url, bool allow_insecure) {
    std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
    if (!u) return error("out of memory parsing a URL");
    if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
        return error("not a valid URL: '" + url + "'");
    UrlParts parts;
    {
        CurlStr s;
        if (curl_url_get(u.get(), CURLUPART_SCHEME, &s.p, 0) != CURLUE_OK) return error("URL has no scheme: " + url);
        parts.scheme = lower(s.p);
    }
    if (parts.scheme != "https" && parts.scheme != "http")
        return error("only https:// URLs can be pulled (got " + parts.scheme + "://)");
    if (parts.scheme == "http" && !allow_insecure)
        return error("refusing plain http:// URL " + url + " (use https://, or --insecure for a trusted local mirror)");
    {
        CurlStr s;
        if (curl_url_get(u.get(), CURLUPART_USER, &s.p, 0) == CURLUE_OK && s.p && *s.p)
            return error("URLs with user names or passwords are not accepted: " + url);
    }
    {
        CurlStr s;
        if (curl_url_get(u.get(), CURLUPART_HOST, &s.p, 0) != CURLUE_OK || !s.p || !*s.p)
            return error("URL has no host: " + url);
        parts.host = lower(s.p);
    }
    if (parts.host.size() > 2 && parts.host.front() == '[' && parts.host.back() == ']')
        parts.host = parts.host.substr(1, parts.host.size() - 2);
    // Zone ids (fe80::1%eth0) are link-local anyway; keep the part before '%'.
    if (auto pct = parts.host.find('%'); pct != std::string::npos) parts.host.resize(pct);
    {
        CurlStr s;
        if (curl_url_get(u.get(), CURLUPART_PORT, &s.p, CURLU_DEFAULT_PORT) != CURLUE_OK || !s.p)
            return error("URL has no port: " + url);
        parts.port = std::atoi(s.p);
    }
    in_addr a4{};
    in6_addr a6{};
    parts.host_is_literal =
        inet_pton(AF_INET, parts.host.c_str(), &a4) == 1 || inet_pton(AF_INET6, parts.host.c_str(), &a6) == 1;
    return parts;
}

Result<std::vector<std::string>> check_host(const UrlParts& parts, bool allow_private) {
    std::vector<std::string> pinned;
    if (allow_private) return pinned;
    const std::string why = " (refused to prevent server-side request forgery; use --allow-private for a "
                            "trusted local mirror)";
    if (parts.host_is_literal) {
        if (is_blocked_address(parts.host))
            return error("address " + parts.host + " is loopback, private, link-local or reserved" + why);
        return pinned; // a literal needs no resolution, so nothing to pin
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(parts.host.c_str(), nullptr, &hints, &res);
    if (rc != 0) return error("cannot resolve host '" + parts.host + "': " + gai_strerror(rc) + " (no network?)");
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
    for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (blocked_sockaddr(ai->ai_addr))
            return error("host '" + parts.host + "' resolves to " + sockaddr_text(ai->ai_addr) +
                         ", a loopback, private, link-local or reserved address" + why);
        std::string text = sockaddr_text(ai->ai_addr);
        bool dup = false;
        for (const auto& p : pinned)
            dup = dup || p == text;
        if (!dup) pinned.push_back(std::move(text));
    }
    if (pinned.empty()) return error("host '" + parts.host + "' has no addresses");
    return pinned;
}

} // namespace hearth::store
