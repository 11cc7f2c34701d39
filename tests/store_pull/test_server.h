// tests/store_pull/test_server.h: a real HTTP server on 127.0.0.1 (cpp-httplib, ephemeral port) for
// the pull tests, with the misbehaviours downloads must survive: Range ignored, a connection cut
// mid-body, a slow trickle, a stall, 5xx answers and redirects. It can send an ETag and honours
// If-Range the way RFC 9110 says (a validator that does not match gets the whole body, 200). It counts
// requests and records the Range, If-Range and Authorization headers it saw.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <httplib.h>
#include <mutex>
#include <openssl/evp.h>
#include <string>
#include <thread>
#include <vector>

namespace hearth::test {

// The expected digest of test data, straight from OpenSSL (not through the code under test).
inline std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

struct Seen {
    std::string path, range, if_range, authorization;
};

struct ServeOptions {
    bool honor_range = true;  // false: always 200 with the whole body
    int64_t cut_after = -1;   // >= 0: close the connection after this many body bytes
    size_t chunk = 64 * 1024; // bytes per write
    int delay_ms = 0;         // pause between writes (a trickle)
    int64_t stall_after = -1; // >= 0: after this many body bytes, stall for stall_ms
    int stall_ms = 0;
    std::string etag;           // non-empty: sent as ETag, and a Range whose If-Range differs is ignored
    bool honor_if_range = true; // false: a broken server that serves the range whatever If-Range says
};

class TestServer {
public:
    TestServer() {
        srv_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
            std::lock_guard<std::mutex> lock(mu_);
            seen_.push_back({req.path, req.get_header_value("Range"), req.get_header_value("If-Range"),
                             req.get_header_value("Authorization")});
            return httplib::Server::HandlerResponse::Unhandled;
        });
    }
    ~TestServer() { stop(); }

    httplib::Server& srv() { return srv_; }

    void start() {
        port_ = srv_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { srv_.listen_after_bind(); });
        while (!srv_.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) {
            srv_.stop();
            thread_.join();
        }
    }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& path) const { return base() + path; }
    int port() const { return port_; }

    std::vector<Seen> seen() {
        std::lock_guard<std::mutex> lock(mu_);
        return seen_;
    }
    size_t requests() { return seen().size(); }
    size_t requests_for(const std::string& path) {
        size_t n = 0;
        for (const Seen& s : seen())
            n += s.path == path;
        return n;
    }

    // Answers `req` with `data` (or the part a "Range: bytes=N-" asks for) under `o`'s behaviour.
    // httplib would apply Range itself; the test serves ranges by hand to control the answers, so it
    // clears the parsed ranges first.
    void serve(const httplib::Request& req, httplib::Response& res, const std::string& data,
               const ServeOptions& o = {}) {
        const_cast<httplib::Request&>(req).ranges.clear();
        size_t start = 0;
        const std::string range = req.get_header_value("Range");
        // If-Range: serve the range only when the client's validator is the current one.
        const bool if_range_ok =
            !o.honor_if_range || !req.has_header("If-Range") || req.get_header_value("If-Range") == o.etag;
        if (!o.etag.empty()) res.set_header("ETag", o.etag);
        if (o.honor_range && if_range_ok && range.rfind("bytes=", 0) == 0 && range.back() == '-') {
            start = std::stoull(range.substr(6, range.size() - 7));
            if (start >= data.size()) {
                res.status = 416;
                res.set_header("Content-Range", "bytes */" + std::to_string(data.size()));
                return;
            }
            res.status = 206;
            res.set_header("Content-Range", "bytes " + std::to_string(start) + "-" + std::to_string(data.size() - 1) +
                                                "/" + std::to_string(data.size()));
        } else {
            res.status = 200;
        }
        const std::string* body = &data;
        res.set_content_provider(data.size() - start, "application/octet-stream",
                                 [this, body, start, o](size_t offset, size_t length, httplib::DataSink& sink) {
                                     const size_t sent = start + offset; // absolute position in `data`
                                     size_t n = std::min(length, o.chunk);
                                     if (o.cut_after >= 0) {
                                         if (sent >= static_cast<size_t>(o.cut_after)) return false; // close mid-body
                                         n = std::min(n, static_cast<size_t>(o.cut_after) - sent);
                                     }
                                     if (o.stall_after >= 0) {
                                         if (sent >= static_cast<size_t>(o.stall_after)) {
                                             pause(o.stall_ms);
                                             return false;
                                         }
                                         n = std::min(n, static_cast<size_t>(o.stall_after) - sent);
                                     }
                                     if (o.delay_ms > 0) pause(o.delay_ms);
                                     return sink.write(body->data() + sent, n);
                                 });
    }

private:
    void pause(int ms) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (!stopping_ && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    httplib::Server srv_;
    std::thread thread_;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::mutex mu_;
    std::vector<Seen> seen_;
};

} // namespace hearth::test
