// server/server.h: the HTTP server of `hearth serve`. It serves a table of Routes (http.h) over HTTP/1.1
// (an epoll event loop plus worker threads, see http.cpp) and applies, before any handler runs and before a
// request body is read:
//   - framing: strict RFC 9112 parsing (http_parse.h); any framing error gets a 4xx/5xx and the close;
//   - draining: once stop() began, new requests get 503 with Retry-After;
//   - Host: exactly one, non-empty; on loopback binds only localhost, 127.0.0.1, [::1] (any port) and
//     --allow-host names (DNS-rebinding defence);
//   - body framing: one valid Content-Length at most the body limit (413), or chunked (counted while read,
//     413 when over); no body on GET/HEAD/OPTIONS; no Content-Encoding, no multipart;
//   - Origin: a request from a browser page must come from an allowed origin (or the server's own);
//     allowed origins get CORS headers and preflight (OPTIONS) answers;
//   - route: unknown path 404, known path with another method 405 (with Allow);
//   - keys: Inference routes need the API key, Management routes the management key (see security.h).
// A rejected request whose body was not read is answered with Connection: close.
//
// Time limits: a connection must deliver its first request's whole head within `header_timeout` of the
// accept; a later request must begin within `keep_alive_timeout` of the previous response and deliver its
// head within `header_timeout` of its first byte; a body must arrive within `body_timeout` of its head.
// Past a limit the request gets a 408 and the connection is closed. Waiting clients are held by the event
// loop, not by threads: a slow or idle client costs its buffered bytes. Handlers and streamed responses have
// no total limit (a send that blocks longer than `write_timeout` fails, and Stream::write returns false
// once the client has gone).
//
// Connection caps: `max_connections` in all (lowered to fit the descriptor limit, which is raised to its
// hard maximum) and `max_connections_per_client` per peer address; a new connection over a cap evicts the
// one that has waited longest for a request (never one whose request is being read or served).
//
// Every request is counted in `metrics` (by route, method, status) and logged as one JSON line.
#pragma once

#include "base/status.h"
#include "server/builtin.h"
#include "server/http.h"
#include "server/security.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hearth::server {

inline constexpr int kDefaultPort = 11435; // Ollama's 11434 plus one: both can run side by side

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = kDefaultPort; // 0: any free port (see Server::port())
    SecurityOptions security;
    size_t max_body_bytes = size_t{8} << 20;
    int http_threads = 32;                    // workers: requests whose handlers run at once
    size_t max_connections = 8192;            // open connections in all
    size_t max_connections_per_client = 4096; // per peer address
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds body_timeout{60'000};
    std::chrono::milliseconds keep_alive_timeout{5'000}; // idle wait between requests
    std::chrono::milliseconds write_timeout{30'000};     // one blocked send
    std::chrono::milliseconds drain_timeout{30'000};     // how long stop() lets in-flight requests finish
    bool log_prompts = false;                            // put request bodies (up to 16 KiB) in the access log
    std::function<void(const std::string&)> access_log;  // one JSON line per request; unset: stderr
    HttpMetrics* metrics = nullptr;                      // counts requests when set; must outlive the Server
};

class Server {
public:
    Server(ServerOptions opts, std::vector<Route> routes);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds the listening socket (listen() does it when not done yet). Afterwards port() is the real port.
    Status bind();
    // Serves until stop(); returns ok after a stop, an error when the address cannot be bound.
    Status listen();
    // Drains and stops: new requests get 503, in-flight ones may finish for up to drain_timeout, then
    // streams see Stream::write() fail, connections are closed and listen() returns. Thread-safe; blocks.
    void stop();
    int port() const;
    bool draining() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace hearth::server
