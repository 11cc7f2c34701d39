// libFuzzer target for the SSE parser (upstream/sse.h), which reads what an upstream server streams:
// every input parses or fails cleanly, never crashes, and the events (and done / error) are the same
// whether the bytes arrive at once, split at two points chosen by the input, or one byte at a time.
#include "upstream/sse.h"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

using namespace hearth::upstream;

namespace {

struct Outcome {
    std::vector<SseEvent> events;
    bool ok = true, done = false, mid_event = false;
};

Outcome parse(std::string_view in, size_t max_line, size_t cut_a, size_t cut_b, bool bytewise) {
    SseParser p(max_line);
    Outcome out;
    if (bytewise) {
        for (size_t i = 0; i < in.size(); ++i)
            out.ok = p.feed(in.substr(i, 1), out.events).is_ok() && out.ok;
    } else {
        out.ok = p.feed(in.substr(0, cut_a), out.events).is_ok();
        out.ok = p.feed(in.substr(cut_a, cut_b - cut_a), out.events).is_ok() && out.ok;
        out.ok = p.feed(in.substr(cut_b), out.events).is_ok() && out.ok;
    }
    if (in.empty()) out.ok = p.feed({}, out.events).is_ok();
    out.done = p.done();
    out.mid_event = p.mid_event();
    return out;
}

bool same(const Outcome& a, const Outcome& b) {
    if (a.ok != b.ok || a.done != b.done || a.events.size() != b.events.size()) return false;
    if (a.ok && a.mid_event != b.mid_event) return false; // after an error the partial line may differ
    for (size_t i = 0; i < a.events.size(); ++i)
        if (a.events[i].data != b.events[i].data || a.events[i].event != b.events[i].event ||
            a.events[i].id != b.events[i].id)
            return false;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    // The first byte picks a small line limit so the fuzzer reaches it; the next two pick the cuts.
    const size_t max_line = 8 + data[0] * 4;
    const std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);
    size_t a = data[1] % (in.size() + 1), b = data[2] % (in.size() + 1);
    if (a > b) std::swap(a, b);
    const Outcome whole = parse(in, max_line, in.size(), in.size(), false);
    for (const auto& e : whole.events)
        if (e.data.size() > max_line || e.data == "[DONE]") __builtin_trap();
    if (!same(whole, parse(in, max_line, a, b, false))) __builtin_trap();
    if (!same(whole, parse(in, max_line, 0, 0, true))) __builtin_trap();
    return 0;
}
