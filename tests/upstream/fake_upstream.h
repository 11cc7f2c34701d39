// tests/upstream/fake_upstream.h: a fault-injecting OpenAI-compatible server for tests (header-only).
//
// A loopback HTTP/1.1 server on raw sockets: it listens on 127.0.0.1 with an ephemeral port, serves every
// POST (meant for /v1/chat/completions) from its own threads, answers one request per connection and then
// closes it. What it answers is set by FakeConfig::mode. It records every byte it receives (request heads
// and bodies, all connections) so a test can check what left the client. The destructor stops it within
// about 100 ms: every wait polls a stop flag.
//
//   FakeUpstream up({.mode = FakeMode::Ok, .chunks = {"Hel", "lo"}});
//   Endpoint ep{.name = "fake", .base_url = up.base_url(), .allow_insecure = true};
//
// Modes: Ok (a JSON answer, or when the request body says "stream": true an SSE stream of `chunks` then
// [DONE]), Hang (reads the request, never answers), Http500, Malformed (broken JSON, or a broken SSE chunk
// when streaming), Endless (an SSE stream that never ends), Trickle (a normal answer: the head at once,
// then the body one byte every trickle_ms), Oversized (a 200 JSON answer of oversized_bytes), Redirect (302 to
// redirect_to), Raw (sends `raw` as is: any status, headers and body a test wants). Down is not a mode: refused_port()
// gives a port where nothing listens.
#pragma once

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace hearth::test {

// Echo: streams back the request's message contents (joined by "\n") in pieces of echo_piece bytes (never
// inside a UTF-8 character), so a test can check placeholders come back and are restored.
enum class FakeMode { Ok, Hang, Http500, Malformed, Endless, Trickle, Oversized, Redirect, Raw, Echo };

struct FakeConfig {
    FakeMode mode = FakeMode::Ok;
    std::vector<std::string> chunks = {"Hello", ", ", "world"}; // Ok/Trickle: streamed content pieces
    std::string finish_reason = "stop";
    size_t write_size = 0; // > 0: send responses in writes of this many bytes (splits lines and UTF-8)
    int trickle_ms = 20;   // Trickle: the pause between bytes
    size_t oversized_bytes = 4u << 20;
    std::string redirect_to = "http://127.0.0.1:9/v1/chat/completions";
    std::string raw;       // Raw: the whole response
    size_t echo_piece = 5; // Echo: bytes per streamed piece
};

// One request as received.
struct FakeRequest {
    std::string head; // request line and headers, up to and including the blank line
    std::string body;
};

class FakeUpstream {
public:
    explicit FakeUpstream(FakeConfig cfg = {}) : cfg_(std::move(cfg)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return; // port() stays 0: the test's requests fail to connect
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FakeUpstream() {
        stop_ = true;
        if (acceptor_.joinable()) acceptor_.join();
        std::vector<std::thread> workers;
        {
            std::lock_guard lock(mu_);
            workers.swap(workers_);
        }
        for (auto& t : workers)
            t.join();
        if (listen_fd_ >= 0) ::close(listen_fd_);
    }
    FakeUpstream(const FakeUpstream&) = delete;
    FakeUpstream& operator=(const FakeUpstream&) = delete;

    int port() const { return port_; }
    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
    // Every byte received so far, all connections in arrival order of their requests.
    std::string received() const {
        std::lock_guard lock(mu_);
        return received_;
    }
    std::vector<FakeRequest> requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }
    int connections() const { return connections_.load(); }

    // A loopback port where nothing listens (bound, then closed without listen): connecting is refused.
    static int refused_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        int port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port = ntohs(a.sin_port);
        ::close(fd);
        return port;
    }

    // The SSE bytes of one chunk carrying `content` (and finish_reason when not empty).
    static std::string sse_chunk(const std::string& content, const std::string& finish_reason = "") {
        nlohmann::json c = {{"id", "chatcmpl-fake"},
                            {"object", "chat.completion.chunk"},
                            {"model", "fake-model"},
                            {"choices", {{{"index", 0}, {"delta", {{"content", content}}}}}}};
        c["choices"][0]["finish_reason"] = finish_reason.empty() ? nlohmann::json() : nlohmann::json(finish_reason);
        return "data: " + c.dump() + "\n\n";
    }
    static std::string json_answer(const std::string& content, const std::string& finish_reason = "stop") {
        nlohmann::json a = {{"id", "chatcmpl-fake"},
                            {"object", "chat.completion"},
                            {"model", "fake-model"},
                            {"choices",
                             {{{"index", 0},
                               {"message", {{"role", "assistant"}, {"content", content}}},
                               {"finish_reason", finish_reason}}}},
                            {"usage", {{"prompt_tokens", 7}, {"completion_tokens", 3}, {"total_tokens", 10}}}};
        return a.dump();
    }
    static std::string http(int status, const std::string& content_type, const std::string& body,
                            const std::string& extra_headers = "") {
        return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
               "Connection: close\r\n\r\n" + body;
    }

private:
    using Clock = std::chrono::steady_clock;

    void accept_loop() {
        while (!stop_) {
            pollfd p{listen_fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            ++connections_;
            std::lock_guard lock(mu_);
            workers_.emplace_back([this, fd] {
                serve(fd);
                ::close(fd);
            });
        }
    }

    // Waits up to `ms` for the socket to be readable or writable; false when stopping or on error.
    bool wait(int fd, short events, int ms) {
        const auto end = Clock::now() + std::chrono::milliseconds(ms);
        while (!stop_ && Clock::now() < end) {
            pollfd p{fd, events, 0};
            const int r = ::poll(&p, 1, 20);
            if (r < 0) return false;
            if (r > 0) return (p.revents & events) != 0;
        }
        return false;
    }

    bool send_all(int fd, std::string_view data) {
        while (!data.empty()) {
            if (!wait(fd, POLLOUT, 5000)) return false;
            const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    // Sends in writes of write_size bytes (a short pause between them, so they arrive as separate reads).
    bool send_split(int fd, std::string_view data) {
        if (cfg_.write_size == 0) return send_all(fd, data);
        for (size_t at = 0; at < data.size(); at += cfg_.write_size) {
            if (!send_all(fd, data.substr(at, cfg_.write_size))) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return true;
    }

    // Reads one request (head and Content-Length body) within 5 s; records every byte.
    bool read_request(int fd, FakeRequest& req) {
        std::string buf;
        const auto end = Clock::now() + std::chrono::seconds(5);
        size_t head_end = std::string::npos, want = 0;
        while (Clock::now() < end) {
            if (head_end != std::string::npos && buf.size() >= head_end + want) break;
            if (!wait(fd, POLLIN, 100)) {
                if (stop_) return false;
                continue;
            }
            char tmp[16384];
            const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
            if (n <= 0) return false;
            buf.append(tmp, static_cast<size_t>(n));
            {
                std::lock_guard lock(mu_);
                received_.append(tmp, static_cast<size_t>(n));
            }
            if (buf[0] == '\x16') return false; // a TLS ClientHello: this server speaks plain HTTP, hang up
            if (head_end == std::string::npos && (head_end = buf.find("\r\n\r\n")) != std::string::npos) {
                head_end += 4;
                std::string lower = buf.substr(0, head_end);
                for (char& c : lower)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                const size_t cl = lower.find("\r\ncontent-length:");
                if (cl != std::string::npos) want = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
            }
        }
        if (head_end == std::string::npos || buf.size() < head_end + want) return false;
        req.head = buf.substr(0, head_end);
        req.body = buf.substr(head_end, want);
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        return true;
    }

    static bool wants_stream(const FakeRequest& req) {
        const auto j = nlohmann::json::parse(req.body, nullptr, false);
        return j.is_object() && j.value("stream", false);
    }

    std::string ok_response(bool stream) const {
        if (!stream) {
            std::string all;
            for (const auto& c : cfg_.chunks)
                all += c;
            return http(200, "application/json", json_answer(all, cfg_.finish_reason));
        }
        std::string body;
        for (size_t i = 0; i < cfg_.chunks.size(); ++i)
            body += sse_chunk(cfg_.chunks[i], i + 1 == cfg_.chunks.size() ? cfg_.finish_reason : "");
        body += "data: [DONE]\n\n";
        return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               "Connection: close\r\n\r\n" +
               body;
    }

    void serve(int fd) {
        FakeRequest req;
        if (!read_request(fd, req)) return;
        const bool stream = wants_stream(req);
        switch (cfg_.mode) {
        case FakeMode::Ok:
            send_split(fd, ok_response(stream));
            return;
        case FakeMode::Hang:
            while (!stop_ && wait(fd, POLLIN, 50) == false) {
            }
            return;
        case FakeMode::Http500:
            send_all(fd, http(500, "application/json", R"({"error":{"message":"internal failure"}})"));
            return;
        case FakeMode::Malformed:
            if (stream)
                send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" +
                                 sse_chunk("fine") + "data: {\"choices\": [{\"delta\": \n\n");
            else
                send_all(fd, http(200, "application/json", R"({"choices": [{"message": )"));
            return;
        case FakeMode::Endless: {
            if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"))
                return;
            const std::string chunk = sse_chunk("more and more text ");
            while (!stop_ && send_all(fd, chunk)) {
            }
            return;
        }
        case FakeMode::Trickle: { // the head at once, then the body one byte at a time
            const std::string all = ok_response(stream);
            const size_t body_at = all.find("\r\n\r\n") + 4;
            if (!send_all(fd, std::string_view(all).substr(0, body_at))) return;
            for (size_t i = body_at; i < all.size(); ++i) {
                if (!send_all(fd, std::string_view(all).substr(i, 1))) return;
                for (int waited = 0; waited < cfg_.trickle_ms && !stop_; waited += 5)
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                if (stop_) return;
            }
            return;
        }
        case FakeMode::Oversized:
            send_all(fd, http(200, "application/json", json_answer(std::string(cfg_.oversized_bytes, 'x'))));
            return;
        case FakeMode::Redirect:
            send_all(fd, "HTTP/1.1 302 Found\r\nLocation: " + cfg_.redirect_to +
                             "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        case FakeMode::Raw:
            send_split(fd, cfg_.raw);
            return;
        case FakeMode::Echo: {
            const auto j = nlohmann::json::parse(req.body, nullptr, false);
            std::string all;
            if (j.is_object() && j.contains("messages") && j["messages"].is_array())
                for (const auto& m : j["messages"])
                    if (m.is_object() && m.contains("content") && m["content"].is_string())
                        all += (all.empty() ? "" : "\n") + m["content"].get<std::string>();
            std::string body;
            for (size_t i = 0; i < all.size();) {
                size_t n = std::min(std::max<size_t>(cfg_.echo_piece, 1), all.size() - i);
                while (i + n < all.size() && (static_cast<unsigned char>(all[i + n]) & 0xC0) == 0x80)
                    ++n;
                body += sse_chunk(all.substr(i, n));
                i += n;
            }
            body += sse_chunk("", "stop") + "data: [DONE]\n\n";
            send_split(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body);
            return;
        }
        }
    }

    FakeConfig cfg_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread acceptor_;
    mutable std::mutex mu_;
    std::vector<std::thread> workers_;
    std::vector<FakeRequest> requests_;
    std::string received_;
};

// A loopback listener that never accepts, with its accept queue already full: the kernel drops further
// SYNs, so connecting to port() hangs until the client's connect timeout (the "unreachable host" fault).
class FullBacklog {
public:
    FullBacklog() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 0) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return;
        port_ = ntohs(a.sin_port);
        // Linux queues backlog + 1 connections; fill the queue (a few more do no harm).
        for (int i = 0; i < 3; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            (void)::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
            fillers_.push_back(fd);
        }
    }
    ~FullBacklog() {
        for (int fd : fillers_)
            ::close(fd);
        ::close(listen_fd_);
    }
    FullBacklog(const FullBacklog&) = delete;
    FullBacklog& operator=(const FullBacklog&) = delete;
    int port() const { return port_; }

private:
    int listen_fd_ = -1;
    int port_ = 0;
    std::vector<int> fillers_;
};

} // namespace hearth::test
