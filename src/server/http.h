// server/http.h: the transport-neutral shape of routes. Adapters (openai.cpp, ollama.cpp, the built-in
// routes) produce Routes; http.cpp serves them over HTTP/1.1, applying the security checks (API key,
// Host allow-list, CORS, body limit, timeouts) before any handler runs.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::server {

struct HttpRequest {
    std::string method;                         // "GET", "POST", ...
    std::string path;                           // without the query
    std::map<std::string, std::string> headers; // names in lower case
    std::map<std::string, std::string> query;
    std::string body;   // at most the configured body limit
    std::string remote; // peer address
};

// A streamed body: chunks are sent as they are written (SSE or NDJSON). write() returns false once the
// client has gone; a handler must then stop (and free what it holds) promptly.
class Stream {
public:
    virtual ~Stream() = default;
    virtual bool write(std::string_view chunk) = 0;
    virtual bool alive() const = 0;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    // When set, the body is streamed (chunked) by calling this on the request's thread; `body` is ignored.
    std::function<void(Stream&)> stream;
};

// Who may call a route: Public needs nothing (only /health), Inference needs the API key when one is set,
// Management (pull, create, delete, copy) needs the management key when one is set (else the API key).
enum class Access { Public, Inference, Management };

struct Route {
    std::string method;
    std::string path; // exact path
    Access access = Access::Inference;
    std::function<HttpResponse(const HttpRequest&)> handler;
    // Answered on the transport's event-loop thread instead of a worker, so it is answered even when every
    // worker is busy: only for handlers that are cheap and never block (/health). Not for streams.
    bool inline_io = false;
};

} // namespace hearth::server
