// upstream/upstream.cpp: one chat-completions request over libcurl's multi interface, so that this
// thread's own loop (every 50 ms at most) enforces cancellation and the first-byte, idle and total
// deadlines: curl's progress callback alone runs only about once a second on a silent connection.
#include "upstream/upstream.h"

#include "store/pull/net_guard.h" // the address rules (loopback, private, link-local, ULA, v4-mapped...)
#include "upstream/openai_json.h"
#include "upstream/sse.h"

#include <chrono>
#include <cmath>
#include <curl/curl.h>
#include <memory>
#include <optional>
#include <sys/socket.h>

namespace hearth::upstream {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr int poll_ms = 50;
constexpr size_t max_error_body = 2048;

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool curl_ready() {
    // Once per process, thread-safe (a function-local static); never cleaned up.
    static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    return ok;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return std::string(s);
}

std::string fmt_s(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g s", s);
    return buf;
}

// Every message leaves through here: prefixed with the endpoint's name, the key masked out.
Status fail(const Endpoint& ep, Code code, std::string msg) {
    if (!ep.api_key.empty())
        for (size_t at = msg.find(ep.api_key); at != std::string::npos; at = msg.find(ep.api_key, at))
            msg.replace(at, ep.api_key.size(), "***");
    return error(code, "upstream '" + ep.name + "': " + msg);
}

Status total_timeout(const Endpoint& ep) {
    return fail(ep, Code::Timeout, "no complete answer within the total timeout (" + fmt_s(ep.total_timeout_s) + ")");
}

struct UrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlFree {
    char* p = nullptr;
    ~CurlFree() { curl_free(p); }
};
// A part of a parsed URL, or nullopt when absent.
std::optional<std::string> url_part(CURLU* u, CURLUPart what, unsigned flags = 0) {
    CurlFree s;
    if (curl_url_get(u, what, &s.p, flags) != CURLUE_OK || !s.p) return std::nullopt;
    return std::string(s.p);
}

// ---- one transfer's state, shared with curl's callbacks ------------------------------------------------
struct Call {
    const Endpoint& ep;
    bool stream;
    const std::function<bool(const Delta&)>& on_delta;
    const std::atomic<bool>* cancel;
    Clock::time_point t0 = Clock::now();

    std::optional<Clock::time_point> connected_at, first_byte_at, last_byte_at;
    long status = 0;
    std::string content_type;
    std::optional<uint64_t> content_length;
    bool sse = false; // the 2xx answer is an event stream

    SseParser sse_parser;
    std::vector<SseEvent> events;
    std::string body; // the JSON answer, or the start of an error body
    Response resp;
    bool cut_short = false; // we stopped reading on purpose ([DONE], or enough of an error body)
    Status failure;         // set by a callback; the transfer stops
    bool blocked = false;
    std::string blocked_addr;
    char curl_error[CURL_ERROR_SIZE] = {}; // curl's detail for a failed transfer (no credentials: see check_endpoint)

    Call(const Endpoint& e, bool s, const std::function<bool(const Delta&)>& d, const std::atomic<bool>* c)
        : ep(e), stream(s), on_delta(d), cancel(c), sse_parser(e.max_response_bytes) {}

    bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }

    bool count(size_t n) {
        const auto now = Clock::now();
        if (!first_byte_at) {
            first_byte_at = now;
            resp.first_byte_s = std::chrono::duration<double>(now - t0).count();
        }
        last_byte_at = now;
        resp.bytes_received += n;
        // Also checked here, not only in run()'s loop: from a fast server, one curl_multi_perform can deliver
        // megabytes before it returns.
        if (cancelled()) {
            failure = fail(ep, Code::Cancelled, "the request was cancelled");
            return false;
        }
        if (std::chrono::duration<double>(now - t0).count() > ep.total_timeout_s) {
            failure = total_timeout(ep);
            return false;
        }
        if (resp.bytes_received > ep.max_response_bytes) {
            failure = fail(ep, Code::Upstream,
                           "the answer is larger than max_response_bytes (" + std::to_string(ep.max_response_bytes) +
                               " bytes)");
            return false;
        }
        return true;
    }
    bool deliver_event(const SseEvent& ev);
    bool end_of_head();
};

bool Call::end_of_head() {
    if (status >= 300 && status < 400) {
        failure = fail(ep, Code::Upstream,
                       "answered with a redirect (HTTP " + std::to_string(status) + "), which is never followed");
        return false;
    }
    if (status < 200 || status >= 300) return true; // the body goes to the message
    if (content_length && *content_length > ep.max_response_bytes) {
        failure = fail(ep, Code::Upstream,
                       "announces " + std::to_string(*content_length) + " bytes, more than max_response_bytes (" +
                           std::to_string(ep.max_response_bytes) + ")");
        return false;
    }
    sse = lower(content_type).starts_with("text/event-stream");
    return true;
}

bool Call::deliver_event(const SseEvent& ev) {
    if (cancelled()) { // no delta after a cancel, even from the piece already received
        failure = fail(ep, Code::Cancelled, "the request was cancelled");
        return false;
    }
    if (ev.event == "error") {
        failure = fail(ep, Code::Upstream, "sent an error event: " + printable_snippet(ev.data));
        return false;
    }
    const json chunk = json::parse(ev.data, nullptr, /*allow_exceptions=*/false);
    if (chunk.is_discarded()) {
        failure = fail(ep, Code::Upstream, "sent a stream chunk that is not JSON: " + printable_snippet(ev.data, 80));
        return false;
    }
    Delta delta;
    auto any = apply_stream_chunk(chunk, resp, delta);
    if (!any) {
        failure = fail(ep, any.code(), any.message());
        return false;
    }
    if (*any && stream && on_delta && !on_delta(delta)) {
        failure = fail(ep, Code::Cancelled, "the receiver stopped the stream");
        return false;
    }
    return true;
}

size_t header_cb(char* data, size_t size, size_t n, void* user) {
    auto* call = static_cast<Call*>(user);
    const std::string_view line(data, size * n);
    if (!call->count(line.size())) return 0;
    if (line.starts_with("HTTP/")) { // a new response head (a 1xx is followed by another)
        call->status = 0;
        call->content_type.clear();
        call->content_length.reset();
        const size_t sp = line.find(' ');
        if (sp != std::string_view::npos) call->status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
        return line.size();
    }
    if (trimmed(line).empty()) {
        if (call->status >= 200 && !call->end_of_head()) return 0;
        return line.size();
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return line.size();
    const std::string name = lower(line.substr(0, colon));
    const std::string value = trimmed(line.substr(colon + 1));
    if (name == "content-type") {
        call->content_type = value;
    } else if (name == "content-length") {
        char* end = nullptr;
        const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
        if (!value.empty() && end && *end == '\0') call->content_length = v;
    }
    return line.size();
}

size_t write_cb(char* data, size_t size, size_t n, void* user) {
    auto* call = static_cast<Call*>(user);
    const std::string_view bytes(data, size * n);
    if (!call->count(bytes.size())) return 0;
    if (call->status < 200 || call->status >= 300) { // keep the start of an error body for the message
        call->body.append(bytes.substr(0, max_error_body - call->body.size()));
        if (call->body.size() < max_error_body) return bytes.size();
        call->cut_short = true;
        return 0;
    }
    if (!call->sse) {
        call->body.append(bytes);
        return bytes.size();
    }
    call->events.clear();
    const Status st = call->sse_parser.feed(bytes, call->events);
    for (const auto& ev : call->events)
        if (!call->deliver_event(ev)) return 0;
    if (!st) {
        call->failure = fail(call->ep, Code::Upstream, st.message());
        return 0;
    }
    if (call->sse_parser.done()) { // [DONE]: nothing after it matters, stop reading
        call->cut_short = true;
        return 0;
    }
    return bytes.size();
}

// Refuses, before connecting, any socket to an address that is not public (unless allow_insecure):
// this sees the address curl actually uses, whatever a name resolved to (DNS rebinding).
curl_socket_t opensocket_cb(void* user, curlsocktype /*purpose*/, curl_sockaddr* addr) {
    auto* call = static_cast<Call*>(user);
    if (!call->ep.allow_insecure && store::blocked_sockaddr(&addr->addr)) {
        call->blocked = true;
        call->blocked_addr = store::sockaddr_text(&addr->addr);
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

// Called once the connection (and TLS) is up, just before the request is sent.
int prereq_cb(void* user, char* /*conn_primary_ip*/, char* /*conn_local_ip*/, int /*primary*/, int /*local*/) {
    static_cast<Call*>(user)->connected_at = Clock::now();
    return CURL_PREREQFUNC_OK;
}

struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct MultiDeleter {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Which deadline has passed, if any.
std::optional<Status> deadline_passed(const Call& call) {
    const Endpoint& ep = call.ep;
    const auto now = Clock::now();
    auto over = [&](Clock::time_point from, double limit) {
        return std::chrono::duration<double>(now - from).count() > limit;
    };
    if (over(call.t0, ep.total_timeout_s)) return total_timeout(ep);
    if (!call.connected_at && over(call.t0, ep.connect_timeout_s))
        return fail(ep, Code::Timeout, "could not connect within " + fmt_s(ep.connect_timeout_s));
    if (call.connected_at && !call.first_byte_at && over(*call.connected_at, ep.first_byte_timeout_s))
        return fail(ep, Code::Timeout,
                    "sent nothing within the first-byte timeout (" + fmt_s(ep.first_byte_timeout_s) + ")");
    if (call.last_byte_at && over(*call.last_byte_at, ep.idle_timeout_s))
        return fail(ep, Code::Timeout,
                    "went silent for longer than the idle timeout (" + fmt_s(ep.idle_timeout_s) + ")");
    return std::nullopt;
}

// Runs the transfer to its end, a callback's failure, cancellation or a deadline.
Status run(CURL* easy, Call& call) {
    std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
    if (!multi) return fail(call.ep, Code::Upstream, "libcurl: cannot create a multi handle");
    if (curl_multi_add_handle(multi.get(), easy) != CURLM_OK)
        return fail(call.ep, Code::Upstream, "libcurl: cannot add the transfer");
    struct Remove {
        CURLM* m;
        CURL* e;
        ~Remove() { curl_multi_remove_handle(m, e); }
    } remove{multi.get(), easy};

    CURLcode result = CURLE_OK;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(multi.get(), &running) != CURLM_OK)
            return fail(call.ep, Code::Upstream, "libcurl: the transfer loop failed");
        if (!call.failure.is_ok()) return call.failure;
        if (running == 0) {
            int left = 0;
            for (CURLMsg* msg; (msg = curl_multi_info_read(multi.get(), &left));)
                if (msg->msg == CURLMSG_DONE) result = msg->data.result;
            break;
        }
        if (call.cancelled()) return fail(call.ep, Code::Cancelled, "the request was cancelled");
        if (auto late = deadline_passed(call)) return *late;
        curl_multi_poll(multi.get(), nullptr, 0, poll_ms, nullptr);
    }
    if (!call.failure.is_ok()) return call.failure;
    // A refused address fails the call only if no other address of the host answered.
    if (call.blocked && result != CURLE_OK)
        return fail(call.ep, Code::PolicyBlocked,
                    "refusing to connect to " + call.blocked_addr +
                        ": a loopback, private, link-local or reserved address (set allow_insecure for an "
                        "upstream on your own network)");
    if (result == CURLE_OPERATION_TIMEDOUT) {
        if (auto late = deadline_passed(call)) return *late;
        return fail(call.ep, Code::Timeout, "timed out");
    }
    if (result != CURLE_OK && !(call.cut_short && result == CURLE_WRITE_ERROR)) {
        std::string detail = call.curl_error[0] ? call.curl_error : curl_easy_strerror(result);
        if (result == CURLE_PEER_FAILED_VERIFICATION || result == CURLE_SSL_CONNECT_ERROR ||
            result == CURLE_SSL_CACERT_BADFILE)
            detail += " (TLS)";
        return fail(call.ep, Code::Upstream, "request failed: " + detail);
    }
    return Status::ok();
}

// Turns what arrived into the Response (or the error it says).
Status finish(Call& call) {
    const Endpoint& ep = call.ep;
    if (call.status < 200 || call.status >= 300) {
        std::string msg = "answered HTTP " + std::to_string(call.status);
        const std::string snippet = printable_snippet(call.body);
        if (!snippet.empty()) msg += ": " + snippet;
        return fail(ep, Code::Upstream, msg);
    }
    if (call.sse) {
        if (!call.sse_parser.done() && call.resp.finish_reason.empty())
            return fail(ep, Code::Upstream, "the stream ended before [DONE] or a finish_reason");
        return Status::ok();
    }
    Status st = parse_full_response(call.body, call.resp);
    if (!st) return fail(ep, st.code(), st.message());
    if (call.stream && call.on_delta) {
        Delta whole;
        whole.content = call.resp.content;
        whole.tool_calls = call.resp.tool_calls;
        whole.finish_reason = call.resp.finish_reason;
        whole.logprobs = call.resp.logprobs;
        if (!call.on_delta(whole)) return fail(ep, Code::Cancelled, "the receiver stopped the stream");
    }
    return Status::ok();
}

std::string chat_url(const Endpoint& ep) {
    std::string base = ep.base_url;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base + "/chat/completions";
}

} // namespace

Status check_endpoint(const Endpoint& ep) {
    auto bad = [&](std::string msg) { return fail(ep, Code::BadField, std::move(msg)); };
    for (double t : {ep.connect_timeout_s, ep.first_byte_timeout_s, ep.idle_timeout_s, ep.total_timeout_s})
        if (!(t > 0) || !std::isfinite(t)) return bad("timeouts must be positive numbers of seconds");
    if (ep.max_response_bytes == 0) return bad("max_response_bytes must be positive");
    for (char c : ep.api_key)
        if (static_cast<unsigned char>(c) < 32 || c == 127) return bad("the API key contains control characters");
    std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
    if (!u) return fail(ep, Code::Upstream, "out of memory");
    if (ep.base_url.find_first_of(" \t\r\n") != std::string::npos ||
        curl_url_set(u.get(), CURLUPART_URL, ep.base_url.c_str(), 0) != CURLUE_OK)
        return bad("base_url is not a valid absolute URL");
    const std::string scheme = lower(url_part(u.get(), CURLUPART_SCHEME).value_or(""));
    if (scheme != "https" && scheme != "http") return bad("base_url must start with https:// (got " + scheme + "://)");
    if (url_part(u.get(), CURLUPART_USER) || url_part(u.get(), CURLUPART_PASSWORD))
        return bad("base_url must not contain a user name or password (put the key in api_key)");
    if (url_part(u.get(), CURLUPART_QUERY) || url_part(u.get(), CURLUPART_FRAGMENT))
        return bad("base_url must not have a query or fragment");
    std::string host = lower(url_part(u.get(), CURLUPART_HOST).value_or(""));
    if (host.empty()) return bad("base_url has no host");
    if (ep.allow_insecure) return Status::ok();
    if (scheme == "http")
        return fail(ep, Code::PolicyBlocked,
                    "plain http:// is refused (use https://, or set allow_insecure for an "
                    "upstream on your own network)");
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (auto pct = host.find('%'); pct != std::string::npos) host.resize(pct);
    if (store::is_blocked_address(host))
        return fail(ep, Code::PolicyBlocked,
                    "address " + host +
                        " is loopback, private, link-local or reserved (set allow_insecure "
                        "for an upstream on your own network)");
    return Status::ok();
}

Result<Response> chat(const Endpoint& ep, std::string_view body, bool stream,
                      const std::function<bool(const Delta&)>& on_delta, const std::atomic<bool>* cancel) {
    HEARTH_TRY(check_endpoint(ep));
    if (cancel && cancel->load()) return fail(ep, Code::Cancelled, "the request was cancelled");
    if (!curl_ready()) return fail(ep, Code::Upstream, "libcurl failed to initialise");
    std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
    if (!handle) return fail(ep, Code::Upstream, "libcurl: cannot create a handle");
    CURL* c = handle.get();

    // Exactly these headers; an empty value ("Accept:") removes one curl would add on its own.
    curl_slist* raw = nullptr;
    for (const char* h : {"Content-Type: application/json", "Accept:", "Expect:"})
        raw = curl_slist_append(raw, h);
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
    if (!ep.api_key.empty()) {
        raw = curl_slist_append(headers.get(), ("Authorization: Bearer " + ep.api_key).c_str());
        if (raw) (void)headers.release(), headers.reset(raw);
    }
    if (!headers) return fail(ep, Code::Upstream, "out of memory");

    Call call(ep, stream, on_delta, cancel);
    const std::string url = chat_url(ep);
    const auto ms = [](double s) { return static_cast<long>(std::ceil(s * 1000)); };
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, ep.allow_insecure ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); // never a proxy, not even from the environment (see upstream.h)
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    // Backstops only: our loop enforces every deadline with its own message.
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms(ep.connect_timeout_s) + 1000);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms(ep.total_timeout_s) + 1000);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, call.curl_error);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &call);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, prereq_cb);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, &call);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &call);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &call);

    HEARTH_TRY(run(c, call));
    HEARTH_TRY(finish(call));
    call.resp.total_s = since(call.t0);
    return std::move(call.resp);
}

} // namespace hearth::upstream
