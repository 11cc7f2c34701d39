// store/pull/download.h: the HTTP(S) layer of `hearth pull` (libcurl), usable without the store.
//
// download() fetches one URL into a partial file and resumes it: an existing partial file is
// continued with `Range: bytes=N-`, accepted only when the server answers 206 with a Content-Range
// starting at N (a 200 starts over; a 416 whose Content-Range total equals N means the file is
// complete). Transient failures (connection errors, timeouts, a stalled transfer below
// low_speed_bytes for low_speed_time_s, HTTP 408/429/5xx) are retried with exponential back-off,
// keeping the data already received. The sha256 covers the whole file (a resumed prefix is hashed
// from disk); with an expected digest, a mismatch deletes the partial file and is an error. The file
// is fsync'd before download() returns. On failure the received bytes stay for a later resume; an
// empty partial file is removed.
//
// Resuming only what is still the same file: the validator of the response the bytes came from (its
// strong ETag, else its Last-Modified) is kept in a sidecar next to the partial file
// (validator_path(): one line, replaced atomically). A resume sends `If-Range: <validator>`, so a
// server whose file changed answers 200 with the whole new file, which starts over; a 206 naming a
// different validator starts over too. A partial file without a known validator is resumed only when
// the caller gives an expected sha256 (which catches a splice); otherwise it starts over. The sidecar
// stays until the caller removes the partial file (remove_partial()).
//
// Locking: the partial file is locked (flock LOCK_EX | LOCK_NB on the file itself) for the whole
// download, and the lock is handed to the caller in DownloadResult::lock so that it lasts until the
// file has been moved into place. A second download into the same path meanwhile fails at once with
// "another pull of this model is in progress", touching nothing.
//
// File safety: the partial file and its sidecar are opened with O_NOFOLLOW and must be regular files
// with a single link; a symbolic link, hard link or special file planted at either path is refused
// (never followed, truncated or removed), so a download cannot write to a file elsewhere.
//
// Network safety (SSRF): curl never follows redirects itself. Every hop, the first included, must be
// https:// (http:// only with allow_insecure), and with allow_private off its host must resolve only
// to public addresses (not loopback, private, link-local, CGNAT, unspecified, multicast or reserved;
// IPv6 forms embedding an IPv4 address -- mapped, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16 --
// are judged by their IPv4 part; Teredo 2001::/32 and the NAT64 local-use prefix are refused). The
// connection is pinned to the checked addresses (CURLOPT_RESOLVE) and every socket's address is
// checked again when it is opened, so DNS rebinding cannot slip past. Proxies from the environment are
// not used (a proxy would connect on our behalf to unchecked addresses). The bearer token is sent only
// to `auth_host`, and never again once a redirect has left that host. Offline mode (opts.offline or
// HEARTH_OFFLINE=1) refuses before any network access.
#pragma once

#include "base/status.h"
#include "base/unique_fd.h"

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

// An open descriptor of a partial file that holds flock(LOCK_EX) on it; destroying it closes the
// descriptor, which releases the lock. Move-only.
class PartialLock {
public:
    PartialLock() = default;
    explicit PartialLock(int fd) : fd_(fd) {}
    bool held() const { return fd_.valid(); }
    int fd() const { return fd_.get(); }

private:
    UniqueFd fd_;
};

struct DownloadResult {
    std::string sha256; // lower-case hex, 64 chars (no "sha256:" prefix)
    uint64_t size = 0;
    bool resumed = false; // an existing partial file was continued
    int retries = 0;      // failed attempts before success
    PartialLock lock;     // the finished file, still locked: keep it until the file is moved into place
};

// The sidecar that records a partial file's validator: "<partial>.validator".
std::filesystem::path validator_path(const std::filesystem::path& partial);
// Removes a partial file and its sidecar (errors ignored). Only while holding its lock.
void remove_partial(const std::filesystem::path& partial);

// True when HEARTH_OFFLINE is set to something other than "" or "0", or opts.offline.
bool offline_mode(const DownloadOptions& opts);

// Downloads `url` into `dest` (created, or resumed when it exists). `expected_sha256` is lower-case
// hex without a prefix. On success `dest` holds exactly the body, fsync'd, and the result holds its lock.
Result<DownloadResult> download(const std::string& url, const std::filesystem::path& dest,
                                const std::optional<std::string>& expected_sha256, const DownloadOptions& opts);

// GETs `url` into memory (for JSON API calls); refuses bodies over `max_bytes` (default 16 MiB).
// Same redirect, address, retry and offline rules as download().
Result<std::string> fetch_text(const std::string& url, const DownloadOptions& opts,
                               uint64_t max_bytes = uint64_t{16} << 20);

} // namespace hearth::store
