// server/http_parse.h: HTTP/1.1 request framing (RFC 9112), strict, as pure functions over bytes so it can
// be unit-tested and fuzzed without a socket. The transport (http.cpp) feeds it what a connection has sent.
//
// Strict means anything ambiguous is an error, never "repaired": lines end in CRLF (a bare CR or LF is
// refused), a field name is a token followed directly by ':' (no whitespace before the colon, no obsolete
// line folding), a field value has no CR, LF, NUL or other control bytes except tab, Content-Length is
// digits only and appears once, Transfer-Encoding is exactly "chunked" and never with Content-Length.
// After any error the connection must be closed: the rest of its bytes cannot be trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::server {

struct HeadLimits {
    size_t max_request_line = 8 * 1024; // longer: 414
    size_t max_head = 64 * 1024;        // request line + fields + blank line; longer: 431
    size_t max_fields = 100;            // more: 431
};

// A parsed request head. Field names are lower-cased; values have surrounding spaces/tabs trimmed.
struct RequestHead {
    std::string method;
    std::string target;                                     // as sent: "/path?query"
    std::string path;                                       // percent-decoded, without the query
    std::vector<std::pair<std::string, std::string>> query; // decoded; '+' is a space
    int minor = 1;                                          // HTTP/1.<minor>
    std::vector<std::pair<std::string, std::string>> fields;
    // Framing, decided from the fields.
    bool chunked = false;
    uint64_t content_length = 0; // when not chunked
    bool keep_alive = true;      // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive"
    bool expect_continue = false;

    // The value of a field, or nullopt; `count` is how often it appears.
    std::optional<std::string_view> field(std::string_view lower_name) const;
    size_t count(std::string_view lower_name) const;
};

struct ParseError {
    int status = 400; // 400, 414, 431, 501, 505
    std::string message;
};

// The outcome of looking at the start of a connection's buffer.
struct HeadResult {
    enum Kind { Incomplete, Done, Error } kind = Incomplete;
    size_t consumed = 0; // Done: bytes of the head, blank line included
    ParseError error;    // Error
};

// Parses a request head from the start of `buf`. Incomplete when more bytes are needed (and nothing seen so
// far is wrong or over a limit). Leading empty lines before a request line are refused (RFC 9112 allows a
// server to ignore them; we do not, since nothing we serve sends them).
HeadResult parse_head(std::string_view buf, const HeadLimits& limits, RequestHead& out);

// An incremental decoder of a chunked body (RFC 9112 §7.1): feed() takes the bytes after the head, appends
// the decoded data to `out`, and says how many it used. Chunk extensions are skipped (bounded), trailer
// fields are parsed with the same rules as header fields and dropped.
class ChunkedDecoder {
public:
    struct Result {
        size_t consumed = 0;
        bool done = false; // the last chunk and the trailers were read
        std::optional<ParseError> error;
    };
    // `max_body`: more decoded bytes than this is a 413 error.
    explicit ChunkedDecoder(uint64_t max_body) : max_body_(max_body) {}
    Result feed(std::string_view in, std::string& out);

private:
    enum class State { Size, Ext, SizeLf, Data, DataCr, DataLf, Trailer, Done };
    State state_ = State::Size;
    uint64_t remaining_ = 0, total_ = 0, max_body_;
    int size_digits_ = 0;
    size_t line_len_ = 0; // bytes of the current size line or trailer line
    size_t trailer_bytes_ = 0;
    std::string trailer_line_;
};

// A field-name token character (RFC 9110 §5.6.2).
bool is_tchar(unsigned char c);

} // namespace hearth::server
