// libFuzzer target for the HTTP request framing (server/http_parse.h): every input ends in a head, an
// "incomplete" or an error, never a crash. Two properties are checked, so the fuzzer also hunts for
// logic slips: a head that parses is "incomplete" at every shorter prefix (feeding bytes one read at a
// time cannot change the answer), and a chunked body decodes to the same bytes and the same end whether it
// arrives at once or split at an arbitrary point.
#include "server/http_parse.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace hearth::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    HeadLimits limits;
    limits.max_head = 4096; // small limits so the fuzzer reaches them
    limits.max_request_line = 1024;
    limits.max_fields = 16;
    RequestHead head;
    const HeadResult r = parse_head(in, limits, head);
    if (r.kind != HeadResult::Done) return 0;
    if (r.consumed > size) __builtin_trap();
    const size_t cut = size ? data[0] % (r.consumed ? r.consumed : 1) : 0;
    RequestHead partial;
    if (parse_head(in.substr(0, cut), limits, partial).kind != HeadResult::Incomplete) __builtin_trap();
    if (!head.chunked) return 0;

    const std::string_view body = in.substr(r.consumed);
    const uint64_t max_body = 1024;
    std::string whole_out;
    ChunkedDecoder whole(max_body);
    const auto w = whole.feed(body, whole_out);

    const size_t split = body.empty() ? 0 : data[size - 1] % (body.size() + 1);
    std::string split_out;
    ChunkedDecoder parts(max_body);
    auto a = parts.feed(body.substr(0, split), split_out);
    ChunkedDecoder::Result b;
    if (!a.error && !a.done) {
        if (a.consumed != split) __builtin_trap(); // an undecided decoder takes every byte it is given
        b = parts.feed(body.substr(split), split_out);
        b.consumed += split;
    } else {
        b = a;
    }
    if (w.done != b.done || w.error.has_value() != b.error.has_value()) __builtin_trap();
    if (!w.error && (w.consumed != b.consumed || whole_out != split_out)) __builtin_trap();
    if (whole_out.size() > max_body) __builtin_trap();
    return 0;
}
