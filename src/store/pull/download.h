// store/pull/download.h: the HTTP(S) layer of `hearth pull` (libcurl), usable without the store.
//
// download() fetches one URL into a partial file and resumes it: an existing partial file is
// continued with `Range: bytes=N-`, accepted only when the server answers 206 with a Content-Range
// starting at N (a 200 starts over; a 416 whose Content-Range total equals N means the file is
// complete). Transient failures (connection errors, timeouts, a stalled transfer below
// low_speed_bytes for low_speed_time_s, HTTP 408/429/5xx) are retried with exponential back-off,
// keeping the data already received. The sha256 covers the whole file (a resumed prefix is hashed
// from disk); with an expected digest, a mismatch deletes the partial file and is an error. The file
// is fsync'd before download() returns.
//
// Network safety (SSRF): curl never follows redirects itself. Every hop, the first included, must be
// https:// (http:// only with allow_insecure), and with allow_private off its host must resolve only
// to public addresses (not loopback, private, link-local, CGNAT, unspecified, multicast or reserved;
// IPv4-mapped/compatible/NAT64 IPv6 addresses are judged by their IPv4 part). The connection is
// pinned to the checked addresses (CURLOPT_RESOLVE) and every socket's address is checked again when
// it is opened, so DNS rebinding cannot slip past. Proxies from the environment are not used (a
// proxy would connect on our behalf to unchecked addresses). The bearer token is sent only to
// `auth_host`, and never again once a redirect has left that host. Offline mode (opts.offline or
// HEARTH_OFFLINE=1) refuses before any network access.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hearth::store {

struct Progress; // pull.h

struct DownloadOptions {
    bool allow_insecure = false;
    bool allow_private = false;
    bool offline = false; // HEARTH_OFFLINE=1 also turns it on
    int max_retries = 5;
    double retry_base_s = 1.0; // back-off: base, 2*base, 4*base, ... (capped at 60 s)
    long connect_timeout_s = 30;
    long low_speed_bytes = 1024; // a transfer slower than this (bytes/s) ...
    long low_speed_time_s = 60;  // ... for this long is a stall (transient)
    int max_redirects = 10;
    uint64_t max_bytes = 0;                // 0 = no cap; larger bodies are refused
    std::optional<uint64_t> expected_size; // the hub's size: the body must have exactly this size
    // Hosts the caller vouches for (a configured local mirror, tests): requests to them skip the scheme
    // and address checks. Hosts reached by a redirect from them are checked as usual.
    std::vector<std::string> trusted_hosts;
    std::string auth_host; // host that gets `Authorization: Bearer <bearer_token>`
    std::string bearer_token;
    std::function<void(const Progress&)> on_progress; // at most ~10 times a second, then once at the end
};

struct DownloadResult {
    std::string sha256; // lower-case hex, 64 chars (no "sha256:" prefix)
    uint64_t size = 0;
    bool resumed = false; // an existing partial file was continued
    int retries = 0;      // failed attempts before success
};

// True when HEARTH_OFFLINE is set to something other than "" or "0", or opts.offline.
bool offline_mode(const DownloadOptions& opts);

// Downloads `url` into `dest` (created, or resumed when it exists). `expected_sha256` is lower-case
// hex without a prefix. On success `dest` holds exactly the body, fsync'd.
Result<DownloadResult> download(const std::string& url, const std::filesystem::path& dest,
                                const std::optional<std::string>& expected_sha256, const DownloadOptions& opts);

// GETs `url` into memory (for JSON API calls); refuses bodies over `max_bytes` (default 16 MiB).
// Same redirect, address, retry and offline rules as download().
Result<std::string> fetch_text(const std::string& url, const DownloadOptions& opts,
                               uint64_t max_bytes = uint64_t{16} << 20);

} // namespace hearth::store
