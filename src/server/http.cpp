// server/http.cpp: the transport of `hearth serve`: Routes (http.h) served over HTTP/1.1 with the checks,
// time limits, access log and drain described in server.h.
//
// The I/O model: one event-loop thread (the one that calls listen()) owns every socket that is not
// serving a request: it accepts, reads request heads and bodies (strict framing: http_parse.h), applies the
// checks and deadlines, answers refusals and Route::inline_io routes itself, and lingers on closes. A slow
// or idle client therefore costs a Conn and its buffered bytes, not a thread. A complete, admitted request
// is handed with its socket to a worker thread (ServerOptions::http_threads of them), which runs the handler
// and writes the response, streamed or not, with blocking sends bounded by write_timeout; the socket then
// goes back to the loop for the next request on the connection.
//
// Connection caps: at most max_connections sockets in all and max_connections_per_client per peer address.
// A new connection over a cap evicts the connection (of that peer, or of anyone for the total cap) that has
// waited longest for its next request to arrive; connections with a request being read or served are never
// evicted, and the new one is refused when nothing can be evicted.
#include "base/utc_time.h"
#include "server/http_parse.h"
#include "server/server.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <iostream>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
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
constexpr size_t kReadChunk = 64 * 1024;                       // bytes read from one socket per event
constexpr auto kLinger = std::chrono::milliseconds(500);       // reading and dropping after a refusal
constexpr size_t kLingerMaxBytes = size_t{256} << 10;          // ... at most this much
constexpr auto kAfterCutWait = std::chrono::milliseconds(250); // stop(): handlers' time to see the cut
constexpr auto kTick = std::chrono::milliseconds(50);          // deadline sweep period

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string http_date() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

const char* reason(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

// A header a handler set is sent only when neither part could split the response.
bool header_safe(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// The metrics' method label: one of a fixed set, so clients cannot add series (a random method per request
// would grow /metrics and memory without bound).
const char* metric_method(const std::string& m) {
    for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
        if (m == known) return known;
    return "other";
}

// Waits until `fd` is ready for `events`; false on timeout or error.
bool wait_fd(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    for (;;) {
        const int r = ::poll(&p, 1, timeout_ms);
        if (r > 0) return (p.revents & events) != 0;
        if (r == 0 || errno != EINTR) return false;
    }
}

// Sends all of `data` on a non-blocking socket, waiting up to `timeout` whenever the socket is full.
bool send_all(int fd, std::string_view data, std::chrono::milliseconds timeout) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(fd, POLLOUT, static_cast<int>(timeout.count()))) return false;
            continue;
        }
        return false;
    }
    return true;
}

std::string peer_address(const sockaddr_storage& ss) {
    char host[INET6_ADDRSTRLEN] = {0};
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, host, sizeof host);
    } else if (ss.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
        else
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    }
    return host;
}

// One connection. The loop owns it except while `state` is Serving, when one worker does; `cut` and the
// fd's shutdown are shared under Impl::mu_.
struct Conn {
    enum class State { Head, Body, Serving, Lingering };
    int fd = -1;
    std::string remote;
    State state = State::Head;
    std::string in;  // received bytes not yet consumed
    std::string out; // bytes the loop still has to send
    bool close_when_sent = false, linger_when_sent = false;
    Clock::time_point waiting_since; // accept, or the end of the previous response (eviction order)
    Clock::time_point deadline;      // of the current phase
    size_t lingered = 0;
    int served = 0;
    bool cut = false;      // guarded by Impl::mu_
    bool finished = false; // a worker ended the connection: the loop closes it

    // The current request.
    RequestHead head;
    std::optional<ChunkedDecoder> chunked;
    std::string body;
    const Route* route = nullptr;
    std::string route_label = "unmatched";
    bool admitted = false; // counted in in_flight_
    Clock::time_point start;
    std::string logged_body; // with log_prompts
};

} // namespace

class Server::Impl {
public:
    Impl(ServerOptions opts, std::vector<Route> routes)
        : opts_(std::move(opts)), routes_(std::move(routes)),
          keys_(opts_.security.api_key, opts_.security.management_key) {
        for (size_t i = 0; i < routes_.size(); ++i)
            by_path_[routes_[i].path].push_back(i);
    }
    ~Impl() {
        stop_workers();
        for (auto& [fd, c] : conns_)
            ::close(fd);
        if (wake_fd_ >= 0) ::close(wake_fd_);
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
        if (listen_fd_ >= 0) ::close(listen_fd_);
    }

    ServerOptions opts_;
    std::mutex mu_;
    std::condition_variable cv_;
    int port_ = -1;
    bool bound_ = false, stop_requested_ = false, loop_running_ = false;
    std::atomic<bool> draining_{false};
    std::atomic<bool> cancelled_{false}; // the drain is over: streams must end, connections close

    Status bind();
    Status serve();
    void stop();

private:
    class SocketStream;
    struct Job {
        std::shared_ptr<Conn> conn;
        HttpRequest req;
    };

    std::vector<Route> routes_;
    KeyChecker keys_;
    std::unordered_map<std::string, std::vector<size_t>> by_path_;

    int listen_fd_ = -1, epoll_fd_ = -1, wake_fd_ = -1;
    size_t max_conns_ = 0, max_per_client_ = 0;
    // Loop-only state.
    std::unordered_map<int, std::shared_ptr<Conn>> conns_;
    std::unordered_map<std::string, size_t> per_client_;
    Clock::time_point next_sweep_{};
    bool listener_paused_ = false;
    std::atomic<bool> trim_wanted_{false}; // requests ended since the last malloc_trim
    std::atomic<int64_t> last_end_ns_{0};  // when the last request ended (steady clock)

    // Shared, under mu_.
    std::deque<Job> jobs_;                       // admitted requests waiting for a worker
    std::vector<std::shared_ptr<Conn>> back_;    // connections workers handed back
    std::vector<std::shared_ptr<Conn>> serving_; // connections a worker holds (stop() cuts them)
    int in_flight_ = 0;                          // admitted requests not yet answered
    bool workers_quit_ = false;
    std::vector<std::thread> workers_;

    void wake() {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    }

    // ---- the loop ----
    void accept_all();
    void on_event(const std::shared_ptr<Conn>& c, uint32_t events);
    void progress(const std::shared_ptr<Conn>& c);
    void on_head(const std::shared_ptr<Conn>& c);
    void on_body_done(const std::shared_ptr<Conn>& c);
    void take_back();
    void sweep(Clock::time_point now);
    bool flush(Conn& c);
    void close_conn(int fd);
    void watch(Conn& c, bool add);
    void respond_from_loop(const std::shared_ptr<Conn>& c, const HttpResponse& r, bool close);
    void finish_request(Conn& c, int status, uint64_t bytes);

    // ---- checks ----
    std::optional<std::pair<HttpResponse, bool>> admit(Conn& c);
    HttpRequest make_request(Conn& c);
    std::vector<std::pair<std::string, std::string>> cors_headers(const RequestHead& h) const;
    std::string response_head(const Conn& c, const HttpResponse& r, bool close, bool chunked, size_t length) const;

    // ---- workers ----
    void worker();
    void serve_job(Job& job);
    void stop_workers() {
        {
            std::lock_guard lock(mu_);
            workers_quit_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_)
            if (t.joinable()) t.join();
        workers_.clear();
    }
    void log_request(const Conn& c, int status, uint64_t bytes);
};

// The Stream a streaming handler writes to: chunked encoding straight onto the socket (HTTP/1.0: the raw
// bytes, then a close), plus a cheap check that the peer is still there.
class Server::Impl::SocketStream final : public Stream {
public:
    SocketStream(Impl& impl, int fd, bool chunked) : impl_(impl), fd_(fd), chunked_(chunked) {}
    uint64_t bytes = 0;
    bool write(std::string_view chunk) override {
        if (!alive()) return false;
        if (chunk.empty()) return true; // an empty chunk would end the chunked body
        std::string frame;
        if (chunked_) {
            char size[24];
            std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
            frame.reserve(chunk.size() + 32);
            frame += size;
            frame += chunk;
            frame += "\r\n";
        }
        if (!send_all(fd_, chunked_ ? std::string_view(frame) : chunk, impl_.opts_.write_timeout)) {
            gone_ = true;
            return false;
        }
        bytes += chunk.size();
        return true;
    }
    bool alive() const override {
        if (gone_ || impl_.cancelled_) return false;
        pollfd p{fd_, POLLRDHUP, 0};
        if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) gone_ = true;
        return !gone_;
    }

private:
    Impl& impl_;
    int fd_;
    bool chunked_;
    mutable bool gone_ = false;
};

// ---- binding -------------------------------------------------------------------------------------------

Status Server::Impl::bind() {
    if (bound_) return Status::ok();
    if (opts_.port < 0 || opts_.port > 65535) return error("port " + std::to_string(opts_.port) + " is out of range");
    const std::string where = opts_.host + ":" + std::to_string(opts_.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(opts_.port);
    if (const int rc = ::getaddrinfo(opts_.host.c_str(), port.c_str(), &hints, &res); rc != 0)
        return error("cannot listen on " + where + ": " + gai_strerror(rc));
    int err = 0;
    for (addrinfo* ai = res; ai && listen_fd_ < 0; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        // SO_REUSEADDR only: SO_REUSEPORT would let a second process bind the same port and take connections.
        int yes = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
            err = errno;
            ::close(fd);
            continue;
        }
        listen_fd_ = fd;
    }
    ::freeaddrinfo(res);
    if (listen_fd_ < 0) return error("cannot listen on " + where + (err ? std::string(": ") + std::strerror(err) : ""));
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);

    // Connections need descriptors: raise the soft limit to the hard one, and keep 64 for everything else.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rlimit raised = rl;
            raised.rlim_cur = rl.rlim_max;
            if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
        }
    }
    const size_t fds = rl.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(rl.rlim_cur);
    max_conns_ = std::max<size_t>(8, std::min(opts_.max_connections, fds > 128 ? fds - 64 : fds / 2));
    max_per_client_ = std::max<size_t>(1, std::min(opts_.max_connections_per_client, max_conns_));

    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0)
        return error(std::string("cannot create the event loop: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.data.fd = wake_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    bound_ = true;
    return Status::ok();
}

// ---- the event loop ------------------------------------------------------------------------------------

Status Server::Impl::serve() {
    {
        std::lock_guard lock(mu_);
        if (stop_requested_) return Status::ok();
        loop_running_ = true;
        workers_quit_ = false;
        const int n = std::max(1, opts_.http_threads);
        for (int i = 0; i < n; ++i)
            workers_.emplace_back([this] { worker(); });
    }
    std::vector<epoll_event> events(256);
    Status result = Status::ok();
    for (;;) {
        {
            std::lock_guard lock(mu_);
            if (cancelled_ && stop_requested_) break;
        }
        const int n =
            ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), static_cast<int>(kTick.count()));
        if (n < 0 && errno != EINTR) {
            result = error(std::string("the event loop failed: ") + std::strerror(errno));
            break;
        }
        for (int i = 0; i < std::max(n, 0); ++i) {
            const int fd = events[static_cast<size_t>(i)].data.fd;
            if (fd == listen_fd_) {
                accept_all();
            } else if (fd == wake_fd_) {
                uint64_t v;
                [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof v);
            } else if (auto it = conns_.find(fd); it != conns_.end()) {
                on_event(it->second, events[static_cast<size_t>(i)].events);
            }
        }
        take_back();
        const auto now = Clock::now();
        if (now >= next_sweep_) {
            sweep(now);
            next_sweep_ = now + kTick;
        }
    }
    // The drain is over: close what the loop holds (connections handed back included); from here on a
    // worker closes the socket it holds itself when its handler returns.
    std::vector<int> to_close;
    {
        std::lock_guard lock(mu_);
        loop_running_ = false;
        for (auto& [fd, c] : conns_)
            if (std::find(serving_.begin(), serving_.end(), c) == serving_.end()) to_close.push_back(fd);
        back_.clear();
    }
    for (int fd : to_close)
        ::close(fd);
    conns_.clear();
    per_client_.clear();
    cv_.notify_all();
    stop_workers();
    return result;
}

// While a response waits to be sent, only writability is watched: a client that sends requests and reads no
// answers is not read from (its unread bytes would otherwise grow without bound).
void Server::Impl::watch(Conn& c, bool add) {
    epoll_event ev{};
    ev.events = c.out.empty() ? EPOLLIN | EPOLLRDHUP : EPOLLOUT;
    ev.data.fd = c.fd;
    ::epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
}

void Server::Impl::accept_all() {
    for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) { // out of descriptors: stop watching until the next sweep
                ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
                listener_paused_ = true;
            }
            return;
        }
        std::string remote = peer_address(ss);
        // Over a cap: evict the connection that has waited longest for a request (of this peer first).
        const bool client_full = per_client_[remote] >= max_per_client_;
        if (client_full || conns_.size() >= max_conns_) {
            int victim = -1;
            Clock::time_point oldest = Clock::time_point::max();
            for (const auto& [vfd, v] : conns_) {
                if (v->state != Conn::State::Head && v->state != Conn::State::Lingering) continue;
                if (client_full && v->remote != remote) continue;
                if (v->waiting_since < oldest) {
                    oldest = v->waiting_since;
                    victim = vfd;
                }
            }
            if (victim < 0) {
                ::close(fd);
                if (opts_.metrics) opts_.metrics->connection_refused();
                continue;
            }
            close_conn(victim);
            if (opts_.metrics) opts_.metrics->connection_evicted();
        }
        int yes = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        auto c = std::make_shared<Conn>();
        c->fd = fd;
        c->remote = std::move(remote);
        c->waiting_since = Clock::now();
        c->deadline = c->waiting_since + opts_.header_timeout;
        {
            std::lock_guard lock(mu_);
            if (cancelled_) c->cut = true;
        }
        ++per_client_[c->remote];
        conns_.emplace(fd, c);
        watch(*c, true);
        if (opts_.metrics) opts_.metrics->set_open_connections(conns_.size());
    }
}

void Server::Impl::close_conn(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    if (c.admitted) { // a request read in part, never answered
        std::lock_guard lock(mu_);
        --in_flight_;
        c.admitted = false;
    }
    cv_.notify_all();
    if (auto pc = per_client_.find(c.remote); pc != per_client_.end() && --pc->second == 0) per_client_.erase(pc);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_.erase(it);
    if (opts_.metrics) opts_.metrics->set_open_connections(conns_.size());
}

void Server::Impl::on_event(const std::shared_ptr<Conn>& c, uint32_t events) {
    const int fd = c->fd;
    if (events & EPOLLOUT) {
        if (!flush(*c)) return close_conn(fd);
        if (!c->out.empty()) return;
        if (c->close_when_sent && !c->linger_when_sent) return close_conn(fd);
        if (c->linger_when_sent) {
            ::shutdown(fd, SHUT_WR);
            c->state = Conn::State::Lingering;
            c->deadline = Clock::now() + kLinger;
            c->close_when_sent = c->linger_when_sent = false;
        }
        watch(*c, false);
        if (c->state != Conn::State::Lingering && !c->in.empty()) progress(c); // bytes that waited for the send
        if (!conns_.count(fd)) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        char buf[kReadChunk];
        bool eof = false;
        for (size_t total = 0; total < kReadChunk;) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n > 0) {
                total += static_cast<size_t>(n);
                if (c->state == Conn::State::Lingering) {
                    c->lingered += static_cast<size_t>(n);
                    if (c->lingered > kLingerMaxBytes) eof = true;
                } else {
                    if (c->in.empty() && c->state == Conn::State::Head && c->served > 0)
                        c->deadline = Clock::now() + opts_.header_timeout; // the next request's head begins
                    c->in.append(buf, static_cast<size_t>(n));
                }
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            eof = true; // 0: the peer closed; < 0: reset
            break;
        }
        if (eof && (c->state == Conn::State::Lingering || c->in.empty() || !c->out.empty())) return close_conn(fd);
        if (c->state == Conn::State::Lingering) return;
        progress(c);
        // A peer that half-closed after a complete request still gets its answer; otherwise it is gone.
        if (eof && conns_.count(fd) && c->state != Conn::State::Serving && c->out.empty()) close_conn(fd);
    }
}

// Moves a connection forward with the bytes it has: parse the head, read the body, dispatch.
void Server::Impl::progress(const std::shared_ptr<Conn>& c) {
    while (conns_.count(c->fd) && c->out.empty() && !c->close_when_sent) {
        if (c->state == Conn::State::Head) {
            if (c->in.empty()) {
                if (c->in.capacity() > 4096) std::string().swap(c->in);
                return;
            }
            HeadLimits limits;
            const HeadResult r = parse_head(c->in, limits, c->head);
            if (r.kind == HeadResult::Incomplete) return;
            c->start = Clock::now();
            c->route = nullptr;
            c->route_label = "unmatched";
            if (r.kind == HeadResult::Error) {
                c->head.method.clear();
                respond_from_loop(
                    c, error_response(r.error.status, r.error.message, "invalid_request_error", "bad_request"), true);
                return;
            }
            c->in.erase(0, r.consumed);
            on_head(c);
        } else if (c->state == Conn::State::Body) {
            if (c->chunked) {
                const auto r = c->chunked->feed(c->in, c->body);
                c->in.erase(0, r.consumed);
                if (r.error) {
                    const bool too_large = r.error->status == 413;
                    respond_from_loop(c,
                                      error_response(r.error->status, r.error->message, "invalid_request_error",
                                                     too_large ? "request_too_large" : "bad_request"),
                                      true);
                    return;
                }
                if (!r.done) return;
            } else {
                const size_t want = c->head.content_length - c->body.size();
                const size_t take = std::min(want, c->in.size());
                c->body.append(c->in, 0, take);
                c->in.erase(0, take);
                if (c->body.size() < c->head.content_length) return;
            }
            on_body_done(c);
        } else {
            return;
        }
    }
}

void Server::Impl::on_head(const std::shared_ptr<Conn>& c) {
    c->body.clear();
    c->chunked.reset();
    if (auto refused = admit(*c)) return respond_from_loop(c, refused->first, refused->second);
    const bool has_body = c->head.chunked || c->head.content_length > 0;
    if (!has_body) return on_body_done(c);
    c->state = Conn::State::Body;
    c->deadline = Clock::now() + opts_.body_timeout;
    if (c->head.chunked) c->chunked.emplace(opts_.max_body_bytes);
    if (c->head.expect_continue && c->in.empty()) {
        c->out = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!flush(*c)) return close_conn(c->fd);
        if (!c->out.empty()) watch(*c, false);
    }
}

void Server::Impl::on_body_done(const std::shared_ptr<Conn>& c) {
    HttpRequest req = make_request(*c);
    if (c->route->inline_io) { // cheap routes are answered here, even when every worker is busy
        HttpResponse r = c->route->handler(req);
        return respond_from_loop(c, r, false);
    }
    c->state = Conn::State::Serving;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
    {
        std::lock_guard lock(mu_);
        serving_.push_back(c);
        jobs_.push_back(Job{c, std::move(req)});
    }
    cv_.notify_all();
}

// Answers from the loop: queue the response, send what the socket takes now, and wait for EPOLLOUT for the
// rest. `close`: the connection ends after it (lingering when the request's body was left unread).
void Server::Impl::respond_from_loop(const std::shared_ptr<Conn>& c, const HttpResponse& r, bool close) {
    Conn& conn = *c;
    close = close || !conn.head.keep_alive || draining_ || conn.served + 1 >= kKeepAliveMaxRequests;
    for (const auto& [k, v] : r.headers)
        if (lower(k) == "connection" && lower(v) == "close") close = true;
    const bool head_only = conn.head.method == "HEAD" || r.status == 204;
    conn.out += response_head(conn, r, close, false, r.body.size());
    if (!head_only) conn.out += r.body;
    finish_request(conn, r.status, r.body.size());
    conn.state = Conn::State::Head;
    conn.body.clear();
    conn.chunked.reset();
    if (close) {
        conn.close_when_sent = true;
        // Unread bytes (a body we refused, pipelined requests): linger so the client sees the response
        // before a FIN rather than a reset that could destroy it.
        conn.linger_when_sent = true;
        conn.in.clear();
    }
    if (!flush(conn)) return close_conn(conn.fd);
    if (conn.out.empty() && close) {
        ::shutdown(conn.fd, SHUT_WR);
        conn.state = Conn::State::Lingering;
        conn.deadline = Clock::now() + kLinger;
        conn.close_when_sent = conn.linger_when_sent = false;
    } else if (conn.out.empty()) {
        conn.waiting_since = Clock::now();
        conn.deadline =
            conn.in.empty() ? conn.waiting_since + opts_.keep_alive_timeout : conn.waiting_since + opts_.header_timeout;
    } else {
        conn.deadline = Clock::now() + opts_.write_timeout;
    }
    watch(conn, false);
}

bool Server::Impl::flush(Conn& c) {
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            c.out.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        return false;
    }
    if (c.out.capacity() > 4096) std::string().swap(c.out);
    if (!c.close_when_sent && c.state == Conn::State::Head) {
        c.waiting_since = Clock::now();
        c.deadline = c.waiting_since + opts_.keep_alive_timeout;
    }
    return true;
}

// Connections workers are done with: back into the loop (or closed).
void Server::Impl::take_back() {
    std::vector<std::shared_ptr<Conn>> back;
    {
        std::lock_guard lock(mu_);
        back.swap(back_);
    }
    for (auto& c : back) {
        if (c->finished) {
            c->finished = false;
            c->state = Conn::State::Head;
            close_conn(c->fd);
            continue;
        }
        if (c->close_when_sent) {
            c->close_when_sent = false;
            ::shutdown(c->fd, SHUT_WR);
            c->state = Conn::State::Lingering;
            c->deadline = Clock::now() + kLinger;
            watch(*c, true);
            continue;
        }
        c->state = Conn::State::Head;
        c->waiting_since = Clock::now();
        c->deadline =
            c->in.empty() ? c->waiting_since + opts_.keep_alive_timeout : c->waiting_since + opts_.header_timeout;
        watch(*c, true);
        progress(c); // pipelined bytes
    }
}

void Server::Impl::sweep(Clock::time_point now) {
    if (listener_paused_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = listen_fd_;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
        listener_paused_ = false;
    }
    // Memory freed by requests goes back to the system once the server is idle for a second: without this,
    // glibc keeps what 32 workers' arenas once held (parsing 32 large JSON bodies at once left 2 GB).
    if (trim_wanted_ && now.time_since_epoch().count() - last_end_ns_.load() > int64_t{1'000'000'000}) {
        bool idle = false;
        {
            std::lock_guard lock(mu_);
            idle = in_flight_ == 0;
        }
        if (idle) {
            trim_wanted_ = false;
            ::malloc_trim(0);
        }
    }
    std::vector<int> expired;
    for (auto& [fd, c] : conns_) {
        if (c->state == Conn::State::Serving) continue;
        const bool idle = c->state == Conn::State::Head && c->in.empty() && c->out.empty();
        if (now >= c->deadline || (draining_ && idle)) expired.push_back(fd);
    }
    for (int fd : expired) {
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        auto c = it->second;
        // A request cut by its time limit gets a 408 when the socket takes it at once; otherwise just the close.
        if (c->out.empty() && !c->close_when_sent &&
            ((c->state == Conn::State::Head && !c->in.empty()) || c->state == Conn::State::Body)) {
            if (c->state == Conn::State::Head) {
                c->head = RequestHead{};
                c->route_label = "unmatched";
                c->start = c->waiting_since;
            }
            const HttpResponse r =
                error_response(408, "the request was not received in time", "invalid_request_error", "request_timeout");
            c->out = response_head(*c, r, true, false, r.body.size()) + r.body;
            finish_request(*c, 408, r.body.size());
            (void)flush(*c);
        }
        close_conn(fd);
    }
}

void Server::Impl::finish_request(Conn& c, int status, uint64_t bytes) {
    log_request(c, status, bytes);
    last_end_ns_.store(Clock::now().time_since_epoch().count());
    trim_wanted_.store(true);
    ++c.served;
    if (c.admitted) {
        {
            std::lock_guard lock(mu_);
            --in_flight_;
        }
        c.admitted = false;
        cv_.notify_all();
    }
}

// ---- checks --------------------------------------------------------------------------------------------

// The checks of server.h, in order. nullopt: admitted (counted in in_flight_); else the response and whether
// the connection must close after it (its body left unread).
std::optional<std::pair<HttpResponse, bool>> Server::Impl::admit(Conn& c) {
    const RequestHead& h = c.head;
    const bool has_body = h.chunked || h.content_length > 0;
    const bool unread = has_body;
    const auto refuse = [&](int status, std::string_view msg, std::string_view type, std::string_view code) {
        return std::make_optional(std::make_pair(error_response(status, msg, type, code), unread));
    };
    const auto shutting_down = [&] {
        HttpResponse r = error_response(503, "the server is shutting down", "server_error", "shutting_down");
        r.headers.emplace_back("Retry-After", kRetryAfterDrain);
        return std::make_optional(std::make_pair(std::move(r), true));
    };
    if (draining_) return shutting_down();
    if (h.count("host") > 1 || h.count("authorization") > 1)
        return refuse(400, "repeated Host or Authorization header", "invalid_request_error", "bad_request");
    const auto host = h.field("host");
    if (!host || host->empty()) return refuse(400, "missing Host header", "invalid_request_error", "bad_request");
    if (opts_.security.check_host && !host_allowed(*host, opts_.security.allow_hosts))
        return refuse(403, "Host '" + std::string(*host) + "' is not allowed (add it with --allow-host)",
                      "invalid_request_error", "host_not_allowed");
    if (h.content_length > opts_.max_body_bytes)
        return refuse(413, "the request body is larger than " + std::to_string(opts_.max_body_bytes) + " bytes",
                      "invalid_request_error", "request_too_large");
    const bool bodyless = h.method == "GET" || h.method == "HEAD" || h.method == "OPTIONS";
    if (bodyless && has_body) return refuse(400, h.method + " requests have no body", "invalid_request_error", "");
    if (auto ce = h.field("content-encoding"); ce && lower(std::string(*ce)) != "identity")
        return refuse(415, "compressed request bodies are not supported", "invalid_request_error", "");
    if (lower(std::string(h.field("content-type").value_or(""))).rfind("multipart/", 0) == 0)
        return refuse(415, "multipart request bodies are not supported", "invalid_request_error", "");
    if (auto origin = h.field("origin"); origin && !origin_allowed(*origin, *host, opts_.security.cors_origins))
        return refuse(403, "Origin '" + std::string(*origin) + "' is not allowed (add it with --cors-origin)",
                      "invalid_request_error", "origin_not_allowed");

    const auto found = by_path_.find(h.path);
    if (found == by_path_.end()) return refuse(404, "no route " + h.path, "invalid_request_error", "not_found");
    std::string allow;
    const Route* route = nullptr;
    const std::string method = h.method == "HEAD" ? "GET" : h.method;
    for (size_t i : found->second) {
        allow += (allow.empty() ? "" : ", ") + routes_[i].method;
        if (routes_[i].method == method) route = &routes_[i];
    }
    allow += ", OPTIONS";
    if (h.method == "OPTIONS") { // CORS preflight or a plain OPTIONS: answered here, no key needed
        HttpResponse r;
        r.status = 204;
        r.headers.emplace_back("Allow", allow);
        if (h.field("origin") && h.field("access-control-request-method")) {
            r.headers.emplace_back("Access-Control-Allow-Methods", allow);
            const std::string wanted(h.field("access-control-request-headers").value_or(""));
            const bool tokens = std::all_of(wanted.begin(), wanted.end(), [](char ch) {
                return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == ',' || ch == ' ';
            });
            r.headers.emplace_back("Access-Control-Allow-Headers",
                                   tokens && !wanted.empty() ? wanted : "Authorization, Content-Type");
            r.headers.emplace_back("Access-Control-Max-Age", "600");
        }
        return std::make_optional(std::make_pair(std::move(r), unread));
    }
    if (!route) {
        auto r = refuse(405, h.method + " is not allowed on " + h.path, "invalid_request_error", "method_not_allowed");
        r->first.headers.emplace_back("Allow", allow);
        return r;
    }
    c.route_label = route->path;

    std::string auth;
    if (auto a = h.field("authorization")) auth = std::string(*a);
    const auto unauthorized = [&](std::string_view msg) {
        auto r = refuse(401, msg, "invalid_request_error", "invalid_api_key");
        r->first.headers.emplace_back("WWW-Authenticate", "Bearer");
        return r;
    };
    switch (keys_.check(route->access, h.field("authorization") ? &auth : nullptr)) {
    case KeyChecker::Verdict::Ok:
        break;
    case KeyChecker::Verdict::Missing:
        return unauthorized("missing API key: send Authorization: Bearer <key>");
    case KeyChecker::Verdict::Wrong:
        return unauthorized("incorrect API key");
    case KeyChecker::Verdict::NeedsManagementKey:
        return unauthorized("this route needs the management key");
    }
    {
        std::lock_guard lock(mu_);
        if (draining_) return shutting_down(); // stop() began while we checked: refuse rather than race its wait
        ++in_flight_;
    }
    c.admitted = true;
    c.route = route;
    return std::nullopt;
}

HttpRequest Server::Impl::make_request(Conn& c) {
    HttpRequest hr;
    hr.method = c.head.method == "HEAD" ? "GET" : c.head.method;
    hr.path = c.head.path;
    hr.remote = c.remote;
    for (auto& [k, v] : c.head.fields)
        hr.headers.emplace(k, v);
    for (auto& [k, v] : c.head.query)
        hr.query.emplace(k, v);
    hr.body = std::move(c.body);
    c.body.clear();
    return hr;
}

std::vector<std::pair<std::string, std::string>> Server::Impl::cors_headers(const RequestHead& h) const {
    const auto origin = h.field("origin");
    if (!origin) return {};
    const auto& allowed = opts_.security.cors_origins;
    if (std::find(allowed.begin(), allowed.end(), *origin) == allowed.end()) return {};
    return {{"Access-Control-Allow-Origin", std::string(*origin)}, {"Vary", "Origin"}};
}

std::string Server::Impl::response_head(const Conn& c, const HttpResponse& r, bool close, bool chunked,
                                        size_t length) const {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
    out += "Date: " + http_date() + "\r\n";
    if (r.status != 204 && r.status != 304) { // neither has content (RFC 9110 15.3.5, 15.4.5)
        out += "Content-Type: " + (header_safe(r.content_type) ? r.content_type : "application/octet-stream") + "\r\n";
        out += chunked ? std::string("Transfer-Encoding: chunked\r\n")
                       : "Content-Length: " + std::to_string(length) + "\r\n";
    }
    out += "X-Content-Type-Options: nosniff\r\n";
    for (const auto& [k, v] : r.headers) {
        if (!header_safe(k) || !header_safe(v) || lower(k) == "connection") continue;
        out += k + ": " + v + "\r\n";
    }
    for (const auto& [k, v] : cors_headers(c.head))
        out += k + ": " + v + "\r\n";
    out += close ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
    out += "\r\n";
    return out;
}

// ---- workers -------------------------------------------------------------------------------------------

void Server::Impl::worker() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return workers_quit_ || !jobs_.empty(); });
            if (jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        serve_job(job);
    }
}

void Server::Impl::serve_job(Job& job) {
    Conn& c = *job.conn;
    if (opts_.log_prompts) c.logged_body = job.req.body.substr(0, kLoggedBodyMax);
    HttpResponse r;
    try {
        r = c.route->handler(job.req);
    } catch (const std::exception& e) {
        r = error_response(500, std::string("internal server error: ") + e.what(), "server_error", "");
    }
    bool close = !c.head.keep_alive || draining_ || c.served + 1 >= kKeepAliveMaxRequests;
    for (const auto& [k, v] : r.headers)
        if (lower(k) == "connection" && lower(v) == "close") close = true;
    const bool head_only = c.head.method == "HEAD" || r.status == 204;
    bool ok = true;
    uint64_t bytes = 0;
    if (!r.stream || head_only) {
        std::string out = response_head(c, r, close, false, r.body.size());
        if (!head_only) out += r.body;
        ok = send_all(c.fd, out, opts_.write_timeout);
        bytes = r.body.size();
    } else {
        const bool chunked = c.head.minor == 1;
        close = close || !chunked; // HTTP/1.0: the close ends the body
        SocketStream s(*this, c.fd, chunked);
        ok = send_all(c.fd, response_head(c, r, close, chunked, 0), opts_.write_timeout);
        if (ok) {
            try {
                r.stream(s);
            } catch (const std::exception& e) {
                std::cerr << "hearth: error: a streaming handler failed: " << e.what() << "\n";
                ok = false; // the body is incomplete: only the close can say so
            }
            ok = ok && s.alive();
            if (ok && chunked) ok = send_all(c.fd, "0\r\n\r\n", opts_.write_timeout);
        }
        bytes = s.bytes;
    }
    finish_request(c, r.status, bytes);
    c.logged_body.clear();
    bool loop_alive = false;
    {
        std::lock_guard lock(mu_);
        serving_.erase(std::remove(serving_.begin(), serving_.end(), job.conn), serving_.end());
        loop_alive = loop_running_ && !cancelled_;
        if (ok && !c.cut && loop_alive) {
            c.close_when_sent = close;
            back_.push_back(job.conn);
        }
    }
    if (ok && !c.cut && loop_alive) {
        wake();
        return;
    }
    // The connection ends here (a failed send, a cut, an incomplete stream): the loop drops its bookkeeping
    // and closes it, or, when the loop has ended, this worker does.
    ::shutdown(c.fd, SHUT_RDWR);
    std::lock_guard lock(mu_);
    if (loop_running_) {
        c.finished = true;
        back_.push_back(job.conn);
        wake();
    } else {
        ::close(c.fd);
        c.fd = -1;
    }
}

void Server::Impl::log_request(const Conn& c, int status, uint64_t bytes) {
    const double seconds = std::chrono::duration<double>(Clock::now() - c.start).count();
    if (opts_.metrics) opts_.metrics->record(c.route_label, metric_method(c.head.method), status, seconds);
    nlohmann::json line = {{"time", utc_now_millis()},
                           {"method", c.head.method},
                           {"path", c.head.path},
                           {"status", status},
                           {"duration_ms", std::round(seconds * 1e4) / 10},
                           {"remote", c.remote},
                           {"bytes", bytes}};
    if (opts_.log_prompts && !c.logged_body.empty()) line["body"] = c.logged_body;
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (opts_.access_log)
        opts_.access_log(text);
    else
        std::cerr << text + "\n" << std::flush;
}

void Server::Impl::stop() {
    {
        std::lock_guard lock(mu_);
        stop_requested_ = true;
    }
    draining_ = true;
    wake();
    {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, opts_.drain_timeout, [&] { return in_flight_ == 0; });
        // The drain is over: blocked sends and reads of the connections workers hold fail at once.
        cancelled_ = true;
        for (auto& c : serving_)
            if (!c->cut && c->fd >= 0) {
                ::shutdown(c->fd, SHUT_RDWR);
                c->cut = true;
            }
        cv_.wait_for(lock, kAfterCutWait, [&] { return in_flight_ == 0; });
    }
    wake();
}

// ---- Server --------------------------------------------------------------------------------------------

Server::Server(ServerOptions opts, std::vector<Route> routes)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(routes))) {}

Server::~Server() = default;

Status Server::bind() {
    return impl_->bind();
}

Status Server::listen() {
    HEARTH_TRY(impl_->bind());
    return impl_->serve();
}

void Server::stop() {
    impl_->stop();
}

int Server::port() const {
    return impl_->port_;
}

bool Server::draining() const {
    return impl_->draining_;
}

} // namespace hearth::server
