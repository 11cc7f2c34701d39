// tests/server/test_http.cpp: the HTTP transport against a real server on 127.0.0.1 (ephemeral port) with a
// fake Engine, driven over raw sockets so requests reach the server exactly as written: keys on every
// route, Host and Origin checks, CORS preflight, body limits decided before the body is read, lying
// Content-Length, slow clients cut by the time limits, streaming after a disconnect, 404/405, /metrics,
// the access log, and the drain on stop().
#include "server/builtin.h"
#include "server/server.h"
#include "server/web.h"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace hearth::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- a fake engine: fixed tokens, fixed stats ----------------------------------------------------------
class FakeEngine : public engine::Engine {
public:
    std::variant<engine::Completion, Status> generate(const engine::Request&,
                                                      const std::function<bool(const engine::TokenEvent&)>& on_event,
                                                      const std::atomic<bool>* cancel) override {
        engine::Completion c;
        for (const char* t : {"Hello", ",", " world"}) {
            if (cancel && cancel->load()) return c;
            engine::TokenEvent ev;
            ev.text = t;
            if (!on_event(ev)) return c;
            c.text += t;
            ++c.completion_tokens;
        }
        return c;
    }
    std::vector<engine::LoadedModel> loaded() const override { return {{"tiny:latest", "/x.gguf", 1234, 60}}; }
    void unload(const std::string&) override {}
    engine::Stats stats() const override {
        engine::Stats s;
        s.requests = 7;
        s.prompt_tokens = 100;
        s.prompt_seconds = 2;
        s.completion_tokens = 30;
        s.generate_seconds = 3;
        s.ttft_counts = {1, 2, 2, 3, 3, 3, 3, 3, 3};
        s.ttft_count = 3;
        s.ttft_sum_s = 0.4;
        s.queue_depth = 2;
        s.active = 1;
        return s;
    }
};

// ---- raw HTTP over sockets -----------------------------------------------------------------------------
struct RawResponse {
    int status = 0;
    std::multimap<std::string, std::string> headers; // names lower-cased
    std::string body;
    bool has(const std::string& name) const { return headers.count(name) > 0; }
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0}; // a stuck server fails the test instead of hanging it
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
}

bool send_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

// Reads from `fd` into `buf` until `buf` holds `want` bytes after `from`; false on EOF/error/timeout.
bool fill(int fd, std::string& buf, size_t want) {
    char tmp[4096];
    while (buf.size() < want) {
        const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<size_t>(n));
    }
    return true;
}

bool fill_until(int fd, std::string& buf, const std::string& marker, size_t from = 0) {
    char tmp[4096];
    while (buf.find(marker, from) == std::string::npos) {
        const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<size_t>(n));
    }
    return true;
}

// Reads one response (Content-Length or chunked body). `buf` keeps bytes read past it.
std::optional<RawResponse> read_response(int fd, std::string& buf) {
    if (!fill_until(fd, buf, "\r\n\r\n")) return std::nullopt;
    const size_t head_end = buf.find("\r\n\r\n");
    RawResponse r;
    const std::string head = buf.substr(0, head_end);
    buf.erase(0, head_end + 4);
    size_t pos = head.find("\r\n");
    r.status = std::stoi(head.substr(9, 3));
    while (pos != std::string::npos && pos < head.size()) {
        const size_t next = head.find("\r\n", pos + 2);
        const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            for (char& c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            r.headers.emplace(name, value);
        }
        pos = next;
    }
    if (r.header("transfer-encoding") == "chunked") {
        for (;;) {
            if (!fill_until(fd, buf, "\r\n")) return std::nullopt;
            const size_t eol = buf.find("\r\n");
            const size_t n = std::stoul(buf.substr(0, eol), nullptr, 16);
            if (!fill(fd, buf, eol + 2 + n + 2)) return std::nullopt;
            r.body += buf.substr(eol + 2, n);
            buf.erase(0, eol + 2 + n + 2);
            if (n == 0) break;
        }
    } else if (r.has("content-length")) {
        const size_t n = std::stoul(r.header("content-length"));
        if (!fill(fd, buf, n)) return std::nullopt;
        r.body = buf.substr(0, n);
        buf.erase(0, n);
    }
    return r;
}

// True when the peer has closed the connection (EOF or reset) within the socket's receive timeout.
bool closed_by_peer(int fd) {
    char tmp[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
    }
}

// ---- the fixture ---------------------------------------------------------------------------------------
class HttpTest : public ::testing::Test {
protected:
    FakeEngine engine;
    HttpMetrics metrics;
    std::unique_ptr<Server> server;
    std::thread thread;
    Status served;
    int port = 0;

    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> log_lines;
    std::atomic<int> echo_calls{0};
    bool stream_saw_write_false = false;
    bool gate_open = false;
    int streams_started = 0;

    std::vector<Route> test_routes() {
        std::vector<Route> routes = builtin_routes(engine, metrics);
        auto page = web_routes(); // the embedded chat page, as `hearth serve` has it
        EXPECT_TRUE(page) << page.message();
        if (page)
            for (auto& r : *page)
                routes.push_back(std::move(r));
        routes.push_back({"GET", "/v1/models", Access::Inference, [](const HttpRequest&) {
                              HttpResponse r;
                              r.body = R"({"object":"list","data":[]})";
                              return r;
                          }});
        routes.push_back({"POST", "/v1/echo", Access::Inference, [this](const HttpRequest& req) {
                              ++echo_calls;
                              HttpResponse r;
                              r.body = nlohmann::json{{"bytes", req.body.size()}, {"body", req.body}}.dump();
                              return r;
                          }});
        routes.push_back({"POST", "/api/pull", Access::Management, [](const HttpRequest&) {
                              HttpResponse r;
                              r.body = R"({"status":"success"})";
                              return r;
                          }});
        routes.push_back(
            {"DELETE", "/api/delete", Access::Management, [](const HttpRequest&) { return HttpResponse{}; }});
        // Streams the engine's tokens forever until the client goes away.
        routes.push_back({"POST", "/v1/forever", Access::Inference, [this](const HttpRequest&) {
                              HttpResponse r;
                              r.content_type = "text/event-stream";
                              r.stream = [this](Stream& s) {
                                  for (int i = 0; i < 100000; ++i) {
                                      bool ok = true;
                                      engine.generate(
                                          {},
                                          [&](const engine::TokenEvent& ev) {
                                              ok = s.write("data: " + ev.text + "\n\n");
                                              return ok;
                                          },
                                          nullptr);
                                      if (!ok) break;
                                      std::this_thread::sleep_for(2ms);
                                  }
                                  std::lock_guard lock(mu);
                                  stream_saw_write_false = true;
                                  cv.notify_all();
                              };
                              return r;
                          }});
        // Writes "first", waits for the test to open the gate, writes "last".
        routes.push_back({"GET", "/v1/gated", Access::Inference, [this](const HttpRequest&) {
                              HttpResponse r;
                              r.content_type = "text/plain";
                              r.stream = [this](Stream& s) {
                                  s.write("first\n");
                                  {
                                      std::unique_lock lock(mu);
                                      ++streams_started;
                                      cv.notify_all();
                                      cv.wait(lock, [&] { return gate_open; });
                                  }
                                  s.write("last\n");
                              };
                              return r;
                          }});
        return routes;
    }

    void start(ServerOptions o) {
        o.host = "127.0.0.1";
        o.port = 0;
        o.metrics = &metrics;
        o.access_log = [this](const std::string& line) {
            std::lock_guard lock(mu);
            log_lines.push_back(line);
            cv.notify_all();
        };
        server = std::make_unique<Server>(std::move(o), test_routes());
        ASSERT_TRUE(server->bind()) << "bind failed";
        port = server->port();
        thread = std::thread([this] { served = server->listen(); });
    }
    void start_default() {
        ServerOptions o;
        o.security.api_key = "sk-test";
        start(std::move(o));
    }
    void TearDown() override {
        {
            std::lock_guard lock(mu);
            gate_open = true;
            cv.notify_all();
        }
        if (server) server->stop();
        if (thread.joinable()) thread.join();
        EXPECT_TRUE(served) << served.message();
    }

    std::string host() const { return "127.0.0.1:" + std::to_string(port); }
    std::string get(const std::string& path, const std::string& extra = "") {
        return "GET " + path + " HTTP/1.1\r\nHost: " + host() + "\r\n" + extra + "\r\n";
    }
    std::string post(const std::string& path, const std::string& body, const std::string& extra = "") {
        return "POST " + path + " HTTP/1.1\r\nHost: " + host() +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
               "\r\n" + body;
    }
    // One request on a fresh connection.
    RawResponse roundtrip(const std::string& raw) {
        const int fd = connect_to(port);
        EXPECT_TRUE(send_all(fd, raw));
        std::string buf;
        auto r = read_response(fd, buf);
        ::close(fd);
        EXPECT_TRUE(r.has_value()) << "no response to: " << raw.substr(0, 80);
        return r.value_or(RawResponse{});
    }
};

const std::string kKey = "Authorization: Bearer sk-test\r\n";

void expect_openai_error(const RawResponse& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    ASSERT_TRUE(j.contains("error")) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string());
    EXPECT_TRUE(j["error"]["type"].is_string());
    EXPECT_TRUE(j["error"].contains("param"));
    EXPECT_TRUE(j["error"].contains("code"));
}

// ---- keys ----------------------------------------------------------------------------------------------
TEST_F(HttpTest, HealthIsPublic) {
    start_default();
    const auto r = roundtrip(get("/health"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ok");
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
}

// The chat page is public (it holds no data) but the Host check still applies, and a revalidation is a bare 304.
TEST_F(HttpTest, ChatPageIsPublicBehindTheHostCheck) {
    start_default();
    const auto page = roundtrip(get("/"));
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("<html"), std::string::npos);
    EXPECT_EQ(page.header("content-security-policy"), std::string(kWebCsp));
    EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
    const auto again = roundtrip(get("/", "If-None-Match: " + page.header("etag") + "\r\n"));
    EXPECT_EQ(again.status, 304);
    EXPECT_FALSE(again.has("content-length"));
    EXPECT_TRUE(again.body.empty());
    const auto rebinding = roundtrip("GET / HTTP/1.1\r\nHost: attacker.example\r\n\r\n");
    EXPECT_NE(rebinding.status, 200);
    EXPECT_EQ(rebinding.body.find("<html"), std::string::npos);
}

TEST_F(HttpTest, EveryNonPublicRouteNeedsTheKey) {
    ServerOptions o;
    o.security.api_key = "sk-test";
    start(std::move(o));
    int checked = 0;
    for (const Route& route : test_routes()) {
        if (route.access == Access::Public) continue;
        ++checked;
        const auto raw = [&](const std::string& auth) {
            return route.method + " " + route.path + " HTTP/1.1\r\nHost: " + host() + "\r\n" + auth +
                   "Content-Length: 0\r\n\r\n";
        };
        for (const std::string& auth :
             {std::string(), std::string("Authorization: Bearer wrong\r\n"),
              std::string("Authorization: Bearer sk-tes\r\n"), std::string("Authorization: Basic c2stdGVzdA==\r\n"),
              std::string("Authorization: sk-test\r\n")}) {
            const auto r = roundtrip(raw(auth));
            EXPECT_EQ(r.status, 401) << route.method << " " << route.path << " with [" << auth << "]";
            EXPECT_EQ(r.header("www-authenticate"), "Bearer");
            expect_openai_error(r);
        }
        if (route.path == "/v1/forever" || route.path == "/v1/gated") continue; // streams: checked elsewhere
        const auto ok = roundtrip(raw(kKey));
        EXPECT_EQ(ok.status, 200) << route.method << " " << route.path << ": " << ok.body;
    }
    EXPECT_GE(checked, 6);
}

TEST_F(HttpTest, ManagementKeyIsSeparate) {
    ServerOptions o;
    o.security.api_key = "sk-test";
    o.security.management_key = "mk-admin";
    start(std::move(o));
    const std::string admin = "Authorization: Bearer mk-admin\r\n";
    EXPECT_EQ(roundtrip(post("/api/pull", "{}", kKey)).status, 401); // the API key is not enough
    EXPECT_EQ(roundtrip(post("/api/pull", "{}")).status, 401);
    EXPECT_EQ(roundtrip(post("/api/pull", "{}", admin)).status, 200);
    EXPECT_EQ(roundtrip(post("/v1/echo", "{}", kKey)).status, 200);
    EXPECT_EQ(roundtrip(post("/v1/echo", "{}", admin)).status, 200); // the management key covers inference
}

TEST_F(HttpTest, NoKeyConfiguredMeansOpen) {
    start(ServerOptions{});
    EXPECT_EQ(roundtrip(get("/v1/models")).status, 200);
    EXPECT_EQ(roundtrip(post("/api/pull", "{}")).status, 200);
}

// ---- Host and Origin -----------------------------------------------------------------------------------
TEST_F(HttpTest, HostAllowList) {
    ServerOptions o;
    o.security.allow_hosts = {"myhost.lan"};
    start(std::move(o));
    const auto with_host = [&](const std::string& host_line) {
        return roundtrip("GET /health HTTP/1.1\r\n" + host_line + "\r\n").status;
    };
    EXPECT_EQ(with_host("Host: evil.com\r\n"), 403);
    EXPECT_EQ(with_host("Host: 127.0.0.1.evil.com\r\n"), 403);
    EXPECT_EQ(with_host("Host: localhost.evil.com:80\r\n"), 403);
    EXPECT_EQ(with_host("Host:\r\n"), 400);
    EXPECT_EQ(with_host(""), 400);
    EXPECT_EQ(with_host("Host: localhost\r\nHost: evil.com\r\n"), 400);
    EXPECT_EQ(with_host("Host: localhost:" + std::to_string(port) + "\r\n"), 200);
    EXPECT_EQ(with_host("Host: LOCALHOST\r\n"), 200);
    EXPECT_EQ(with_host("Host: [::1]:8080\r\n"), 200);
    EXPECT_EQ(with_host("Host: myhost.lan:8080\r\n"), 200);
    const auto r = roundtrip("GET /health HTTP/1.1\r\nHost: evil.com\r\n\r\n");
    expect_openai_error(r);
}

TEST_F(HttpTest, CorsOrigins) {
    ServerOptions o;
    o.security.api_key = "sk-test";
    o.security.cors_origins = {"http://app.example"};
    start(std::move(o));
    auto r = roundtrip(get("/v1/models", kKey + "Origin: http://app.example\r\n"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("access-control-allow-origin"), "http://app.example");

    r = roundtrip(get("/v1/models", kKey + "Origin: http://evil.example\r\n"));
    EXPECT_EQ(r.status, 403);
    EXPECT_FALSE(r.has("access-control-allow-origin"));

    // A page served by this server (same origin) may call it; no CORS header is needed for that.
    r = roundtrip(get("/v1/models", kKey + "Origin: http://" + host() + "\r\n"));
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.has("access-control-allow-origin"));

    // Preflight: no key needed, the route's methods and the requested headers allowed.
    r = roundtrip("OPTIONS /v1/echo HTTP/1.1\r\nHost: " + host() +
                  "\r\nOrigin: http://app.example\r\nAccess-Control-Request-Method: POST\r\n"
                  "Access-Control-Request-Headers: authorization, content-type\r\n\r\n");
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.header("access-control-allow-origin"), "http://app.example");
    EXPECT_NE(r.header("access-control-allow-methods").find("POST"), std::string::npos);
    EXPECT_EQ(r.header("access-control-allow-headers"), "authorization, content-type");
    EXPECT_TRUE(r.has("access-control-max-age"));

    r = roundtrip("OPTIONS /v1/echo HTTP/1.1\r\nHost: " + host() +
                  "\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n");
    EXPECT_EQ(r.status, 403);
    EXPECT_FALSE(r.has("access-control-allow-origin"));

    // Errors carry the CORS header too, so the allowed page can read them.
    r = roundtrip(get("/v1/models", "Origin: http://app.example\r\n"));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("access-control-allow-origin"), "http://app.example");
}

// ---- routing -------------------------------------------------------------------------------------------
TEST_F(HttpTest, UnknownPathAndWrongMethod) {
    start_default();
    auto r = roundtrip(get("/nope", kKey));
    EXPECT_EQ(r.status, 404);
    expect_openai_error(r);
    r = roundtrip(get("/v1/echo", kKey));
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("allow"), "POST, OPTIONS");
    expect_openai_error(r);
    r = roundtrip(post("/health", "{}"));
    EXPECT_EQ(r.status, 405);
}

TEST_F(HttpTest, EchoAndKeepAlive) {
    start_default();
    const int fd = connect_to(port);
    std::string buf;
    for (int i = 0; i < 3; ++i) {
        const std::string body = "{\"i\":" + std::to_string(i) + "}";
        ASSERT_TRUE(send_all(fd, post("/v1/echo", body, kKey)));
        auto r = read_response(fd, buf);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(nlohmann::json::parse(r->body)["body"], body);
    }
    ::close(fd);
}

// ---- bodies --------------------------------------------------------------------------------------------
TEST_F(HttpTest, OversizedBodyRefusedBeforeItIsRead) {
    ServerOptions o;
    o.security.api_key = "sk-test";
    o.max_body_bytes = 1024;
    o.body_timeout = 60s; // a server that waited for the body would not answer within the client's 10 s
    start(std::move(o));
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, "POST /v1/echo HTTP/1.1\r\nHost: " + host() + "\r\n" + kKey +
                                 "Content-Length: 10000000000\r\n\r\n{\"a\":"));
    const auto t0 = Clock::now();
    std::string buf;
    auto r = read_response(fd, buf);
    ASSERT_TRUE(r) << "no prompt answer to an oversized Content-Length";
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->header("connection"), "close");
    expect_openai_error(*r);
    EXPECT_LT(Clock::now() - t0, 9s);
    EXPECT_TRUE(closed_by_peer(fd));
    ::close(fd);
    EXPECT_EQ(echo_calls.load(), 0);

    // Without the key: the framing check comes first, so still 413 without reading the body.
    auto r2 = roundtrip("POST /v1/echo HTTP/1.1\r\nHost: " + host() + "\r\nContent-Length: 10000000000\r\n\r\nxx");
    EXPECT_EQ(r2.status, 413);

    // At the limit: accepted.
    r2 = roundtrip(post("/v1/echo", std::string(1024, 'x'), kKey));
    EXPECT_EQ(r2.status, 200);
    EXPECT_EQ(nlohmann::json::parse(r2.body)["bytes"], 1024);
}

TEST_F(HttpTest, ChunkedBodiesAreCounted) {
    ServerOptions o;
    o.security.api_key = "sk-test";
    o.max_body_bytes = 1024;
    start(std::move(o));
    const std::string head =
        "POST /v1/echo HTTP/1.1\r\nHost: " + host() + "\r\n" + kKey + "Transfer-Encoding: chunked\r\n\r\n";
    auto r = roundtrip(head + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(nlohmann::json::parse(r.body)["body"], "hello world");

    // Over the limit: 413 as soon as the limit is passed, the rest never sent.
    const int fd = connect_to(port);
    const std::string chunk(800, 'x');
    ASSERT_TRUE(send_all(fd, head + "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n"));
    std::string buf;
    auto big = read_response(fd, buf);
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
    ::close(fd);
    EXPECT_EQ(echo_calls.load(), 1);
}

// #12: a random method per request used to add a metrics series each (memory and /metrics without bound),
// and a request refused unparsed after a kept-alive one was counted under the previous request's route.
TEST_F(HttpTest, MetricLabelsComeFromAFixedSet) {
    start_default();
    for (int i = 0; i < 40; ++i) {
        const std::string method = "X" + std::to_string(i) + std::string(2000, 'M');
        roundtrip(method + " /health HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
    }
    const int fd = connect_to(port);
    std::string buf;
    ASSERT_TRUE(send_all(fd, get("/health")));
    ASSERT_TRUE(read_response(fd, buf));
    ASSERT_TRUE(send_all(fd, "BREW /health HTTP/1.1\r\nHost: " + host() + "\r\n\r\n"));
    (void)read_response(fd, buf);
    ::close(fd);
    // A request is counted after its response is written: wait (bounded) for the last ones.
    auto count_other = [&] {
        size_t n = 0;
        for (int status = 400; status < 600; ++status)
            n += metrics.count("unmatched", "other", status) + metrics.count("/health", "other", status);
        return n;
    };
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (count_other() < 41 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(count_other(), 41u);
    EXPECT_EQ(metrics.count("/health", "GET", 200), 1u);
    const auto r = roundtrip(get("/metrics", kKey));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body.find("MMMMMMMM"), std::string::npos);
    EXPECT_EQ(r.body.find("BREW"), std::string::npos);
    EXPECT_LT(r.body.size(), 64u * 1024);
}

TEST_F(HttpTest, MalformedAndLyingLengths) {
    ServerOptions o;
    o.security.api_key = "sk-test";
    o.body_timeout = 300ms;
    start(std::move(o));
    const std::string head = "POST /v1/echo HTTP/1.1\r\nHost: " + host() + "\r\n" + kKey;
    EXPECT_EQ(roundtrip(head + "Content-Length: 12abc\r\n\r\n{}").status, 400);
    EXPECT_EQ(roundtrip(head + "Content-Length: -1\r\n\r\n{}").status, 400);
    EXPECT_EQ(roundtrip(head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}").status, 400);
    EXPECT_EQ(roundtrip(head + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}").status, 400);
    EXPECT_EQ(roundtrip(head + "Transfer-Encoding: gzip\r\n\r\n{}").status, 501);
    EXPECT_EQ(roundtrip(head + "Content-Length: 2\r\nContent-Encoding: gzip\r\n\r\n{}").status, 415);
    EXPECT_EQ(roundtrip(get("/v1/models", kKey + "Content-Length: 5\r\n") + "hello").status, 400);

    // Claims 100 bytes, sends 10, then stalls: the body time limit ends it; the handler never runs.
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, head + "Content-Length: 100\r\n\r\n0123456789"));
    std::string buf;
    auto r = read_response(fd, buf); // a 408 (Request Timeout) or nothing, then the close
    if (r) {
        EXPECT_EQ(r->status, 408);
    }
    EXPECT_TRUE(closed_by_peer(fd));
    ::close(fd);
    EXPECT_EQ(echo_calls.load(), 0);
}

// ---- slow clients --------------------------------------------------------------------------------------
TEST_F(HttpTest, SlowHeadersAreCut) {
    ServerOptions o;
    o.header_timeout = 400ms;
    start(std::move(o));
    const int fd = connect_to(port);
    const std::string request = get("/health");
    const std::string padded = request.substr(0, request.size() - 2) + "X-Pad: " + std::string(100, 'p') + "\r\n\r\n";
    // One byte every 50 ms: the whole request would take over 8 s; the server must cut it well before.
    bool cut = false;
    size_t sent = 0;
    for (; sent < padded.size(); ++sent) {
        if (!send_all(fd, std::string_view(padded).substr(sent, 1))) {
            cut = true;
            break;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) { // the server answered (400) or closed
            cut = true;
            break;
        }
    }
    EXPECT_TRUE(cut) << "the slow client was never cut";
    EXPECT_LT(sent, padded.size());
    ::close(fd);

    // An idle connection that sends nothing is closed too.
    const int idle = connect_to(port);
    EXPECT_TRUE(closed_by_peer(idle));
    ::close(idle);
}

// #12: requests a strict parser must refuse. The old transport accepted each: whitespace before the colon
// made the body a second, smuggled request with its own response; bytes after a NUL in the key were
// ignored. Each now gets exactly one 4xx and the close, and the smuggled request is never answered.
TEST_F(HttpTest, SmugglingGetsOneResponseAndTheClose) {
    start_default();
    const std::string smuggled = "GET /v1/models HTTP/1.1\r\nHost: " + host() + "\r\n" + kKey + "\r\n";
    const std::string n = std::to_string(smuggled.size());
    const std::string head = "POST /v1/echo HTTP/1.1\r\nHost: " + host() + "\r\n" + kKey;
    const std::vector<std::string> cases = {
        head + "Content-Length : " + n + "\r\n\r\n" + smuggled,
        head + "Transfer-Encoding : chunked\r\n\r\n" + smuggled,
        head + "Content-Length: " + n + "\r\nX-Junk: a\rb\r\n\r\n" + smuggled,
        head + "Content-Length: " + n + "\r\nX-Junk: a" + std::string(1, '\0') + "b\r\n\r\n" + smuggled,
        head + "Content-Length: " + n + "\r\nContent-Length: " + n + "\r\n\r\n" + smuggled,
        head + "Content-Length: " + n + "\r\n X-Folded: yes\r\n\r\n" + smuggled,
        "POST /v1/echo HTTP/1.1\nHost: " + host() + "\n" + kKey + "Content-Length: " + n + "\n\n" + smuggled,
    };
    for (const std::string& raw : cases) {
        const int fd = connect_to(port);
        ASSERT_TRUE(send_all(fd, raw));
        std::string buf;
        auto r = read_response(fd, buf);
        ASSERT_TRUE(r) << raw;
        EXPECT_GE(r->status, 400) << raw;
        EXPECT_LT(r->status, 600) << raw;
        EXPECT_EQ(r->header("connection"), "close") << raw;
        EXPECT_TRUE(buf.empty()) << "a second response: " << buf;
        EXPECT_TRUE(closed_by_peer(fd)) << raw;
        ::close(fd);
    }
    EXPECT_EQ(echo_calls.load(), 0);

    // A key with a NUL and more after it is not the key (it used to authenticate).
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, "GET /v1/models HTTP/1.1\r\nHost: " + host() + "\r\nAuthorization: Bearer sk-test" +
                                 std::string(1, '\0') + "anything\r\n\r\n"));
    std::string buf;
    auto r = read_response(fd, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(closed_by_peer(fd));
    ::close(fd);
}

// #12: a slow or idle client used to hold one of the worker threads for the header timeout, so a few
// dozen of them kept /health from answering. Now the event loop holds them, and /health is answered on the
// loop even when every worker is busy.
TEST_F(HttpTest, HealthAnswersWhileWorkersAreBusyAndClientsAreSlow) {
    ServerOptions o;
    o.http_threads = 2;
    o.header_timeout = 60s; // the slow clients stay for the whole test
    start(std::move(o));
    // Both workers busy with streams that wait for the gate.
    std::vector<int> busy;
    for (int i = 0; i < 2; ++i) {
        busy.push_back(connect_to(port));
        ASSERT_TRUE(send_all(busy.back(), get("/v1/gated")));
    }
    {
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return streams_started == 2; }));
    }
    // 150 idle connections and 150 that send a header line and then stall.
    std::vector<int> held;
    for (int i = 0; i < 150; ++i)
        held.push_back(connect_to(port));
    for (int i = 0; i < 150; ++i) {
        held.push_back(connect_to(port));
        ASSERT_TRUE(send_all(held.back(), "GET /health HTTP/1.1\r\nHost: " + host() + "\r\nX-Slow: "));
    }
    for (int i = 0; i < 5; ++i) {
        const auto r = roundtrip(get("/health")); // the client's 10 s receive timeout bounds the wait
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, R"({"status":"ok"})");
    }
    // A worker route queues until a worker is free, then is served.
    const int queued = connect_to(port);
    ASSERT_TRUE(send_all(queued, get("/v1/models")));
    {
        std::lock_guard lock(mu);
        gate_open = true;
        cv.notify_all();
    }
    std::string buf;
    auto r = read_response(queued, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    ::close(queued);
    for (int fd : busy)
        ::close(fd);
    for (int fd : held)
        ::close(fd);
}

// Over the per-client cap, the connection that has waited longest for a request is closed to make room.
TEST_F(HttpTest, ConnectionCapEvictsTheLongestWaiting) {
    ServerOptions o;
    o.max_connections_per_client = 8;
    start(std::move(o));
    std::vector<int> idle;
    for (int i = 0; i < 8; ++i) {
        idle.push_back(connect_to(port));
        std::this_thread::sleep_for(2ms); // distinct arrival times
    }
    const auto r = roundtrip(get("/health"));
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(closed_by_peer(idle[0])) << "the oldest idle connection was not evicted";
    const auto m = roundtrip(get("/metrics"));
    EXPECT_NE(m.body.find("hearth_http_connections_evicted_total "), std::string::npos);
    EXPECT_EQ(m.body.find("hearth_http_connections_evicted_total 0\n"), std::string::npos);
    for (int fd : idle)
        ::close(fd);
}

TEST_F(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
    start_default();
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, get("/health") + post("/v1/echo", "{\"n\":1}", kKey) + get("/v1/models", kKey) +
                                 post("/v1/echo", "{\"n\":2}", kKey)));
    std::string buf;
    auto a = read_response(fd, buf);
    auto b = read_response(fd, buf);
    auto c = read_response(fd, buf);
    auto d = read_response(fd, buf);
    ASSERT_TRUE(a && b && c && d);
    EXPECT_EQ(a->body, R"({"status":"ok"})");
    EXPECT_EQ(nlohmann::json::parse(b->body)["body"], "{\"n\":1}");
    EXPECT_EQ(c->body, R"({"object":"list","data":[]})");
    EXPECT_EQ(nlohmann::json::parse(d->body)["body"], "{\"n\":2}");
    ::close(fd);
}

TEST_F(HttpTest, ExpectContinueHeadAndHttp10) {
    start_default();
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, "POST /v1/echo HTTP/1.1\r\nHost: " + host() + "\r\n" + kKey +
                                 "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
    std::string buf;
    auto cont = read_response(fd, buf);
    ASSERT_TRUE(cont);
    EXPECT_EQ(cont->status, 100);
    ASSERT_TRUE(send_all(fd, "{}"));
    auto r = read_response(fd, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);

    // HEAD: the GET's headers, no body; the connection stays usable.
    ASSERT_TRUE(send_all(fd, "HEAD /health HTTP/1.1\r\nHost: " + host() + "\r\n\r\n"));
    ASSERT_TRUE(fill_until(fd, buf, "\r\n\r\n"));
    EXPECT_NE(buf.find("Content-Length: 15\r\n"), std::string::npos) << buf;
    buf.erase(0, buf.find("\r\n\r\n") + 4);
    ASSERT_TRUE(send_all(fd, get("/health")));
    r = read_response(fd, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, R"({"status":"ok"})");
    ::close(fd);

    // HTTP/1.0 without keep-alive: one response, then the close.
    const int old = connect_to(port);
    ASSERT_TRUE(send_all(old, "GET /health HTTP/1.0\r\nHost: " + host() + "\r\n\r\n"));
    std::string b2;
    r = read_response(old, b2);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(closed_by_peer(old));
    ::close(old);
}

// ---- streaming -----------------------------------------------------------------------------------------
TEST_F(HttpTest, StreamSeesDisconnect) {
    start_default();
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, post("/v1/forever", "{}", kKey)));
    std::string buf;
    ASSERT_TRUE(fill_until(fd, buf, "data: Hello"));
    EXPECT_NE(buf.find("Transfer-Encoding: chunked"), std::string::npos);
    ::close(fd);
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return stream_saw_write_false; }))
        << "the handler kept streaming after the client left";
}

// ---- metrics and the access log ------------------------------------------------------------------------
TEST_F(HttpTest, MetricsCountRequests) {
    start_default();
    const int fd = connect_to(port);
    std::string buf;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(send_all(fd, get("/health")));
        ASSERT_TRUE(read_response(fd, buf));
    }
    ASSERT_TRUE(send_all(fd, get("/nope", kKey)));
    ASSERT_TRUE(read_response(fd, buf));
    ASSERT_TRUE(send_all(fd, get("/metrics", kKey)));
    auto r = read_response(fd, buf);
    ::close(fd);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-type").rfind("text/plain", 0), 0u);

    // Every line is a comment or `name{labels} value`.
    const std::regex sample(
        R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEinfINF]+$)");
    std::map<std::string, std::string> values;
    size_t start = 0;
    while (start < r->body.size()) {
        const size_t nl = r->body.find('\n', start);
        ASSERT_NE(nl, std::string::npos) << "the last line has no newline";
        const std::string line = r->body.substr(start, nl - start);
        start = nl + 1;
        if (line.rfind("# ", 0) == 0) continue;
        EXPECT_TRUE(std::regex_match(line, sample)) << line;
        const size_t sp = line.rfind(' ');
        values[line.substr(0, sp)] = line.substr(sp + 1);
    }
    EXPECT_EQ(values[R"(hearth_http_requests_total{route="/health",method="GET",status="200"})"], "3");
    EXPECT_EQ(values[R"(hearth_http_requests_total{route="unmatched",method="GET",status="404"})"], "1");
    EXPECT_EQ(values["hearth_queue_depth"], "2");
    EXPECT_EQ(values["hearth_prompt_tokens_per_second"], "50");
    EXPECT_EQ(values["hearth_generation_tokens_per_second"], "10");
    EXPECT_EQ(values[R"(hearth_time_to_first_token_seconds_bucket{le="0.1"})"], "2");
    EXPECT_EQ(values[R"(hearth_time_to_first_token_seconds_bucket{le="+Inf"})"], "3");
    EXPECT_EQ(values[R"(hearth_model_loaded_bytes{model="tiny:latest"})"], "1234");
    EXPECT_NE(values["hearth_process_resident_memory_bytes"], "0");
    EXPECT_EQ(metrics.count("/health", "GET", 200), 3u);
}

TEST_F(HttpTest, AccessLogHasNoBodies) {
    start_default();
    const std::string secret = "my secret prompt";
    EXPECT_EQ(roundtrip(post("/v1/echo", "{\"p\":\"" + secret + "\"}", kKey)).status, 200);
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return !log_lines.empty(); }));
    const auto j = nlohmann::json::parse(log_lines[0]);
    EXPECT_EQ(j["method"], "POST");
    EXPECT_EQ(j["path"], "/v1/echo");
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["remote"], "127.0.0.1");
    EXPECT_TRUE(j["duration_ms"].is_number());
    EXPECT_TRUE(j["bytes"].is_number());
    EXPECT_TRUE(j["time"].is_string());
    EXPECT_EQ(log_lines[0].find(secret), std::string::npos);
    EXPECT_EQ(log_lines[0].find("sk-test"), std::string::npos);
}

TEST_F(HttpTest, AccessLogWithPrompts) {
    ServerOptions o;
    o.log_prompts = true;
    start(std::move(o));
    EXPECT_EQ(roundtrip(post("/v1/echo", R"({"p":"visible"})")).status, 200);
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return !log_lines.empty(); }));
    EXPECT_EQ(nlohmann::json::parse(log_lines[0])["body"], R"({"p":"visible"})");
}

// ---- drain ---------------------------------------------------------------------------------------------
TEST_F(HttpTest, DrainRefusesNewRequestsAndFinishesStreams) {
    start_default();
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, get("/v1/gated", kKey)));
    std::string buf;
    ASSERT_TRUE(fill_until(fd, buf, "first"));
    {
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return streams_started == 1; }));
    }
    std::thread stopper([&] { server->stop(); });
    while (!server->draining())
        std::this_thread::sleep_for(1ms);

    const auto r = roundtrip(get("/health"));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.header("retry-after"), "5");
    expect_openai_error(r);

    {
        std::lock_guard lock(mu);
        gate_open = true;
        cv.notify_all();
    }
    EXPECT_TRUE(fill_until(fd, buf, "last")) << "the in-flight stream was not allowed to finish";
    ::close(fd);
    stopper.join();
    thread.join();
    EXPECT_TRUE(served) << served.message();
}

TEST_F(HttpTest, DrainTimeoutEndsStreams) {
    ServerOptions o;
    o.drain_timeout = 200ms;
    start(std::move(o));
    const int fd = connect_to(port);
    ASSERT_TRUE(send_all(fd, post("/v1/forever", "{}")));
    std::string buf;
    ASSERT_TRUE(fill_until(fd, buf, "data: Hello"));
    server->stop(); // returns only once the stream has ended
    thread.join();
    std::lock_guard lock(mu);
    EXPECT_TRUE(stream_saw_write_false);
    ::close(fd);
}

} // namespace
} // namespace hearth::server
