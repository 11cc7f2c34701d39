// Tests for upstream/sse.h: the SSE line and field rules, and that any split of the input gives the same
// events.
#include "upstream/sse.h"

#include <gtest/gtest.h>

using namespace hearth;
using namespace hearth::upstream;

namespace {

struct Parsed {
    std::vector<SseEvent> events;
    bool ok = true, done = false, mid_event = false;
};

// Feeds `input` in pieces cut at `cuts` (ascending offsets).
Parsed parse(std::string_view input, const std::vector<size_t>& cuts = {}, size_t max_line = 1u << 20) {
    SseParser p(max_line);
    Parsed out;
    size_t at = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(input.size());
    for (size_t end : ends) {
        out.ok = p.feed(input.substr(at, end - at), out.events).is_ok() && out.ok;
        at = end;
    }
    out.done = p.done();
    out.mid_event = p.mid_event();
    return out;
}

std::vector<std::string> datas(const Parsed& p) {
    std::vector<std::string> d;
    for (const auto& e : p.events)
        d.push_back(e.data);
    return d;
}

bool same(const Parsed& a, const Parsed& b) {
    if (a.ok != b.ok || a.done != b.done || a.mid_event != b.mid_event || a.events.size() != b.events.size())
        return false;
    for (size_t i = 0; i < a.events.size(); ++i)
        if (a.events[i].data != b.events[i].data || a.events[i].event != b.events[i].event ||
            a.events[i].id != b.events[i].id)
            return false;
    return true;
}

// A stream with every feature: BOM, CRLF, CR, LF, comments, multi-line data, fields without a space or a
// value, event and id, retry, an event without data, UTF-8, then [DONE] and bytes after it.
const std::string rich = "\xEF\xBB\xBF"
                         ": keep-alive\r\n"
                         "data: {\"a\":1}\r\n\r\n"
                         "event: update\rid: 7\rdata:first\rdata: second\r\r"
                         "retry: 100\n"
                         "data\n\n"
                         "event: lonely\n\n"
                         "data: h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82\n"
                         "unknown: x\n"
                         "\n"
                         "data: [DONE]\n\n"
                         "data: after done\n\n";

} // namespace

TEST(Sse, OneEventPerBlankLine) {
    const Parsed p = parse("data: one\n\ndata: two\n\n");
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(datas(p), (std::vector<std::string>{"one", "two"}));
    EXPECT_FALSE(p.done);
    EXPECT_FALSE(p.mid_event);
}

TEST(Sse, RichStream) {
    const Parsed p = parse(rich);
    ASSERT_TRUE(p.ok);
    ASSERT_EQ(p.events.size(), 4u);
    EXPECT_EQ(p.events[0].data, "{\"a\":1}"); // BOM and comment dropped, CRLF
    EXPECT_EQ(p.events[1].event, "update");   // lone CRs, no space after the colon
    EXPECT_EQ(p.events[1].id, "7");
    EXPECT_EQ(p.events[1].data, "first\nsecond");
    EXPECT_EQ(p.events[2].data, ""); // "data" alone is an empty data line; the event type reset
    EXPECT_EQ(p.events[2].event, "");
    EXPECT_EQ(p.events[2].id, "7"); // the last event id persists
    EXPECT_EQ(p.events[3].data, "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82");
    EXPECT_TRUE(p.done); // [DONE] is no event, and what follows it is ignored
}

TEST(Sse, CrLfSplitBetweenPiecesIsOneLineEnd) {
    // "\r" ends one piece and "\n" starts the next: one line end, so the blank line after it dispatches.
    const Parsed p = parse("data: a\r\n\r\n", {8});
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(datas(p), (std::vector<std::string>{"a"}));
    EXPECT_FALSE(p.mid_event);
}

TEST(Sse, IncompleteEventIsNotDispatched) {
    const Parsed p = parse("data: a\n\ndata: b\n");
    EXPECT_EQ(datas(p), (std::vector<std::string>{"a"}));
    EXPECT_TRUE(p.mid_event);
    EXPECT_TRUE(parse("data: a\n\ndata: partial").mid_event);
}

TEST(Sse, EveryTwoWaySplitGivesTheSameEvents) {
    const Parsed whole = parse(rich);
    for (size_t cut = 0; cut <= rich.size(); ++cut)
        EXPECT_TRUE(same(parse(rich, {cut}), whole)) << "cut at " << cut;
}

TEST(Sse, EveryThreeWaySplitGivesTheSameEvents) {
    const std::string s = "data: x\r\n\r\n:c\rdata:y\r\rdata: [DONE]\r\n";
    const Parsed whole = parse(s);
    ASSERT_EQ(whole.events.size(), 2u);
    for (size_t a = 0; a <= s.size(); ++a)
        for (size_t b = a; b <= s.size(); ++b)
            EXPECT_TRUE(same(parse(s, {a, b}), whole)) << a << "," << b;
}

TEST(Sse, ByteAtATimeGivesTheSameEvents) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < rich.size(); ++i)
        cuts.push_back(i);
    EXPECT_TRUE(same(parse(rich, cuts), parse(rich)));
}

TEST(Sse, LineLongerThanTheLimitIsAnError) {
    const std::string line = "data: " + std::string(100, 'x');
    EXPECT_FALSE(parse(line, {}, 64).ok); // even without its line end
    EXPECT_FALSE(parse(line + "\n\n", {10, 50}, 64).ok);
    EXPECT_TRUE(parse(line + "\n\n", {}, 128).ok);
}

TEST(Sse, EventDataLargerThanTheLimitIsAnError) {
    std::string s;
    for (int i = 0; i < 20; ++i)
        s += "data: 0123456789\n"; // short lines, but the event's data grows
    EXPECT_FALSE(parse(s + "\n", {}, 100).ok);
    EXPECT_TRUE(parse(s + "\n", {}, 1000).ok);
}

TEST(Sse, ErrorsAreSticky) {
    SseParser p(16);
    std::vector<SseEvent> out;
    EXPECT_FALSE(p.feed(std::string(40, 'x'), out).is_ok());
    EXPECT_FALSE(p.feed("\n\ndata: ok\n\n", out).is_ok());
    EXPECT_TRUE(out.empty());
}
