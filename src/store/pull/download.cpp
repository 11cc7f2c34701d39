// store/pull/download.cpp: resumable, verified downloads over libcurl, with redirects followed by
// hand so that every hop passes the SSRF checks (net_guard.h).
#include "store/pull/download.h"

#include "store/pull/net_guard.h"
#include "store/pull/partial_file.h"
#include "store/pull/pull.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <curl/curl.h>
#include <deque>
#include <memory>
#include <thread>
#include <unistd.h>

namespace hearth::store {
namespace {

using Clock = std::chrono::steady_clock;

// ---- one HTTP exchange, redirects followed by hand ----------------------------------------------
struct Response {
    long status = 0;
    std::optional<uint64_t> content_length;
    std::string content_range;
    std::string retry_after;
    std::string etag, last_modified; // the validators (If-Range)
};

// What a request does with the body of its final (non-redirect) response.
struct Transfer {
    uint64_t range_start = 0;                         // > 0: send Range: bytes=N-
    std::string if_range;                             // with a Range: send If-Range (a validator)
    std::function<bool(const Response&)> on_head;     // 2xx, before the first byte; false aborts
    std::function<bool(const char*, size_t)> on_data; // 2xx body bytes; false aborts

    // Filled in by perform().
    Response resp;
    bool head_done = false;
    std::string error_body; // the start of a non-2xx body, for messages
    bool socket_blocked = false;
    std::string blocked_addr;
    std::string final_host;
};

bool is_2xx(long s) {
    return s >= 200 && s < 300;
}
bool is_redirect(long s) {
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return std::string(s);
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        auto l = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (l(a[i]) != l(b[i])) return false;
    }
    return true;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
}

size_t header_cb(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) { // a new response (1xx, redirect or final): start over
        t->resp = Response{};
        const size_t sp = line.find(' ');
        if (sp != std::string_view::npos) t->resp.status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
        return size * n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    const std::string_view name = line.substr(0, colon);
    const std::string value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length"))
        t->resp.content_length = parse_u64(value);
    else if (iequals(name, "content-range"))
        t->resp.content_range = value;
    else if (iequals(name, "retry-after"))
        t->resp.retry_after = value;
    else if (iequals(name, "etag"))
        t->resp.etag = value;
    else if (iequals(name, "last-modified"))
        t->resp.last_modified = value;
    return size * n;
}

size_t write_cb(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t bytes = size * n;
    if (is_2xx(t->resp.status)) {
        if (!t->head_done) {
            t->head_done = true;
            if (!t->on_head(t->resp)) return 0;
        }
        return t->on_data(data, bytes) ? bytes : 0;
    }
    // Redirect bodies are dropped; error bodies are kept (a little) for the message.
    if (!is_redirect(t->resp.status) && t->error_body.size() < 2048)
        t->error_body.append(data, std::min<size_t>(bytes, 2048 - t->error_body.size()));
    return bytes;
}

// Refuses, at connect time, any socket to an address the SSRF rules forbid (DNS rebinding, or a
// name curl resolved itself).
curl_socket_t opensocket_cb(void* user, curlsocktype /*purpose*/, curl_sockaddr* addr) {
    auto* t = static_cast<Transfer*>(user);
    if (blocked_sockaddr(&addr->addr)) {
        t->socket_blocked = true;
        t->blocked_addr = sockaddr_text(&addr->addr);
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& s) {
    curl_slist* l = curl_slist_append(list.get(), s.c_str());
    if (l) {
        (void)list.release();
        list.reset(l);
    }
}

// The outcome of one request (all of its hops).
struct Outcome {
    CURLcode code = CURLE_OK;
    std::string curl_error;
    Status refused; // an SSRF / scheme refusal or a malformed redirect: never retried
};

// One hop's handle: no redirects, no proxies, our header/body/socket callbacks, stall detection.
void configure(CURL* c, const std::string& url, const DownloadOptions& opts, bool allow_http, bool check_sockets,
               curl_slist* headers, curl_slist* resolve, char* errbuf, Transfer& t) {
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, allow_http ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_PROXY, ""); // never a proxy from the environment
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hearth/0.1");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opts.connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, opts.low_speed_bytes);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opts.low_speed_time_s);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    if (check_sockets) {
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
}

Outcome perform(const std::string& start_url, const DownloadOptions& opts, Transfer& t) {
    static const bool global_init = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    Outcome out;
    if (!global_init) {
        out.refused = error("libcurl failed to initialise");
        return out;
    }
    std::string url = start_url;
    bool auth_ok = !opts.bearer_token.empty();
    for (int hop = 0;; ++hop) {
        auto host_of = parse_url(url, true);
        const bool trusted = host_of && std::any_of(opts.trusted_hosts.begin(), opts.trusted_hosts.end(),
                                                    [&](const std::string& h) { return iequals(h, host_of->host); });
        auto parts = parse_url(url, opts.allow_insecure || trusted);
        if (!parts) {
            out.refused = hop == 0 ? parts.status() : error("refusing redirect: " + parts.message());
            return out;
        }
        auto pinned = check_host(*parts, opts.allow_private || trusted);
        if (!pinned) {
            // Refused addresses and names that do not resolve (no network, a typo) are not retried.
            out.refused = hop == 0 ? pinned.status() : error("refusing redirect to " + url + ": " + pinned.message());
            return out;
        }
        auth_ok = auth_ok && iequals(parts->host, opts.auth_host);

        std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
        if (!curl) {
            out.refused = error("libcurl: cannot create a handle");
            return out;
        }
        CURL* c = curl.get();
        char errbuf[CURL_ERROR_SIZE] = {};
        Slist headers, resolve;
        if (t.range_start > 0) append(headers, "Range: bytes=" + std::to_string(t.range_start) + "-");
        if (t.range_start > 0 && !t.if_range.empty()) append(headers, "If-Range: " + t.if_range);
        if (auth_ok) append(headers, "Authorization: Bearer " + opts.bearer_token);
        if (!pinned->empty()) {
            std::string entry = parts->host + ":" + std::to_string(parts->port) + ":";
            for (size_t i = 0; i < pinned->size(); ++i)
                entry += (i ? "," : "") + (*pinned)[i];
            append(resolve, entry);
        }
        configure(c, url, opts, opts.allow_insecure || trusted, !opts.allow_private && !trusted, headers.get(),
                  resolve.get(), errbuf, t);

        t.resp = Response{};
        t.head_done = false;
        t.error_body.clear();
        t.final_host = parts->host;
        out.code = curl_easy_perform(c);
        out.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(out.code);
        if (t.socket_blocked) {
            out.refused = error("refusing to connect to " + t.blocked_addr + " for " + url +
                                ": a loopback, private, link-local or reserved address (server-side request "
                                "forgery protection; use --allow-private for a trusted local mirror)");
            return out;
        }
        if (out.code != CURLE_OK || !is_redirect(t.resp.status)) {
            if (out.code == CURLE_OK && is_2xx(t.resp.status) && !t.head_done) { // empty body
                t.head_done = true;
                if (!t.on_head(t.resp)) out.code = CURLE_WRITE_ERROR;
            }
            return out;
        }
        char* next = nullptr;
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
        if (!next) {
            out.refused = error("HTTP " + std::to_string(t.resp.status) + " redirect without a Location from " + url);
            return out;
        }
        if (hop + 1 > opts.max_redirects) {
            out.refused = error("too many redirects (more than " + std::to_string(opts.max_redirects) + ")");
            return out;
        }
        url = next;
    }
}

// ---- classification and back-off -------------------------------------------------------------
bool transient_curl(CURLcode c) {
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return true;
    default:
        return false;
    }
}

bool transient_status(long s) {
    return s == 408 || s == 429 || (s >= 500 && s <= 599);
}

std::string http_error(long status, const std::string& url, const std::string& body) {
    std::string msg = "HTTP " + std::to_string(status) + " from " + url;
    if (status == 401 || status == 403)
        msg += " (access denied: a gated or private Hugging Face repository needs HF_TOKEN, and its license "
               "accepted on the website)";
    else if (status == 404)
        msg += " (not found)";
    std::string snippet;
    for (char ch : body.substr(0, 200))
        snippet += (ch >= 32 && ch < 127) ? ch : ' ';
    if (!trim(snippet).empty()) msg += ": " + trim(snippet);
    return msg;
}

double backoff_s(const DownloadOptions& opts, int failures, const std::string& retry_after) {
    double d = opts.retry_base_s;
    for (int i = 1; i < failures && d < 60; ++i)
        d *= 2;
    d = std::min(d, 60.0);
    if (auto ra = parse_u64(trim(retry_after))) d = std::max(d, std::min<double>(static_cast<double>(*ra), 60.0));
    return d;
}

void sleep_s(double s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// ---- progress ---------------------------------------------------------------------------------
class ProgressMeter {
public:
    explicit ProgressMeter(const DownloadOptions& opts) : cb_(opts.on_progress) {}
    void update(uint64_t done, uint64_t total, bool resumed, bool final) {
        if (!cb_ || (reported_ && done <= last_done_)) return;
        const auto now = Clock::now();
        if (!final && reported_ && now - last_ < std::chrono::milliseconds(100)) return;
        window_.emplace_back(now, done);
        while (window_.size() > 2 && now - window_.front().first > std::chrono::seconds(3))
            window_.pop_front();
        Progress p;
        p.done = done;
        p.total = total;
        p.resumed = resumed;
        const double dt = std::chrono::duration<double>(now - window_.front().first).count();
        if (dt > 0) p.rate = static_cast<double>(done - window_.front().second) / dt;
        reported_ = true;
        last_ = now;
        last_done_ = done;
        cb_(p);
    }

private:
    std::function<void(const Progress&)> cb_;
    std::deque<std::pair<Clock::time_point, uint64_t>> window_;
    bool reported_ = false;
    Clock::time_point last_{};
    uint64_t last_done_ = 0;
};

// "bytes A-B/T" or "bytes */T": start A (nullopt for "*") and total T (nullopt for "*").
struct ContentRange {
    std::optional<uint64_t> start, total;
};
std::optional<ContentRange> parse_content_range(std::string_view v) {
    if (!v.starts_with("bytes ")) return std::nullopt;
    v.remove_prefix(6);
    const size_t slash = v.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    ContentRange cr;
    const std::string_view range = v.substr(0, slash), total = v.substr(slash + 1);
    if (total != "*") {
        cr.total = parse_u64(total);
        if (!cr.total) return std::nullopt;
    }
    if (range != "*") {
        const size_t dash = range.find('-');
        if (dash == std::string_view::npos) return std::nullopt;
        cr.start = parse_u64(range.substr(0, dash));
        if (!cr.start || !parse_u64(range.substr(dash + 1))) return std::nullopt;
    }
    return cr;
}

std::string size_mismatch(uint64_t got, uint64_t want) {
    return "size mismatch: the server sends " + std::to_string(got) + " bytes, the expected size is " +
           std::to_string(want);
}

// One attempt's verdict.
enum class Verdict { Done, Retry, Fail };

struct Attempt {
    Verdict verdict = Verdict::Fail;
    std::string message;
    Code code = Code::Internal; // NotFound for an HTTP 404
    std::string retry_after;
    bool progressed = false;
};
Attempt attempt_fail(std::string m) {
    Attempt a;
    a.message = std::move(m);
    return a;
}
Attempt attempt_retry(std::string m) {
    Attempt a;
    a.verdict = Verdict::Retry;
    a.message = std::move(m);
    return a;
}
Attempt attempt_done() {
    Attempt a;
    a.verdict = Verdict::Done;
    return a;
}

// Writes a 2xx body into the partial file, checking the answer fits the request: a 206 must continue
// at range_start, a 200 starts over, sizes must match the expected size and stay under the cap.
struct BodyWriter {
    const std::string& url;
    PartialFile& file;
    const DownloadOptions& opts;
    ProgressMeter& meter;
    bool& resumed;
    uint64_t range_start = 0;
    uint64_t total = 0;  // the whole file's size, 0 when unknown
    std::string fatal;   // an error not worth retrying
    std::string restart; // a reason to start over from byte 0

    bool head(const Response& r) {
        std::optional<uint64_t> body_total;
        const std::string validator = pick_validator(r.etag, r.last_modified);
        if (r.status == 206) {
            auto cr = parse_content_range(r.content_range);
            if (!cr || !cr->start || *cr->start != range_start) {
                restart = "the server answered the range request with 'Content-Range: " + r.content_range +
                          "' (expected bytes " + std::to_string(range_start) + "-); starting over";
                return false;
            }
            // A server that ignores If-Range but names a new validator: the bytes are another file's.
            if (!file.validator().empty() && !validator.empty() && validator != file.validator()) {
                restart =
                    "the file changed on the server (" + file.validator() + " -> " + validator + "); starting over";
                return false;
            }
            body_total = cr->total;
        } else if (r.status == 200) {
            if (range_start > 0) { // Range ignored, or If-Range said the file changed: start over
                resumed = false;
                if (Status st = file.truncate(); !st) return fail(st.message());
            }
            // These bytes come from this response: remember its validator for a later resume.
            if (Status st = file.set_validator(validator); !st) return fail(st.message());
            body_total = r.content_length;
        } else {
            return fail("unexpected HTTP " + std::to_string(r.status) + " from " + url);
        }
        if (body_total) {
            if (opts.expected_size && *body_total != *opts.expected_size)
                return fail(size_mismatch(*body_total, *opts.expected_size));
            if (opts.max_bytes && *body_total > opts.max_bytes)
                return fail("the response is too large (" + std::to_string(*body_total) + " bytes, limit " +
                            std::to_string(opts.max_bytes) + ")");
            total = *body_total;
        }
        return true;
    }

    bool data(const char* p, size_t n) {
        const uint64_t after = file.size() + n;
        if (opts.expected_size && after > *opts.expected_size)
            return fail(size_mismatch(after, *opts.expected_size) + " (or more)");
        if (opts.max_bytes && after > opts.max_bytes)
            return fail("the response exceeds the size limit of " + std::to_string(opts.max_bytes) + " bytes");
        if (!file.append(p, n)) return fail("cannot write the download: " + file.write_error());
        meter.update(file.size(), total, resumed, false);
        return true;
    }

    bool fail(std::string msg) {
        fatal = std::move(msg);
        return false;
    }
};

// `verified`: the caller checks the result against an expected sha256.
Attempt attempt_download(const std::string& url, PartialFile& file, bool verified, const DownloadOptions& opts,
                         ProgressMeter& meter, bool& resumed) {
    Attempt a;
    if (Status st = file.sync_hash(); !st) return attempt_fail(st.message());
    const std::optional<uint64_t> want = opts.expected_size;
    // Without a validator (If-Range) or a sha256, nothing would notice the server's file having changed
    // since these bytes came: resuming could splice two versions, so start over.
    const bool unknown_origin = file.size() > 0 && file.validator().empty() && !verified;
    if (unknown_origin || (want && file.size() > *want) || (opts.max_bytes && file.size() > opts.max_bytes)) {
        if (Status st = file.truncate(); !st) return attempt_fail(st.message());
    }
    const uint64_t start_size = file.size();
    if (want && file.size() == *want && *want > 0) return attempt_done(); // complete already
    if (file.size() > 0) resumed = true;

    Transfer t;
    t.range_start = file.size();
    t.if_range = file.validator();
    BodyWriter w{url, file, opts, meter, resumed, t.range_start, want.value_or(0), {}, {}};
    t.on_head = [&w](const Response& r) { return w.head(r); };
    t.on_data = [&w](const char* p, size_t n) { return w.data(p, n); };
    const std::string& fatal = w.fatal;
    const std::string& restart = w.restart;

    Outcome out = perform(url, opts, t);
    a.progressed = file.size() > start_size;
    if (!out.refused.is_ok()) return attempt_fail(out.refused.message());
    if (!fatal.empty()) return attempt_fail(fatal);
    if (!restart.empty()) {
        if (Status st = file.truncate(); !st) return attempt_fail(st.message());
        return attempt_retry(restart);
    }
    if (t.resp.status == 416 && t.range_start > 0) {
        // Asked for bytes past the end: complete if the server's total is what we have.
        auto cr = parse_content_range(t.resp.content_range);
        if (cr && cr->total && *cr->total == t.range_start) return attempt_done();
        if (Status st = file.truncate(); !st) return attempt_fail(st.message());
        return attempt_retry("HTTP 416 for a resumed download; starting over");
    }
    if (out.code != CURLE_OK) {
        a.verdict = transient_curl(out.code) ? Verdict::Retry : Verdict::Fail;
        a.message = out.curl_error + " (" + url + ")";
        return a;
    }
    if (!is_2xx(t.resp.status)) {
        a.verdict = transient_status(t.resp.status) ? Verdict::Retry : Verdict::Fail;
        a.message = http_error(t.resp.status, url, t.error_body);
        a.code = t.resp.status == 404 ? Code::NotFound : Code::Internal;
        a.retry_after = t.resp.retry_after;
        return a;
    }
    if (w.total && file.size() != w.total) { // the server closed early without curl noticing
        a.verdict = Verdict::Retry;
        a.message =
            "the transfer ended at " + std::to_string(file.size()) + " of " + std::to_string(w.total) + " bytes";
        return a;
    }
    a.verdict = Verdict::Done;
    return a;
}

} // namespace

bool offline_mode(const DownloadOptions& opts) {
    if (opts.offline) return true;
    const char* env = std::getenv("HEARTH_OFFLINE");
    return env && *env && std::string_view(env) != "0";
}

Result<DownloadResult> download(const std::string& url, const std::filesystem::path& dest,
                                const std::optional<std::string>& expected_sha256, const DownloadOptions& opts) {
    if (offline_mode(opts)) return error("offline mode (HEARTH_OFFLINE): refusing to download " + url);
    if (auto parts = parse_url(url, /*allow_insecure=*/true); !parts)
        return parts.status(); // syntax; perform() checks the rest
    PartialFile file;
    HEARTH_TRY(file.open(dest)); // refused (a link, or locked by another pull): nothing was touched
    // The bytes received are kept for a resume; an empty file (and its sidecar) is only clutter.
    auto failed = [&file](const std::string& msg, Code code = Code::Internal) -> Status {
        if (file.size_on_disk() == 0) file.remove();
        return error(code, msg);
    };
    ProgressMeter meter(opts);
    DownloadResult result;
    int failures = 0; // consecutive failed attempts that received nothing
    for (;;) {
        Attempt a = attempt_download(url, file, expected_sha256.has_value(), opts, meter, result.resumed);
        if (a.verdict == Verdict::Done) break;
        if (a.verdict == Verdict::Fail) return failed("download failed: " + a.message, a.code);
        ++result.retries;
        failures = a.progressed ? 1 : failures + 1;
        if (failures > opts.max_retries || result.retries > opts.max_retries + 1000)
            return failed("download failed after " + std::to_string(result.retries) + " attempts: " + a.message);
        sleep_s(backoff_s(opts, failures, a.retry_after));
    }
    result.size = file.size();
    meter.update(file.size(), opts.expected_size.value_or(file.size()), result.resumed, true);
    if (opts.expected_size && result.size != *opts.expected_size) {
        file.remove();
        return error("download failed: " + size_mismatch(result.size, *opts.expected_size));
    }
    result.sha256 = file.finish_hash();
    if (expected_sha256 && result.sha256 != *expected_sha256) {
        file.remove();
        return error("checksum mismatch for " + url + ": expected sha256 " + *expected_sha256 + ", got " +
                     result.sha256 + " (the partial download was deleted)");
    }
    HEARTH_TRY(file.fsync());
    result.lock = file.release_lock();
    return result;
}

Result<std::string> fetch_text(const std::string& url, const DownloadOptions& opts, uint64_t max_bytes) {
    if (offline_mode(opts)) return error("offline mode (HEARTH_OFFLINE): refusing to fetch " + url);
    int failures = 0;
    for (;;) {
        std::string body, fatal;
        Transfer t;
        t.on_head = [&](const Response& r) {
            if (r.status != 200) {
                fatal = "unexpected HTTP " + std::to_string(r.status) + " from " + url;
                return false;
            }
            if (r.content_length && *r.content_length > max_bytes) {
                fatal = "the response from " + url + " is too large (" + std::to_string(*r.content_length) +
                        " bytes, limit " + std::to_string(max_bytes) + ")";
                return false;
            }
            return true;
        };
        t.on_data = [&](const char* p, size_t n) {
            if (body.size() + n > max_bytes) {
                fatal = "the response from " + url + " exceeds " + std::to_string(max_bytes) + " bytes";
                return false;
            }
            body.append(p, n);
            return true;
        };
        Outcome out = perform(url, opts, t);
        if (!out.refused.is_ok()) return out.refused;
        if (!fatal.empty()) return error(fatal);
        std::string message, retry_after;
        if (out.code != CURLE_OK) {
            if (!transient_curl(out.code)) return error(out.curl_error + " (" + url + ")");
            message = out.curl_error + " (" + url + ")";
        } else if (!is_2xx(t.resp.status)) {
            message = http_error(t.resp.status, url, t.error_body);
            if (!transient_status(t.resp.status))
                return error(t.resp.status == 404 ? Code::NotFound : Code::Internal, message);
            retry_after = t.resp.retry_after;
        } else {
            return body;
        }
        if (++failures > opts.max_retries)
            return error("giving up after " + std::to_string(failures) + " attempts: " + message);
        sleep_s(backoff_s(opts, failures, retry_after));
    }
}

} // namespace hearth::store
