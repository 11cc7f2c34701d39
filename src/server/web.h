// server/web.h: the routes of the web chat page (GET / and its files, web/assets.h). They are public (the
// files hold no data; every API call the page makes carries the key) and are served with a strict
// Content-Security-Policy (scripts and styles from this origin only: no inline script, no eval), no framing,
// no referrer, a strong ETag (If-None-Match answers 304) and Cache-Control (the page's own files revalidate on
// every load, libraries are cached for a week). Clients that accept gzip get the stored gzip bytes; others get
// them inflated.
#pragma once

#include "base/status.h"
#include "server/http.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::server {

// The policy sent with every file of the page.
inline constexpr std::string_view kWebCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The page's routes. `web_dir` empty: the embedded page. Otherwise (for working on the page) the page's own
// files are read from that folder at each request (index.html at /; the files present at start are routed)
// while the libraries stay embedded; an unreadable folder is an error.
Result<std::vector<Route>> web_routes(const std::string& web_dir = {});

// Whether an Accept-Encoding header value accepts gzip (a "gzip" or "*" coding with q > 0, RFC 9110 12.5.3).
bool accepts_gzip(std::string_view accept_encoding);

// Inflates a gzip stream; nullopt when it is not a whole, valid one.
std::optional<std::string> gunzip(std::string_view gz);

} // namespace hearth::server
