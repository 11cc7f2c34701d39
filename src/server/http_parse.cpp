// server/http_parse.cpp: strict HTTP/1.1 request framing; see http_parse.h.
#include "server/http_parse.h"

#include <algorithm>

namespace hearth::server {
namespace {

ParseError bad(std::string message, int status = 400) {
    return ParseError{status, std::move(message)};
}

HeadResult fail(ParseError e) {
    HeadResult r;
    r.kind = HeadResult::Error;
    r.error = std::move(e);
    return r;
}

char lower_ascii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = lower_ascii(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

// A field value byte: HTAB, visible ASCII, space, or obs-text (0x80-0xFF). No NUL, CR, LF, other controls, DEL.
bool value_byte_ok(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decodes `s` (and '+' as a space when `plus`); nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            if (c == '\0') return std::nullopt;
            i += 2;
        } else if (plus && c == '+') {
            c = ' ';
        }
        out.push_back(c);
    }
    return out;
}

// Splits a field line "name: value" (without CRLF) and checks it; the name is lower-cased.
std::optional<ParseError> split_field(std::string_view line, std::string& name, std::string& value) {
    size_t i = 0;
    while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i])))
        ++i;
    if (i == line.size() || line[i] != ':') {
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) return bad("obsolete line folding in a header field");
        if (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            return bad("whitespace between a header field name and the colon");
        return bad("malformed header field");
    }
    if (i == 0) return bad("empty header field name");
    std::string_view v = line.substr(i + 1);
    for (unsigned char c : v)
        if (!value_byte_ok(c)) return bad("a control character in a header field value");
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
    name = lower(line.substr(0, i));
    value = std::string(v);
    return std::nullopt;
}

std::optional<ParseError> parse_request_line(std::string_view line, RequestHead& out) {
    const size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return bad("malformed request line");
    const size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return bad("malformed request line");
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    for (unsigned char c : method)
        if (!is_tchar(c)) return bad("malformed request method");
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f) return bad("malformed request target");
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9')
        return bad("malformed HTTP version");
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
        return bad("only HTTP/1.0 and HTTP/1.1 are supported", 505);
    out.minor = version[7] - '0';
    out.method = std::string(method);
    out.target = std::string(target);

    std::string_view t = target;
    if (t == "*") {
        if (method != "OPTIONS") return bad("'*' is a target for OPTIONS only");
        out.path = "*";
        return std::nullopt;
    }
    if (t.starts_with("http://") || t.starts_with("https://")) { // absolute-form: the path is what we route
        t.remove_prefix(t.find("://") + 3);
        const size_t slash = t.find_first_of("/?");
        t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
        if (t.front() == '?') return bad("malformed request target");
    }
    if (t.empty() || t.front() != '/') return bad("malformed request target");
    const size_t q = t.find('?');
    auto path = percent_decode(t.substr(0, q), false);
    if (!path) return bad("malformed percent-encoding in the request path");
    out.path = std::move(*path);
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view rest = t.substr(q + 1);
    while (!rest.empty()) {
        const size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        auto k = percent_decode(pair.substr(0, eq), true);
        auto v = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
        if (!k || !v) return bad("malformed percent-encoding in the query");
        out.query.emplace_back(std::move(*k), std::move(*v));
    }
    return std::nullopt;
}

// Framing and connection options from the fields.
std::optional<ParseError> apply_fields(RequestHead& h) {
    const size_t n_cl = h.count("content-length"), n_te = h.count("transfer-encoding");
    if (n_cl > 1) return bad("repeated Content-Length header");
    if (n_te > 1) return bad("repeated Transfer-Encoding header");
    if (n_te == 1) {
        if (h.minor == 0) return bad("Transfer-Encoding in an HTTP/1.0 request");
        if (n_cl == 1) return bad("both Content-Length and Transfer-Encoding");
        if (!iequals(*h.field("transfer-encoding"), "chunked"))
            return bad("only chunked Transfer-Encoding is supported", 501);
        h.chunked = true;
    }
    if (n_cl == 1) {
        const std::string_view v = *h.field("content-length");
        if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return bad("malformed Content-Length");
        uint64_t n = 0;
        for (char c : v)
            n = n * 10 + uint64_t(c - '0');
        h.content_length = n;
    }
    h.keep_alive = h.minor == 1;
    for (const auto& [name, value] : h.fields) {
        if (name != "connection") continue;
        std::string_view rest = value;
        while (!rest.empty()) {
            const size_t comma = rest.find(',');
            std::string_view tok = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t'))
                tok.remove_prefix(1);
            while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t'))
                tok.remove_suffix(1);
            if (iequals(tok, "close")) h.keep_alive = false;
            if (iequals(tok, "keep-alive") && h.minor == 0) h.keep_alive = true;
        }
    }
    if (auto e = h.field("expect")) {
        if (!iequals(*e, "100-continue")) return bad("unsupported Expect: " + std::string(*e), 417);
        h.expect_continue = h.minor == 1;
    }
    return std::nullopt;
}

} // namespace

bool is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

std::optional<std::string_view> RequestHead::field(std::string_view lower_name) const {
    for (const auto& [k, v] : fields)
        if (k == lower_name) return std::string_view(v);
    return std::nullopt;
}

size_t RequestHead::count(std::string_view lower_name) const {
    return static_cast<size_t>(
        std::count_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == lower_name; }));
}

HeadResult parse_head(std::string_view buf, const HeadLimits& limits, RequestHead& out) {
    out = RequestHead{};
    size_t pos = 0;
    bool first = true;
    for (;;) {
        const size_t lf = buf.find('\n', pos);
        if (lf == std::string_view::npos) {
            const std::string_view partial = buf.substr(pos);
            // What has arrived of the current line must already be valid so far: a NUL or bare CR fails now.
            const size_t cr = partial.find('\r');
            if (cr != std::string_view::npos && cr + 1 < partial.size())
                return fail(bad("a bare CR in the request head"));
            if (first && partial.size() > limits.max_request_line)
                return fail(
                    bad("the request line is longer than " + std::to_string(limits.max_request_line) + " bytes", 414));
            if (buf.size() > limits.max_head)
                return fail(bad("the request head is larger than " + std::to_string(limits.max_head) + " bytes", 431));
            return HeadResult{};
        }
        if (lf + 1 > limits.max_head)
            return fail(bad("the request head is larger than " + std::to_string(limits.max_head) + " bytes", 431));
        if (lf == pos || buf[lf - 1] != '\r') return fail(bad("a bare LF in the request head"));
        const std::string_view line = buf.substr(pos, lf - 1 - pos);
        if (line.find('\r') != std::string_view::npos) return fail(bad("a bare CR in the request head"));
        pos = lf + 1;
        if (first) {
            if (line.size() > limits.max_request_line)
                return fail(
                    bad("the request line is longer than " + std::to_string(limits.max_request_line) + " bytes", 414));
            if (auto e = parse_request_line(line, out)) return fail(std::move(*e));
            first = false;
            continue;
        }
        if (line.empty()) break;
        if (out.fields.size() >= limits.max_fields)
            return fail(bad("more than " + std::to_string(limits.max_fields) + " header fields", 431));
        std::string name, value;
        if (auto e = split_field(line, name, value)) return fail(std::move(*e));
        out.fields.emplace_back(std::move(name), std::move(value));
    }
    if (auto e = apply_fields(out)) return fail(std::move(*e));
    HeadResult r;
    r.kind = HeadResult::Done;
    r.consumed = pos;
    return r;
}

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view in, std::string& out) {
    constexpr size_t kMaxSizeLine = 4096, kMaxTrailers = 16 * 1024;
    Result r;
    size_t i = 0;
    const auto error = [&](std::string msg, int status = 400) {
        r.consumed = i;
        r.error = ParseError{status, std::move(msg)};
        return r;
    };
    while (i < in.size() && state_ != State::Done) {
        const char c = in[i];
        switch (state_) {
        case State::Size: {
            const int h = hex_value(c);
            if (h >= 0) {
                if (++size_digits_ > 15) return error("a chunk size is too large");
                remaining_ = remaining_ * 16 + uint64_t(h);
                ++i;
            } else if ((c == ';' || c == '\r') && size_digits_ > 0) {
                state_ = c == ';' ? State::Ext : State::SizeLf;
                ++i;
            } else {
                return error("malformed chunk size");
            }
            if (++line_len_ > kMaxSizeLine) return error("a chunk size line is too long");
            break;
        }
        case State::Ext:
            if (c == '\r') {
                state_ = State::SizeLf;
            } else if (!value_byte_ok(static_cast<unsigned char>(c))) {
                return error("a control character in a chunk extension");
            }
            ++i;
            if (++line_len_ > kMaxSizeLine) return error("a chunk size line is too long");
            break;
        case State::SizeLf:
            if (c != '\n') return error("a bare CR in a chunk size line");
            ++i;
            line_len_ = 0;
            size_digits_ = 0;
            if (remaining_ == 0) {
                state_ = State::Trailer;
            } else {
                if (remaining_ > max_body_ || total_ + remaining_ > max_body_)
                    return error("the request body is larger than " + std::to_string(max_body_) + " bytes", 413);
                total_ += remaining_;
                state_ = State::Data;
            }
            break;
        case State::Data: {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
            out.append(in.data() + i, n);
            i += n;
            remaining_ -= n;
            if (remaining_ == 0) state_ = State::DataCr;
            break;
        }
        case State::DataCr:
            if (c != '\r') return error("chunk data longer than its size");
            ++i;
            state_ = State::DataLf;
            break;
        case State::DataLf:
            if (c != '\n') return error("a bare CR after chunk data");
            ++i;
            state_ = State::Size;
            break;
        case State::Trailer:
            ++i;
            if (++trailer_bytes_ > kMaxTrailers) return error("the chunked trailers are too large", 431);
            if (c != '\n') {
                trailer_line_.push_back(c);
                break;
            }
            if (trailer_line_.empty() || trailer_line_.back() != '\r')
                return error("a bare LF in the chunked trailers");
            trailer_line_.pop_back();
            if (trailer_line_.find('\r') != std::string::npos) return error("a bare CR in the chunked trailers");
            if (trailer_line_.empty()) {
                state_ = State::Done;
                break;
            }
            {
                std::string name, value;
                if (auto e = split_field(trailer_line_, name, value)) return error(e->message);
            }
            trailer_line_.clear();
            break;
        case State::Done:
            break;
        }
    }
    r.consumed = i;
    r.done = state_ == State::Done;
    return r;
}

} // namespace hearth::server
