// tests/server/test_http_parse.cpp: the strict request framing (server/http_parse.h) as pure functions:
// the smuggling vectors of #12 (whitespace before the colon, bare CR/LF, NUL, CL+TE, repeated or listed
// Content-Length, obsolete folding), limits, targets and queries, and the chunked decoder fed whole and
// byte by byte.
#include "server/http_parse.h"

#include <gtest/gtest.h>
#include <string>

namespace hearth::server {
namespace {

HeadResult parse(const std::string& text, RequestHead& h, HeadLimits limits = {}) {
    return parse_head(text, limits, h);
}

int error_status(const std::string& text) {
    RequestHead h;
    const HeadResult r = parse(text, h);
    return r.kind == HeadResult::Error ? r.error.status : 0;
}

TEST(HttpParse, SimpleGet) {
    RequestHead h;
    const std::string text = "GET /api/tags?name=a%20b&x=1+2&flag HTTP/1.1\r\nHost: localhost\r\nX-A:  v  \r\n\r\nNEXT";
    const HeadResult r = parse(text, h);
    ASSERT_EQ(r.kind, HeadResult::Done) << r.error.message;
    EXPECT_EQ(r.consumed, text.size() - 4);
    EXPECT_EQ(h.method, "GET");
    EXPECT_EQ(h.path, "/api/tags");
    ASSERT_EQ(h.query.size(), 3u);
    EXPECT_EQ(h.query[0], (std::pair<std::string, std::string>{"name", "a b"}));
    EXPECT_EQ(h.query[1], (std::pair<std::string, std::string>{"x", "1 2"}));
    EXPECT_EQ(h.query[2], (std::pair<std::string, std::string>{"flag", ""}));
    EXPECT_EQ(h.field("host"), "localhost");
    EXPECT_EQ(h.field("x-a"), "v");
    EXPECT_TRUE(h.keep_alive);
    EXPECT_FALSE(h.chunked);
    EXPECT_EQ(h.content_length, 0u);
}

TEST(HttpParse, IncompleteUntilTheBlankLine) {
    const std::string text = "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n";
    for (size_t n = 0; n < text.size(); ++n) {
        RequestHead h;
        EXPECT_EQ(parse(text.substr(0, n), h).kind, HeadResult::Incomplete) << n;
    }
    RequestHead h;
    ASSERT_EQ(parse(text, h).kind, HeadResult::Done);
    EXPECT_EQ(h.content_length, 12u);
}

// #12: each of these was accepted by the old transport; RFC 9112 requires a 400 (or refusing the
// framing) for all of them.
TEST(HttpParse, SmugglingVectorsAreRefused) {
    const std::string start = "POST /api/show HTTP/1.1\r\nHost: localhost\r\n";
    EXPECT_EQ(error_status(start + "Content-Length : 5\r\n\r\nGET /"), 400);
    EXPECT_EQ(error_status(start + "Transfer-Encoding : chunked\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "Content-Length\t: 5\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "X-A: a\rb\r\n\r\n"), 400); // bare CR in a value
    EXPECT_EQ(error_status(start + std::string("Authorization: Bearer k") + '\0' + "x\r\n\r\n"), 400); // NUL
    EXPECT_EQ(error_status(start + "X-A: a\x01\r\n\r\n"), 400);     // other control byte
    EXPECT_EQ(error_status(start + "X-A: a\x7f\r\n\r\n"), 400);     // DEL
    EXPECT_EQ(error_status(start + "X-A: a\nX-B: b\r\n\r\n"), 400); // bare LF
    EXPECT_EQ(error_status("GET / HTTP/1.1\nHost: h\n\n"), 400);    // LF-only lines
    EXPECT_EQ(error_status(start + "X-A: a\r\n b\r\n\r\n"), 400);   // obsolete folding
    EXPECT_EQ(error_status(start + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "Content-Length: 5, 5\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "Content-Length: +5\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    EXPECT_EQ(error_status(start + "Transfer-Encoding: xchunked\r\n\r\n"), 501);
    EXPECT_EQ(error_status("POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + ": empty name\r\n\r\n"), 400);
    EXPECT_EQ(error_status(start + "Bad Name: x\r\n\r\n"), 400);
}

TEST(HttpParse, RequestLine) {
    EXPECT_EQ(error_status("GET  / HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET / HTTP/1.1 \r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET /a b HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET / HTTP/2.0\r\n\r\n"), 505);
    EXPECT_EQ(error_status("GET / HTTX/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET relative HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("G(T / HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET /%zz HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET /%00 HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET /a?x=%4 HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("GET * HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(error_status("\r\nGET / HTTP/1.1\r\n\r\n"), 400);
    RequestHead h;
    ASSERT_EQ(parse("GET http://localhost:8080/api/tags?a=1 HTTP/1.1\r\nHost: x\r\n\r\n", h).kind, HeadResult::Done);
    EXPECT_EQ(h.path, "/api/tags");
    ASSERT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", h).kind, HeadResult::Done);
    EXPECT_EQ(h.path, "*");
    ASSERT_EQ(parse("GET /api/%74ags HTTP/1.1\r\nHost: x\r\n\r\n", h).kind, HeadResult::Done);
    EXPECT_EQ(h.path, "/api/tags");
}

TEST(HttpParse, Limits) {
    HeadLimits limits;
    limits.max_request_line = 64;
    limits.max_head = 256;
    limits.max_fields = 3;
    RequestHead h;
    // A long request line is refused before its end arrives.
    EXPECT_EQ(parse("GET /" + std::string(100, 'a'), h, limits).error.status, 414);
    EXPECT_EQ(parse("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", h, limits).error.status, 414);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nX-A: " + std::string(300, 'v'), h, limits).error.status, 431);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", h, limits).error.status, 431);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", h, limits).kind, HeadResult::Done);
}

TEST(HttpParse, ConnectionAndExpect) {
    RequestHead h;
    ASSERT_EQ(parse("GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", h).kind, HeadResult::Done);
    EXPECT_FALSE(h.keep_alive);
    ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", h).kind, HeadResult::Done);
    EXPECT_FALSE(h.keep_alive);
    EXPECT_EQ(h.minor, 0);
    ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", h).kind, HeadResult::Done);
    EXPECT_TRUE(h.keep_alive);
    ASSERT_EQ(parse("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", h).kind, HeadResult::Done);
    EXPECT_TRUE(h.expect_continue);
    EXPECT_EQ(error_status("POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n"), 417);
}

std::string decode_all(const std::string& body, ChunkedDecoder::Result& r, uint64_t max = 1 << 20) {
    ChunkedDecoder d(max);
    std::string out;
    r = d.feed(body, out);
    return out;
}

TEST(HttpParse, ChunkedWholeAndByteByByte) {
    const std::string body = "5\r\nhello\r\n6;name=\"v\"\r\n world\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    ChunkedDecoder::Result r;
    EXPECT_EQ(decode_all(body, r), "hello world0123456789");
    EXPECT_TRUE(r.done);
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.consumed, body.size() - 4);

    ChunkedDecoder d(1 << 20);
    std::string out;
    size_t used = 0;
    bool done = false;
    for (size_t i = 0; i < body.size() && !done; ++i) {
        const auto step = d.feed(std::string_view(body).substr(i, 1), out);
        ASSERT_FALSE(step.error) << i;
        used += step.consumed;
        done = step.done;
    }
    EXPECT_TRUE(done);
    EXPECT_EQ(used, body.size() - 4);
    EXPECT_EQ(out, "hello world0123456789");
}

TEST(HttpParse, ChunkedErrors) {
    ChunkedDecoder::Result r;
    decode_all("x\r\n", r);
    EXPECT_TRUE(r.error);
    decode_all("5\r\nhelloX\r\n", r); // data longer than its size
    EXPECT_TRUE(r.error);
    decode_all("5\nhello\r\n", r); // bare LF
    EXPECT_TRUE(r.error);
    decode_all(" 5\r\nhello\r\n", r);
    EXPECT_TRUE(r.error);
    decode_all("1234567890abcdef0\r\n", r); // 17 hex digits: would overflow
    EXPECT_TRUE(r.error);
    decode_all("5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n", r);
    EXPECT_TRUE(r.error);
    decode_all("5\r\nhello\r\n0\r\nX-T: a\x01\r\n\r\n", r);
    EXPECT_TRUE(r.error);
    decode_all("8\r\n12345678\r\n", r, 7);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->status, 413);
    decode_all("4\r\n1234\r\n4\r\n1234\r\n", r, 7); // the sum, not just one chunk
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->status, 413);
}

} // namespace
} // namespace hearth::server
