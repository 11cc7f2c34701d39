// upstream/sse.h: an incremental parser for Server-Sent Events (the `text/event-stream` format of the
// WHATWG HTML standard, section 9.2 "Server-sent events"), as OpenAI-compatible servers stream chat chunks.
//
// Pure: no I/O, no curl. Feed bytes as they arrive, in pieces of any size; complete events come out. The
// events are the same whatever the split (a property the tests and tests/fuzz/fuzz_sse.cpp check).
//
// What it understands:
//   - lines end in CRLF, LF or a lone CR (a CR at the end of one piece and an LF at the start of the next
//     are one line end); a UTF-8 byte-order mark at the very start of the stream is dropped;
//   - `field: value` (one space after the colon is dropped), `field` alone (empty value), `:comment` lines
//     (ignored: servers send them as keep-alives); fields `data` (lines joined with "\n"), `event`, `id`;
//     `retry` and unknown fields are ignored;
//   - a blank line dispatches the event; an event without any data line is not dispatched;
//   - `data: [DONE]` (OpenAI's end-of-stream marker) is not an event: it sets done(), and every byte after
//     it is ignored;
//   - bytes after the last blank line form an incomplete event, which is dropped at the end of the stream.
// Bounds: a line longer than max_line bytes, or an event whose data grows past max_line bytes, is an error
// (the parser keeps at most about 2 * max_line bytes, whatever the input). Errors are sticky.
#pragma once

#include "base/status.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::upstream {

struct SseEvent {
    std::string event; // the `event:` field; empty means the default type "message"
    std::string data;  // the data lines joined with "\n" (no trailing newline)
    std::string id;    // the last `id:` seen in the stream (it persists across events, as the spec says)
};

class SseParser {
public:
    explicit SseParser(size_t max_line = 1u << 20) : max_line_(max_line) {}

    // Parses `bytes` and appends every event it completes to `out`. After an error, or after [DONE], it
    // appends nothing more.
    Status feed(std::string_view bytes, std::vector<SseEvent>& out);

    bool done() const { return done_; } // `data: [DONE]` was seen
    // Bytes of an incomplete line or event are pending (the stream ended mid-event if it ends now).
    bool mid_event() const { return !line_.empty() || has_data_; }

private:
    Status take_line(std::vector<SseEvent>& out); // processes line_ and clears it

    size_t max_line_;
    std::string line_; // the current line so far, without its terminator
    SseEvent pending_; // the event being built
    bool has_data_ = false;
    bool after_cr_ = false;  // the last byte was a CR: an LF right after it ends no new line
    bool first_line_ = true; // a BOM may only open the stream
    bool done_ = false;
    Status error_;
};

} // namespace hearth::upstream
