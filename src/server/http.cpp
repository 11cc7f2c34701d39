// server/http.cpp: the transport of `hearth serve`: Routes (http.h) served by cpp-httplib with the checks,
// time limits, access log and drain described in server.h.
//
// How it hooks into httplib: the pre-routing handler runs after the headers are read and before the body
// is, so every check happens there. Admitted requests reach catch-all handlers; those with a body use
// httplib's ContentReader, so the body is read (and counted against the limit) by us. Per-connection state
// is keyed by the worker thread serving the connection (httplib runs a connection's requests on one thread).
#include "server/server.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <httplib.h>
#include <iostream>
#include <mutex>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace hearth::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kLoggedBodyMax = 16 * 1024;
constexpr const char* kRetryAfterDrain = "5";
constexpr int kKeepAliveMaxRequests = 1000;

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A header that must appear at most once; nullopt when absent, "" plus `dup` set when repeated.
std::optional<std::string> single_header(const httplib::Request& req, const char* name, bool& dup) {
    const size_t n = req.get_header_value_count(name);
    if (n == 0) return std::nullopt;
    if (n > 1) dup = true;
    return req.get_header_value(name);
}

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

// A connection's socket as an httplib::Stream. Reads fail once `deadline` has passed (the header or body
// time limit), so a slow client cannot hold the thread; one blocked send fails after `write_timeout`.
class ConnStream final : public httplib::Stream {
public:
    ConnStream(int fd, std::chrono::milliseconds write_timeout) : fd_(fd), write_timeout_(write_timeout) {}
    Clock::time_point deadline = Clock::time_point::max();

    bool buffered() const { return off_ < len_; }
    bool is_readable() const override { return buffered() || wait(POLLIN, read_wait_ms()); }
    bool is_writable() const override { return wait(POLLOUT, static_cast<int>(write_timeout_.count())); }
    ssize_t read(char* ptr, size_t size) override {
        if (!buffered()) {
            if (!wait(POLLIN, read_wait_ms())) return -1;
            const ssize_t n = recv_some(buf_, sizeof buf_);
            if (n <= 0) return n;
            off_ = 0;
            len_ = static_cast<size_t>(n);
        }
        const size_t n = std::min(size, len_ - off_);
        std::memcpy(ptr, buf_ + off_, n);
        off_ += n;
        return static_cast<ssize_t>(n);
    }
    ssize_t write(const char* ptr, size_t size) override {
        if (!wait(POLLOUT, static_cast<int>(write_timeout_.count()))) return -1;
        for (;;) {
            const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
            if (n >= 0 || errno != EINTR) return n;
        }
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override { address(true, ip, port); }
    void get_local_ip_and_port(std::string& ip, int& port) const override { address(false, ip, port); }
    socket_t socket() const override { return fd_; }

private:
    int read_wait_ms() const {
        if (deadline == Clock::time_point::max()) return -1;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        return left > 0 ? static_cast<int>(std::min<int64_t>(left, INT32_MAX)) : 0;
    }
    bool wait(short events, int timeout_ms) const {
        pollfd p{fd_, events, 0};
        for (;;) {
            const int r = ::poll(&p, 1, timeout_ms);
            if (r >= 0) return r > 0;
            if (errno != EINTR) return false;
        }
    }
    ssize_t recv_some(char* buf, size_t size) {
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, size, 0);
            if (n >= 0 || errno != EINTR) return n;
        }
    }
    void address(bool peer, std::string& ip, int& port) const {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        auto* sa = reinterpret_cast<sockaddr*>(&ss);
        if ((peer ? ::getpeername(fd_, sa, &len) : ::getsockname(fd_, sa, &len)) != 0) return;
        char host[INET6_ADDRSTRLEN] = {0};
        if (ss.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
        ip = host;
    }

    int fd_;
    std::chrono::milliseconds write_timeout_;
    char buf_[4096];
    size_t off_ = 0, len_ = 0;
};

// The state of one connection, owned by the worker thread that serves it; stop() reads `fd` and `cut`
// under the server's mutex.
struct Conn {
    int fd = -1;
    bool cut = false;
    ConnStream* stream = nullptr;
    bool close_after = false; // a request's body was left unread: the connection cannot be reused
    // The current request.
    bool in_request = false, admitted = false, streamed = false;
    Clock::time_point start;
    std::string route = "unmatched";
    uint64_t streamed_bytes = 0;
    std::string logged_body;
};

} // namespace

class Server::Impl : public httplib::Server {
public:
    Impl(ServerOptions opts, std::vector<Route> routes)
        : opts_(std::move(opts)), routes_(std::move(routes)),
          keys_(opts_.security.api_key, opts_.security.management_key) {
        for (size_t i = 0; i < routes_.size(); ++i)
            by_path_[routes_[i].path].push_back(i);
        configure();
    }

    ServerOptions opts_;
    std::mutex mu_;
    std::condition_variable cv_;
    int port_ = -1;
    bool bound_ = false, listening_ = false, stop_requested_ = false;
    std::atomic<bool> draining_{false};
    std::atomic<bool> cancelled_{false}; // the drain is over: streams must end, connections close

    // Waits until no admitted request is in flight, or `timeout` passed.
    void wait_idle(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
    }
    // Ends every connection: blocked reads and writes fail at once.
    void cut_all() {
        cancelled_ = true;
        std::lock_guard lock(mu_);
        for (auto& [id, c] : conns_)
            cut(c);
    }

private:
    class SinkStream;

    std::vector<Route> routes_;
    KeyChecker keys_;
    std::unordered_map<std::string, std::vector<size_t>> by_path_;
    std::unordered_map<std::thread::id, Conn> conns_; // guarded by mu_ (request fields: owner thread only)
    int in_flight_ = 0;                               // admitted requests not yet answered; guarded by mu_

    void configure();
    HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res);
    void handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader);
    void log_request(const httplib::Request& req, const httplib::Response& res);
    void reject(const httplib::Request& req, httplib::Response& res, const HttpResponse& r, bool close);
    void send(const httplib::Request& req, httplib::Response& res, HttpResponse r);
    void cors_headers(const httplib::Request& req, httplib::Response& res) const;
    bool origin_ok(const httplib::Request& req) const;

    Conn* conn() {
        std::lock_guard lock(mu_);
        auto it = conns_.find(std::this_thread::get_id());
        return it == conns_.end() ? nullptr : &it->second;
    }
    void set_deadline(Clock::time_point t) {
        if (Conn* c = conn(); c && c->stream) c->stream->deadline = t;
    }
    static void cut(Conn& c) {
        if (c.fd >= 0 && !c.cut) ::shutdown(c.fd, SHUT_RDWR);
        c.cut = true;
    }
    // Waits for the first byte of the next request; false when the peer closed or was idle too long.
    static bool wait_request(int fd, std::chrono::milliseconds idle) {
        pollfd p{fd, POLLIN, 0};
        for (;;) {
            const int r = ::poll(&p, 1, static_cast<int>(idle.count()));
            if (r >= 0) return r > 0 && (p.revents & POLLIN);
            if (errno != EINTR) return false;
        }
    }
    // Closes after a response that left the request body unread: stop sending, then read and drop what the
    // client still sends for a moment, so the close is a FIN the client sees after the response, not a
    // reset that could destroy the response in its receive buffer.
    static void linger_close(int fd) {
        ::shutdown(fd, SHUT_WR);
        char buf[4096];
        size_t drained = 0;
        const auto until = Clock::now() + std::chrono::milliseconds(500);
        while (drained < (size_t{256} << 10) && Clock::now() < until) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            drained += static_cast<size_t>(n);
        }
    }

    // Serves one connection on a worker thread: httplib parses and answers each request (process_request);
    // this loop owns the keep-alive wait and the time limits, and closes the socket.
    bool process_and_close_socket(socket_t sock) override {
        const auto id = std::this_thread::get_id();
        ConnStream strm(sock, opts_.write_timeout);
        Conn* c = nullptr;
        {
            std::lock_guard lock(mu_);
            c = &conns_[id];
            *c = Conn{};
            c->fd = sock;
            c->stream = &strm;
            if (cancelled_) cut(*c);
        }
        bool ok = true;
        std::chrono::milliseconds idle = opts_.header_timeout; // before the first request
        for (int served = 0; served < kKeepAliveMaxRequests; ++served) {
            if (!strm.buffered() && !wait_request(sock, idle)) break;
            strm.deadline = Clock::now() + opts_.header_timeout;
            bool closed = false;
            ok = process_request(strm, served + 1 == kKeepAliveMaxRequests, closed, nullptr);
            const bool timed_out = strm.deadline != Clock::time_point::max() && Clock::now() >= strm.deadline;
            if (!ok || closed || timed_out || c->close_after || draining_ || cancelled_) break;
            idle = opts_.keep_alive_timeout;
        }
        bool lingering = false;
        {
            std::lock_guard lock(mu_);
            if (c->admitted) --in_flight_; // the connection died before its response was logged
            lingering = c->close_after && !c->cut;
            conns_.erase(id);
        }
        cv_.notify_all();
        if (lingering) linger_close(sock);
        ::shutdown(sock, SHUT_RDWR);
        ::close(sock);
        return ok;
    }
};

// The Stream a streaming handler writes to: httplib's DataSink for the chunked body, plus a cheap check
// that the peer is still there (poll on the connection), so a handler waiting for tokens can notice.
class Server::Impl::SinkStream final : public Stream {
public:
    SinkStream(Impl& impl, httplib::DataSink& sink, int fd, uint64_t* bytes)
        : impl_(impl), sink_(sink), fd_(fd), bytes_(bytes) {}
    bool write(std::string_view chunk) override {
        if (!alive()) return false;
        if (chunk.empty()) return true; // an empty chunk would end the chunked body
        if (!sink_.write(chunk.data(), chunk.size())) {
            gone_ = true;
            return false;
        }
        if (bytes_) *bytes_ += chunk.size();
        return true;
    }
    bool alive() const override {
        if (gone_ || impl_.cancelled_) return false;
        if (fd_ < 0) return true;
        pollfd p{fd_, POLLRDHUP, 0};
        if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) gone_ = true;
        return !gone_;
    }

private:
    Impl& impl_;
    httplib::DataSink& sink_;
    int fd_;
    uint64_t* bytes_;
    mutable bool gone_ = false;
};

void Server::Impl::configure() {
    const size_t threads = static_cast<size_t>(std::max(1, opts_.http_threads));
    new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // Time limits and keep-alive are applied by process_and_close_socket and ConnStream.
    set_payload_max_length(opts_.max_body_bytes);
    set_tcp_nodelay(true);
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second process bind the same
    // port and take a share of the connections.
    set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    set_default_headers({{"X-Content-Type-Options", "nosniff"}});

    set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return pre_route(req, res); });
    Get(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, nullptr); });
    const auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) { handle(req, res, &reader); };
    Post(".*", with_body);
    Put(".*", with_body);
    Patch(".*", with_body);
    Delete(".*", with_body);
    set_logger([this](const httplib::Request& req, const httplib::Response& res) { log_request(req, res); });
    // Responses httplib makes itself (a malformed request line, a URI over its limit) get a JSON body too.
    set_error_handler(HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) return HandlerResponse::Unhandled;
        res.set_content(
            error_body("malformed request (HTTP " + std::to_string(res.status) + ")", "invalid_request_error", ""),
            "application/json");
        return HandlerResponse::Handled;
    }));
    set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(error_body("internal server error", "server_error", ""), "application/json");
    });
}

bool Server::Impl::origin_ok(const httplib::Request& req) const {
    if (!req.has_header("Origin")) return true;
    return origin_allowed(req.get_header_value("Origin"), req.get_header_value("Host"), opts_.security.cors_origins);
}

void Server::Impl::cors_headers(const httplib::Request& req, httplib::Response& res) const {
    if (!req.has_header("Origin")) return;
    const std::string origin = req.get_header_value("Origin");
    const auto& allowed = opts_.security.cors_origins;
    if (std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return;
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
}

// Answers a refused request. `close`: its body was not read, so the connection cannot be reused.
void Server::Impl::reject(const httplib::Request& req, httplib::Response& res, const HttpResponse& r, bool close) {
    res.status = r.status;
    for (const auto& [k, v] : r.headers)
        res.set_header(k, v);
    cors_headers(req, res);
    res.set_content(r.body, r.content_type);
    if (close) {
        res.set_header("Connection", "close");
        if (Conn* c = conn()) c->close_after = true;
    }
}

httplib::Server::HandlerResponse Server::Impl::pre_route(const httplib::Request& req, httplib::Response& res) {
    Conn* c = conn();
    if (c) {
        c->in_request = true;
        c->admitted = c->streamed = false;
        c->start = Clock::now();
        c->route = "unmatched";
        c->streamed_bytes = 0;
        c->logged_body.clear();
    }
    set_deadline(Clock::time_point::max());
    bool dup = false;
    const auto cl = single_header(req, "Content-Length", dup);
    const auto te = single_header(req, "Transfer-Encoding", dup);
    const auto host = single_header(req, "Host", dup);
    const auto auth = single_header(req, "Authorization", dup);
    const bool chunked = te && lower(*te) == "chunked";
    const auto length = cl ? parse_content_length(*cl) : std::optional<uint64_t>(0);
    const bool has_body = chunked || (length && *length > 0) || (te && !chunked);
    const bool unread = has_body; // when refused here, the body stays unread
    const auto refuse = [&](int status, std::string_view msg, std::string_view type, std::string_view code) {
        reject(req, res, error_response(status, msg, type, code), unread);
        return HandlerResponse::Handled;
    };

    if (draining_) {
        HttpResponse r = error_response(503, "the server is shutting down", "server_error", "shutting_down");
        r.headers.emplace_back("Retry-After", kRetryAfterDrain);
        r.headers.emplace_back("Connection", "close");
        reject(req, res, r, true);
        return HandlerResponse::Handled;
    }
    if (dup)
        return refuse(400, "repeated Host, Authorization, Content-Length or Transfer-Encoding header",
                      "invalid_request_error", "bad_request");
    if (!host || host->empty()) return refuse(400, "missing Host header", "invalid_request_error", "bad_request");
    if (opts_.security.check_host && !host_allowed(*host, opts_.security.allow_hosts))
        return refuse(403, "Host '" + *host + "' is not allowed (add it with --allow-host)", "invalid_request_error",
                      "host_not_allowed");
    if (te && !chunked) return refuse(501, "only chunked Transfer-Encoding is supported", "invalid_request_error", "");
    if (te && cl) return refuse(400, "both Content-Length and Transfer-Encoding", "invalid_request_error", "");
    if (!length) return refuse(400, "malformed Content-Length", "invalid_request_error", "bad_request");
    if (*length > opts_.max_body_bytes)
        return refuse(413, "the request body is larger than " + std::to_string(opts_.max_body_bytes) + " bytes",
                      "invalid_request_error", "request_too_large");
    const bool bodyless = req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS";
    if (bodyless && has_body) return refuse(400, req.method + " requests have no body", "invalid_request_error", "");
    if (req.has_header("Content-Encoding") && lower(req.get_header_value("Content-Encoding")) != "identity")
        return refuse(415, "compressed request bodies are not supported", "invalid_request_error", "");
    if (lower(req.get_header_value("Content-Type")).rfind("multipart/", 0) == 0)
        return refuse(415, "multipart request bodies are not supported", "invalid_request_error", "");
    if (!origin_ok(req))
        return refuse(403, "Origin '" + req.get_header_value("Origin") + "' is not allowed (add it with --cors-origin)",
                      "invalid_request_error", "origin_not_allowed");

    const auto found = by_path_.find(req.path);
    if (found == by_path_.end()) return refuse(404, "no route " + req.path, "invalid_request_error", "not_found");
    std::string allow;
    const Route* route = nullptr;
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    for (size_t i : found->second) {
        allow += (allow.empty() ? "" : ", ") + routes_[i].method;
        if (routes_[i].method == method) route = &routes_[i];
    }
    allow += ", OPTIONS";
    if (req.method == "OPTIONS") { // CORS preflight or a plain OPTIONS: answered here, no key needed
        HttpResponse r;
        r.status = 204;
        r.headers.emplace_back("Allow", allow);
        if (req.has_header("Origin") && req.has_header("Access-Control-Request-Method")) {
            r.headers.emplace_back("Access-Control-Allow-Methods", allow);
            std::string wanted = req.get_header_value("Access-Control-Request-Headers");
            const bool tokens = std::all_of(wanted.begin(), wanted.end(), [](char ch) {
                return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == ',' || ch == ' ';
            });
            r.headers.emplace_back("Access-Control-Allow-Headers",
                                   tokens && !wanted.empty() ? wanted : "Authorization, Content-Type");
            r.headers.emplace_back("Access-Control-Max-Age", "600");
        }
        reject(req, res, r, false);
        return HandlerResponse::Handled;
    }
    if (!route) {
        HttpResponse r = error_response(405, req.method + " is not allowed on " + req.path, "invalid_request_error",
                                        "method_not_allowed");
        r.headers.emplace_back("Allow", allow);
        reject(req, res, r, unread);
        return HandlerResponse::Handled;
    }
    if (c) c->route = route->path;

    switch (keys_.check(route->access, auth ? &*auth : nullptr)) {
    case KeyChecker::Verdict::Ok:
        break;
    case KeyChecker::Verdict::Missing: {
        HttpResponse r = error_response(401, "missing API key: send Authorization: Bearer <key>",
                                        "invalid_request_error", "invalid_api_key");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        reject(req, res, r, unread);
        return HandlerResponse::Handled;
    }
    case KeyChecker::Verdict::Wrong: {
        HttpResponse r = error_response(401, "incorrect API key", "invalid_request_error", "invalid_api_key");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        reject(req, res, r, unread);
        return HandlerResponse::Handled;
    }
    case KeyChecker::Verdict::NeedsManagementKey: {
        HttpResponse r =
            error_response(401, "this route needs the management key", "invalid_request_error", "invalid_api_key");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        reject(req, res, r, unread);
        return HandlerResponse::Handled;
    }
    }

    {
        std::lock_guard lock(mu_);
        if (draining_) { // stop() began while we checked: refuse rather than race its wait
            HttpResponse r = error_response(503, "the server is shutting down", "server_error", "shutting_down");
            r.headers.emplace_back("Retry-After", kRetryAfterDrain);
            reject(req, res, r, true);
            return HandlerResponse::Handled;
        }
        ++in_flight_;
        if (c) c->admitted = true;
    }
    return HandlerResponse::Unhandled;
}

void Server::Impl::handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const auto found = by_path_.find(req.path);
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    const Route* route = nullptr;
    if (found != by_path_.end())
        for (size_t i : found->second)
            if (routes_[i].method == method) route = &routes_[i];
    if (!route) { // pre_route admits only routed requests
        reject(req, res, error_response(404, "no route " + req.path, "invalid_request_error", "not_found"), true);
        return;
    }
    HttpRequest hr;
    hr.method = method;
    hr.path = req.path;
    hr.remote = req.remote_addr;
    for (const auto& [k, v] : req.headers) {
        std::string name = lower(k);
        if (name == "remote_addr" || name == "remote_port" || name == "local_addr" || name == "local_port") continue;
        hr.headers.emplace(std::move(name), v);
    }
    for (const auto& [k, v] : req.params)
        hr.query.emplace(k, v);

    const bool chunked = lower(req.get_header_value("Transfer-Encoding")) == "chunked";
    if (reader && (chunked || parse_content_length(req.get_header_value("Content-Length")).value_or(0) > 0)) {
        bool too_large = false;
        set_deadline(Clock::now() + opts_.body_timeout);
        const bool ok = (*reader)([&](const char* data, size_t n) {
            if (hr.body.size() + n > opts_.max_body_bytes) {
                too_large = true;
                return false;
            }
            hr.body.append(data, n);
            return true;
        });
        set_deadline(Clock::time_point::max());
        if (too_large || !ok) {
            reject(
                req, res,
                too_large
                    ? error_response(
                          413, "the request body is larger than " + std::to_string(opts_.max_body_bytes) + " bytes",
                          "invalid_request_error", "request_too_large")
                    : error_response(400, "the request body could not be read", "invalid_request_error", "bad_request"),
                true);
            return;
        }
    }
    if (opts_.log_prompts)
        if (Conn* c = conn()) c->logged_body = hr.body.substr(0, kLoggedBodyMax);

    HttpResponse out;
    try {
        out = route->handler(hr);
    } catch (const std::exception& e) {
        out = error_response(500, std::string("internal server error: ") + e.what(), "server_error", "");
    }
    send(req, res, std::move(out));
}

void Server::Impl::send(const httplib::Request& req, httplib::Response& res, HttpResponse r) {
    res.status = r.status;
    for (const auto& [k, v] : r.headers)
        res.set_header(k, v);
    cors_headers(req, res);
    if (!r.stream) {
        res.set_content(std::move(r.body), r.content_type);
        return;
    }
    Conn* c = conn();
    if (c) c->streamed = true;
    const int fd = c ? c->fd : -1;
    uint64_t* bytes = c ? &c->streamed_bytes : nullptr;
    res.set_chunked_content_provider(
        r.content_type, [this, fn = std::move(r.stream), fd, bytes](size_t, httplib::DataSink& sink) {
            SinkStream s(*this, sink, fd, bytes);
            try {
                fn(s);
            } catch (const std::exception& e) {
                std::cerr << "hearth: error: a streaming handler failed: " << e.what() << "\n";
                return false; // ends the connection: the body is incomplete
            }
            if (!s.alive()) return false;
            sink.done();
            return true;
        });
}

// The metrics' method label: one of a fixed set, so clients cannot add series (a random method per request
// would grow /metrics and memory without bound).
static const char* metric_method(const std::string& m) {
    for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
        if (m == known) return known;
    return "other";
}

void Server::Impl::log_request(const httplib::Request& req, const httplib::Response& res) {
    Conn* c = conn();
    const auto now = Clock::now();
    const bool timed = c && c->in_request;
    const double seconds = timed ? std::chrono::duration<double>(now - c->start).count() : 0.0;
    // A request httplib refused unparsed never reached pre_route: it has no route (not the previous
    // request's on a kept-alive connection).
    const std::string route = timed ? c->route : "unmatched";
    const uint64_t bytes = c && c->streamed ? c->streamed_bytes : res.body.size();
    if (opts_.metrics) opts_.metrics->record(route, metric_method(req.method), res.status, seconds);

    nlohmann::json line = {{"time", utc_now()},
                           {"method", req.method},
                           {"path", req.path},
                           {"status", res.status},
                           {"duration_ms", std::round(seconds * 1e4) / 10},
                           {"remote", req.remote_addr},
                           {"bytes", bytes}};
    if (opts_.log_prompts && c && !c->logged_body.empty()) line["body"] = c->logged_body;
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (opts_.access_log)
        opts_.access_log(text);
    else
        std::cerr << text + "\n" << std::flush;

    {
        std::lock_guard lock(mu_);
        if (c) {
            if (!c->in_request) c->close_after = true; // httplib refused it unparsed: don't trust what follows
            if (c->admitted) --in_flight_;
            c->admitted = c->in_request = false;
            c->logged_body.clear();
        }
    }
    cv_.notify_all();
}

// ---- Server -------------------------------------------------------------------------------------------

Server::Server(ServerOptions opts, std::vector<Route> routes)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(routes))) {}

Server::~Server() = default;

Status Server::bind() {
    Impl& s = *impl_;
    if (s.bound_) return Status::ok();
    const auto& o = s.opts_;
    if (o.port < 0 || o.port > 65535) return error("port " + std::to_string(o.port) + " is out of range");
    errno = 0;
    int port = -1;
    if (o.port == 0)
        port = s.bind_to_any_port(o.host);
    else if (s.bind_to_port(o.host, o.port))
        port = o.port;
    if (port <= 0) {
        const std::string why = errno ? std::string(": ") + std::strerror(errno) : std::string();
        return error("cannot listen on " + o.host + ":" + std::to_string(o.port) + why);
    }
    s.port_ = port;
    s.bound_ = true;
    return Status::ok();
}

Status Server::listen() {
    HEARTH_TRY(bind());
    Impl& s = *impl_;
    {
        std::lock_guard lock(s.mu_);
        if (s.stop_requested_) return Status::ok();
        s.listening_ = true;
    }
    const bool ok = s.listen_after_bind();
    {
        std::lock_guard lock(s.mu_);
        s.listening_ = false;
    }
    return ok ? Status::ok() : error("the server stopped accepting connections unexpectedly");
}

void Server::stop() {
    Impl& s = *impl_;
    {
        std::lock_guard lock(s.mu_);
        s.stop_requested_ = true;
    }
    s.draining_ = true;
    s.wait_idle(s.opts_.drain_timeout);
    s.cut_all();
    // listen() may be between setting listening_ and httplib marking itself running.
    for (;;) {
        {
            std::lock_guard lock(s.mu_);
            if (!s.listening_ || s.is_running()) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    s.httplib::Server::stop();
}

int Server::port() const {
    return impl_->port_;
}

bool Server::draining() const {
    return impl_->draining_;
}

} // namespace hearth::server
