// Tests for upstream/upstream.h against the fault-injecting fake server (fake_upstream.h), all on loopback.
// Each fault test sets the timeout under test short and every other limit long, so "it ended well before the
// long limits" shows that the right limit stopped it; the upper bounds are loose on purpose (CI is slow).
#include "upstream/fake_upstream.h"
#include "upstream/openai_json.h"
#include "upstream/upstream.h"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>

using namespace hearth;
using namespace hearth::upstream;
using hearth::test::FakeConfig;
using hearth::test::FakeMode;
using hearth::test::FakeUpstream;

namespace {

const std::string key = "sk-test-SECRET-0123456789";
const std::string stream_body = R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})";
const std::string plain_body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";

// An endpoint for a loopback fake: every limit long, so a test shortens only the one it checks.
Endpoint endpoint_for(const FakeUpstream& up) {
    Endpoint ep;
    ep.name = "fake";
    ep.base_url = up.base_url();
    ep.model = "m";
    ep.api_key = key;
    ep.allow_insecure = true;
    ep.connect_timeout_s = 30;
    ep.first_byte_timeout_s = 30;
    ep.idle_timeout_s = 30;
    ep.total_timeout_s = 30;
    return ep;
}

struct Outcome {
    Result<Response> result = error("not run");
    std::vector<Delta> deltas;
    double seconds = 0;
};

Outcome call(const Endpoint& ep, bool stream = true, const std::atomic<bool>* cancel = nullptr,
             size_t stop_after = SIZE_MAX) {
    Outcome out;
    const auto t0 = std::chrono::steady_clock::now();
    out.result = chat(
        ep, stream ? stream_body : plain_body, stream,
        [&](const Delta& d) {
            out.deltas.push_back(d);
            return out.deltas.size() < stop_after;
        },
        cancel);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Whatever happened, the key never shows in a message.
    EXPECT_EQ(out.result.message().find(key), std::string::npos) << out.result.message();
    return out;
}

FakeConfig fake(FakeMode mode, int trickle_ms = 20) {
    FakeConfig cfg;
    cfg.mode = mode;
    cfg.trickle_ms = trickle_ms;
    return cfg;
}

std::string joined(const std::vector<Delta>& deltas) {
    std::string s;
    for (const auto& d : deltas)
        s += d.content;
    return s;
}

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

// ---- static checks ---------------------------------------------------------------------------------------

TEST(UpstreamEndpoint, StaticChecks) {
    Endpoint ep;
    ep.name = "cloud";
    ep.base_url = "https://api.openai.com/v1";
    EXPECT_TRUE(check_endpoint(ep).is_ok());
    ep.base_url = "https://api.openai.com/v1/"; // a trailing slash is fine
    EXPECT_TRUE(check_endpoint(ep).is_ok());

    struct Case {
        std::string url;
        Code code;
    };
    for (const Case& c : std::vector<Case>{{"http://api.example.com/v1", Code::PolicyBlocked},
                                           {"https://127.0.0.1:8080/v1", Code::PolicyBlocked},
                                           {"https://10.1.2.3/v1", Code::PolicyBlocked},
                                           {"https://169.254.169.254/v1", Code::PolicyBlocked},
                                           {"https://[::1]:8080/v1", Code::PolicyBlocked},
                                           {"https://[fd00::1]/v1", Code::PolicyBlocked},
                                           {"https://[fe80::1]/v1", Code::PolicyBlocked},
                                           {"https://[::ffff:192.168.1.1]/v1", Code::PolicyBlocked},
                                           {"https://user:hunter2@api.example.com/v1", Code::BadField},
                                           {"https://api.example.com/v1?x=1", Code::BadField},
                                           {"https://api.example.com/v1#frag", Code::BadField},
                                           {"ftp://api.example.com/v1", Code::BadField},
                                           {"not a url", Code::BadField},
                                           {"", Code::BadField}}) {
        ep.base_url = c.url;
        const Status st = check_endpoint(ep);
        EXPECT_EQ(st.code(), c.code) << c.url << ": " << st.message();
        EXPECT_NE(st.message().find("upstream 'cloud'"), std::string::npos) << st.message();
        EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.message();
    }
    // With allow_insecure, http:// and private addresses are the user's choice.
    ep.allow_insecure = true;
    ep.base_url = "http://10.0.0.5:8000/v1";
    EXPECT_TRUE(check_endpoint(ep).is_ok());
    ep.base_url = "http://user:pw@10.0.0.5:8000/v1"; // credentials in the URL stay refused
    EXPECT_EQ(check_endpoint(ep).code(), Code::BadField);
}

TEST(UpstreamEndpoint, BadLimitsAndKeys) {
    Endpoint ep;
    ep.name = "cloud";
    ep.base_url = "https://api.example.com/v1";
    ep.idle_timeout_s = 0;
    EXPECT_EQ(check_endpoint(ep).code(), Code::BadField);
    ep.idle_timeout_s = 1;
    ep.max_response_bytes = 0;
    EXPECT_EQ(check_endpoint(ep).code(), Code::BadField);
    ep.max_response_bytes = 1000;
    ep.api_key = "sk-abc\r\nX-Injected: 1"; // would forge a header
    const Status st = check_endpoint(ep);
    EXPECT_EQ(st.code(), Code::BadField);
    EXPECT_EQ(st.message().find("sk-abc"), std::string::npos);
}

// ---- answers ---------------------------------------------------------------------------------------------

TEST(Upstream, NonStreamedAnswer) {
    FakeUpstream up;
    const Outcome o = call(endpoint_for(up), /*stream=*/false);
    ASSERT_TRUE(o.result) << o.result.message();
    EXPECT_EQ(o.result->content, "Hello, world");
    EXPECT_EQ(o.result->finish_reason, "stop");
    EXPECT_EQ(o.result->model, "fake-model");
    EXPECT_EQ(o.result->prompt_tokens, 7);
    EXPECT_EQ(o.result->completion_tokens, 3);
    EXPECT_GT(o.result->bytes_received, 0u);
    EXPECT_GT(o.result->total_s, 0.0);
    EXPECT_TRUE(o.deltas.empty()); // not streaming: no deltas
}

TEST(Upstream, StreamArrivesInOrderWithUtf8SplitAcrossReads) {
    FakeConfig cfg;
    // Multi-byte characters sent in 3-byte writes, so characters are split across reads.
    cfg.chunks = {"h\xC3\xA9", "llo ", "\xE6\x97\xA5\xE6\x9C\xAC", " \xF0\x9F\x99\x82", "!"};
    cfg.write_size = 3; // any 4-byte character spans two writes
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up));
    ASSERT_TRUE(o.result) << o.result.message();
    ASSERT_EQ(o.deltas.size(), cfg.chunks.size());
    for (size_t i = 0; i < cfg.chunks.size(); ++i)
        EXPECT_EQ(o.deltas[i].content, cfg.chunks[i]) << i;
    EXPECT_EQ(o.deltas.back().finish_reason, "stop");
    EXPECT_EQ(o.result->content, "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82!");
    EXPECT_EQ(o.result->finish_reason, "stop");
}

TEST(Upstream, ChunkedEventStream) {
    // HTTP/1.1 chunked framing, with chunk boundaries falling inside SSE lines.
    const std::string sse = FakeUpstream::sse_chunk("ab") + FakeUpstream::sse_chunk("cd", "stop") + "data: [DONE]\n\n";
    std::string chunked;
    for (size_t at = 0; at < sse.size(); at += 13) {
        const std::string piece = sse.substr(at, 13);
        char len[16];
        std::snprintf(len, sizeof len, "%zx\r\n", piece.size());
        chunked += len + piece + "\r\n";
    }
    FakeConfig cfg;
    cfg.mode = FakeMode::Raw;
    cfg.raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked +
              "0\r\n\r\n";
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up));
    ASSERT_TRUE(o.result) << o.result.message();
    EXPECT_EQ(joined(o.deltas), "abcd");
}

TEST(Upstream, ConcurrentCallsAreIndependent) {
    FakeConfig cfg;
    cfg.chunks = {"one ", "two ", "three"};
    FakeUpstream up(cfg);
    FakeUpstream hang(fake(FakeMode::Hang));
    std::vector<Outcome> outcomes(6);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < outcomes.size(); ++i)
        threads.emplace_back([&, i] {
            Endpoint ep = endpoint_for(i % 2 ? hang : up);
            ep.first_byte_timeout_s = 0.3;
            outcomes[i] = call(ep);
        });
    for (auto& t : threads)
        t.join();
    for (size_t i = 0; i < outcomes.size(); ++i) {
        if (i % 2) {
            EXPECT_EQ(outcomes[i].result.code(), Code::Timeout) << outcomes[i].result.message();
        } else {
            ASSERT_TRUE(outcomes[i].result) << outcomes[i].result.message();
            EXPECT_EQ(joined(outcomes[i].deltas), "one two three");
        }
    }
    EXPECT_EQ(up.requests().size(), 3u);
}

TEST(Upstream, SendsExactlyTheBodyAndOnlyItsOwnHeaders) {
    FakeUpstream up;
    ASSERT_TRUE(call(endpoint_for(up)).result);
    const auto reqs = up.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_TRUE(reqs[0].head.starts_with("POST /v1/chat/completions HTTP/1.1\r\n")) << reqs[0].head;
    EXPECT_EQ(reqs[0].body, stream_body);
    std::vector<std::string> names;
    std::string auth;
    std::string_view head = reqs[0].head;
    head.remove_prefix(head.find("\r\n") + 2);
    for (size_t eol; (eol = head.find("\r\n")) != 0 && eol != std::string_view::npos; head.remove_prefix(eol + 2)) {
        const std::string line(head.substr(0, eol));
        const std::string name = lower(line.substr(0, line.find(':')));
        names.push_back(name);
        if (name == "authorization") auth = line.substr(line.find(':') + 2);
        if (name == "content-type") {
            EXPECT_EQ(line, "Content-Type: application/json");
        }
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"authorization", "content-length", "content-type", "host"}));
    EXPECT_EQ(auth, "Bearer " + key);
}

TEST(Upstream, NoAuthorizationWithoutAKey) {
    FakeUpstream up;
    Endpoint ep = endpoint_for(up);
    ep.api_key.clear();
    ASSERT_TRUE(call(ep).result);
    EXPECT_EQ(lower(up.received()).find("authorization"), std::string::npos);
}

TEST(Upstream, ToolCallsUsageAndLogprobsFromAStream) {
    using nlohmann::json;
    auto chunk = [](json delta, json finish = nullptr, json extra = json::object()) {
        json c = {{"model", "big"}, {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
        c.update(extra);
        return "data: " + c.dump() + "\r\n\r\n";
    };
    const json tc0 = {{{"index", 0}, {"id", "call_a"}, {"function", {{"name", "get_weather"}, {"arguments", ""}}}}};
    const json tc1 = {{{"index", 1}, {"id", "call_b"}, {"function", {{"name", "get_time"}, {"arguments", "{}"}}}}};
    const json frag1 = {{{"index", 0}, {"function", {{"arguments", "{\"city\":"}}}}};
    const json frag2 = {{{"index", 0}, {"function", {{"arguments", "\"Paris\"}"}}}}};
    const json lp = {{"content", {{{"token", "x"}, {"logprob", -0.5}}}}};
    json with_lp = {{"model", "big"}, {"choices", {{{"index", 0}, {"delta", {{"content", "x"}}}, {"logprobs", lp}}}}};
    const std::string body =
        ": comment\r\n\r\n" + chunk({{"role", "assistant"}, {"content", ""}}) + "data: " + with_lp.dump() + "\r\n\r\n" +
        chunk({{"tool_calls", tc0}}) + chunk({{"tool_calls", frag1}}) + chunk({{"tool_calls", tc1}}) +
        chunk({{"tool_calls", frag2}}) + chunk(json::object(), "tool_calls") + "data: " +
        json({{"choices", json::array()}, {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 22}}}}).dump() +
        "\r\n\r\ndata: [DONE]\r\n\r\n";
    FakeConfig cfg;
    cfg.mode = FakeMode::Raw;
    cfg.raw = FakeUpstream::http(200, "text/event-stream; charset=utf-8", body);
    cfg.write_size = 7;
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up));
    ASSERT_TRUE(o.result) << o.result.message();
    const Response& r = *o.result;
    ASSERT_EQ(r.tool_calls.size(), 2u);
    EXPECT_EQ(r.tool_calls[0].id, "call_a");
    EXPECT_EQ(r.tool_calls[0].name, "get_weather");
    EXPECT_EQ(r.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
    EXPECT_EQ(r.tool_calls[1].index, 1);
    EXPECT_EQ(r.tool_calls[1].name, "get_time");
    EXPECT_EQ(r.tool_calls[1].arguments, "{}");
    EXPECT_EQ(r.finish_reason, "tool_calls");
    EXPECT_EQ(r.content, "x");
    EXPECT_EQ(r.model, "big");
    EXPECT_EQ(r.prompt_tokens, 11);
    EXPECT_EQ(r.completion_tokens, 22);
    EXPECT_EQ(r.logprobs, lp);
    // The role-only chunk carries nothing, so it is no delta; the others arrive in order.
    ASSERT_EQ(o.deltas.size(), 6u);
    EXPECT_EQ(o.deltas[0].logprobs, lp);
    EXPECT_EQ(o.deltas[2].tool_calls.at(0).arguments, "{\"city\":");
    EXPECT_EQ(o.deltas[5].finish_reason, "tool_calls");
}

TEST(Upstream, NonStreamedToolCalls) {
    const std::string answer = R"({"model":"big","choices":[{"index":0,"finish_reason":"tool_calls",
        "message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"f","arguments":"{\"a\":1}"}}]}}]})";
    FakeConfig cfg;
    cfg.mode = FakeMode::Raw;
    cfg.raw = FakeUpstream::http(200, "application/json", answer);
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up), false);
    ASSERT_TRUE(o.result) << o.result.message();
    ASSERT_EQ(o.result->tool_calls.size(), 1u);
    EXPECT_EQ(o.result->tool_calls[0].id, "c1");
    EXPECT_EQ(o.result->tool_calls[0].name, "f");
    EXPECT_EQ(o.result->tool_calls[0].arguments, "{\"a\":1}");
    EXPECT_EQ(o.result->content, "");
    EXPECT_EQ(o.result->prompt_tokens, -1); // no usage sent
}

TEST(Upstream, StreamAskedButJsonAnsweredComesAsOneDelta) {
    FakeConfig cfg;
    cfg.mode = FakeMode::Raw;
    cfg.raw = FakeUpstream::http(200, "application/json", FakeUpstream::json_answer("all at once"));
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up));
    ASSERT_TRUE(o.result) << o.result.message();
    ASSERT_EQ(o.deltas.size(), 1u);
    EXPECT_EQ(o.deltas[0].content, "all at once");
    EXPECT_EQ(o.deltas[0].finish_reason, "stop");
}

TEST(Upstream, StreamEndingWithoutDoneNeedsAFinishReason) {
    FakeConfig cfg;
    cfg.mode = FakeMode::Raw;
    cfg.raw = FakeUpstream::http(200, "text/event-stream", FakeUpstream::sse_chunk("a", "stop"));
    {
        FakeUpstream up(cfg);
        EXPECT_TRUE(call(endpoint_for(up)).result);
    }
    cfg.raw = FakeUpstream::http(200, "text/event-stream", FakeUpstream::sse_chunk("a"));
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up));
    EXPECT_EQ(o.result.code(), Code::Upstream) << o.result.message();
    EXPECT_EQ(joined(o.deltas), "a");
}

TEST(Upstream, ErrorsInsideA200AreUpstreamErrors) {
    for (const std::string& body :
         {std::string("event: error\ndata: {\"message\":\"overloaded\"}\n\n"),
          std::string("data: {\"error\":{\"message\":\"overloaded\"}}\n\n"), std::string("data: [1,2]\n\n"),
          std::string("data: {\"choices\":[{\"delta\":{\"content\":5}}]}\n\n"), std::string("data: {}\n\n")}) {
        FakeConfig cfg;
        cfg.mode = FakeMode::Raw;
        cfg.raw = FakeUpstream::http(200, "text/event-stream", body);
        FakeUpstream up(cfg);
        const Outcome o = call(endpoint_for(up));
        EXPECT_EQ(o.result.code(), Code::Upstream) << body << ": " << o.result.message();
    }
}

// ---- faults ----------------------------------------------------------------------------------------------

TEST(Upstream, DownIsAnUpstreamError) {
    FakeUpstream up; // only for the endpoint's shape
    Endpoint ep = endpoint_for(up);
    ep.base_url = "http://127.0.0.1:" + std::to_string(FakeUpstream::refused_port()) + "/v1";
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Upstream) << o.result.message();
    EXPECT_NE(o.result.message().find("upstream 'fake'"), std::string::npos);
    EXPECT_LT(o.seconds, 10.0);
}

TEST(Upstream, UnansweredConnectHitsTheConnectTimeout) {
    FakeUpstream up; // only for the endpoint's shape
    hearth::test::FullBacklog full;
    Endpoint ep = endpoint_for(up);
    ep.base_url = "http://127.0.0.1:" + std::to_string(full.port()) + "/v1";
    ep.connect_timeout_s = 0.3;
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Timeout) << o.result.message();
    EXPECT_NE(o.result.message().find("connect"), std::string::npos) << o.result.message();
    EXPECT_GE(o.seconds, 0.3);
    EXPECT_LT(o.seconds, 10.0);
}

TEST(Upstream, HangHitsTheFirstByteTimeout) {
    FakeUpstream up(fake(FakeMode::Hang));
    Endpoint ep = endpoint_for(up);
    ep.first_byte_timeout_s = 0.3;
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Timeout) << o.result.message();
    EXPECT_NE(o.result.message().find("first-byte"), std::string::npos) << o.result.message();
    EXPECT_GE(o.seconds, 0.3);
    EXPECT_LT(o.seconds, 10.0); // far below the other limits (30 s)
}

TEST(Upstream, Http500IsAnUpstreamErrorWithTheServersMessage) {
    FakeUpstream up(fake(FakeMode::Http500));
    const Outcome o = call(endpoint_for(up));
    EXPECT_EQ(o.result.code(), Code::Upstream);
    EXPECT_NE(o.result.message().find("HTTP 500"), std::string::npos) << o.result.message();
    EXPECT_NE(o.result.message().find("internal failure"), std::string::npos) << o.result.message();
}

TEST(Upstream, MalformedJsonIsAnUpstreamError) {
    FakeUpstream up(fake(FakeMode::Malformed));
    const Outcome plain = call(endpoint_for(up), false);
    EXPECT_EQ(plain.result.code(), Code::Upstream) << plain.result.message();
    const Outcome streamed = call(endpoint_for(up), true);
    EXPECT_EQ(streamed.result.code(), Code::Upstream) << streamed.result.message();
    EXPECT_EQ(joined(streamed.deltas), "fine"); // what came before the broken chunk was delivered
}

TEST(Upstream, EndlessStreamStopsAtTheSizeCap) {
    FakeUpstream up(fake(FakeMode::Endless));
    Endpoint ep = endpoint_for(up);
    ep.max_response_bytes = 64 << 10;
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Upstream) << o.result.message();
    EXPECT_NE(o.result.message().find("max_response_bytes"), std::string::npos) << o.result.message();
    EXPECT_FALSE(o.deltas.empty());
    EXPECT_LT(o.seconds, 10.0);
}

TEST(Upstream, EndlessStreamStopsAtTheTotalTimeout) {
    FakeUpstream up(fake(FakeMode::Endless));
    Endpoint ep = endpoint_for(up);
    ep.max_response_bytes = uint64_t{1} << 40;
    ep.total_timeout_s = 0.4;
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Timeout) << o.result.message();
    EXPECT_NE(o.result.message().find("total"), std::string::npos) << o.result.message();
    EXPECT_GE(o.seconds, 0.4);
    EXPECT_LT(o.seconds, 10.0);
}

TEST(Upstream, SlowTrickleHitsTheTotalTimeout) {
    FakeUpstream up(fake(FakeMode::Trickle, 10));
    Endpoint ep = endpoint_for(up);
    ep.total_timeout_s = 0.4; // the answer needs ~300 bytes x 10 ms = 3 s
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Timeout) << o.result.message();
    EXPECT_NE(o.result.message().find("total"), std::string::npos) << o.result.message();
    EXPECT_LT(o.seconds, 10.0);
}

TEST(Upstream, SilenceMidAnswerHitsTheIdleTimeout) {
    FakeUpstream up(fake(FakeMode::Trickle, 2000));
    Endpoint ep = endpoint_for(up);
    ep.idle_timeout_s = 0.3;
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Timeout) << o.result.message();
    EXPECT_NE(o.result.message().find("idle"), std::string::npos) << o.result.message();
    EXPECT_LT(o.seconds, 10.0);
}

TEST(Upstream, OversizedBodyIsRefused) {
    FakeUpstream up(fake(FakeMode::Oversized));
    Endpoint ep = endpoint_for(up);
    ep.max_response_bytes = 1 << 20;
    const Outcome o = call(ep, false);
    EXPECT_EQ(o.result.code(), Code::Upstream) << o.result.message();
    EXPECT_NE(o.result.message().find("max_response_bytes"), std::string::npos) << o.result.message();
}

TEST(Upstream, OversizedBodyWithoutLengthIsCutAtTheCap) {
    FakeConfig cfg;
    cfg.mode = FakeMode::Raw;
    cfg.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" +
              FakeUpstream::json_answer(std::string(2 << 20, 'x'));
    FakeUpstream up(cfg);
    Endpoint ep = endpoint_for(up);
    ep.max_response_bytes = 1 << 20;
    const Outcome o = call(ep, false);
    EXPECT_EQ(o.result.code(), Code::Upstream) << o.result.message();
    EXPECT_NE(o.result.message().find("max_response_bytes"), std::string::npos) << o.result.message();
}

TEST(Upstream, RedirectIsNeverFollowed) {
    FakeUpstream other;
    FakeConfig cfg;
    cfg.mode = FakeMode::Redirect;
    cfg.redirect_to = other.base_url() + "/chat/completions";
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up));
    EXPECT_EQ(o.result.code(), Code::Upstream) << o.result.message();
    EXPECT_NE(o.result.message().find("redirect"), std::string::npos) << o.result.message();
    EXPECT_EQ(up.connections(), 1);
    EXPECT_EQ(other.connections(), 0);
}

TEST(Upstream, TlsFailureIsAnUpstreamError) {
    FakeUpstream up; // speaks plain HTTP, so the TLS handshake fails
    Endpoint ep = endpoint_for(up);
    ep.base_url = "https://127.0.0.1:" + std::to_string(up.port()) + "/v1";
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::Upstream) << o.result.message();
    EXPECT_LT(o.seconds, 10.0);
}

TEST(Upstream, CancelAbortsAHangingRequestPromptly) {
    FakeUpstream up(fake(FakeMode::Hang));
    std::atomic<bool> cancel{false};
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        cancel = true;
    });
    const Outcome o = call(endpoint_for(up), true, &cancel);
    canceller.join();
    EXPECT_EQ(o.result.code(), Code::Cancelled) << o.result.message();
    EXPECT_LT(o.seconds, 5.0); // far below the 30 s limits; typically 0.1 s + one 50 ms poll
}

TEST(Upstream, CancelMidStreamAndReceiverStop) {
    {
        FakeUpstream up(fake(FakeMode::Endless));
        Endpoint ep = endpoint_for(up);
        ep.max_response_bytes = uint64_t{1} << 40; // only the cancel flag can end this stream (or the 30 s limit)
        std::atomic<bool> cancel{false};
        int deltas = 0;
        Outcome o;
        o.result = chat(
            ep, stream_body, true,
            [&](const Delta&) {
                if (++deltas == 20) cancel = true; // as a client that went away mid-answer
                return true;
            },
            &cancel);
        EXPECT_EQ(o.result.code(), Code::Cancelled) << o.result.message();
        EXPECT_EQ(deltas, 20); // nothing delivered after the cancel
    }
    FakeUpstream up;
    const Outcome o = call(endpoint_for(up), true, nullptr, /*stop_after=*/1);
    EXPECT_EQ(o.result.code(), Code::Cancelled) << o.result.message();
    EXPECT_EQ(o.deltas.size(), 1u);
}

// ---- policy ----------------------------------------------------------------------------------------------

TEST(Upstream, PlainHttpRefusedWithoutAllowInsecure) {
    FakeUpstream up;
    Endpoint ep = endpoint_for(up);
    ep.allow_insecure = false;
    const Outcome o = call(ep);
    EXPECT_EQ(o.result.code(), Code::PolicyBlocked) << o.result.message();
    EXPECT_EQ(up.connections(), 0);
}

TEST(Upstream, LoopbackRefusedWithoutAllowInsecure) {
    FakeUpstream up;
    Endpoint ep = endpoint_for(up);
    ep.allow_insecure = false;
    for (const char* host : {"127.0.0.1", "[::ffff:127.0.0.1]", "localhost"}) {
        // "localhost" is a name: the check on the socket's address refuses it (as it would a DNS rebinding).
        ep.base_url = std::string("https://") + host + ":" + std::to_string(up.port()) + "/v1";
        const Outcome o = call(ep);
        EXPECT_EQ(o.result.code(), Code::PolicyBlocked) << host << ": " << o.result.message();
    }
    EXPECT_EQ(up.connections(), 0);
    EXPECT_TRUE(up.received().empty());
}

TEST(Upstream, KeyEchoedByTheServerIsMasked) {
    FakeConfig cfg;
    cfg.mode = FakeMode::Raw;
    cfg.raw = FakeUpstream::http(401, "application/json",
                                 R"({"error":{"message":"Incorrect API key provided: )" + key + R"("}})");
    FakeUpstream up(cfg);
    const Outcome o = call(endpoint_for(up)); // call() checks that the key is absent
    EXPECT_EQ(o.result.code(), Code::Upstream);
    EXPECT_NE(o.result.message().find("HTTP 401"), std::string::npos) << o.result.message();
    EXPECT_NE(o.result.message().find("***"), std::string::npos) << o.result.message();
    EXPECT_NE(up.received().find("Bearer " + key), std::string::npos); // it was sent, in the header only
}

// ---- openai_json directly ----------------------------------------------------------------------------------

TEST(UpstreamJson, ToolCallPiecesWithoutIndexTakeTheirPosition) {
    Response r;
    Delta d;
    const auto chunk = nlohmann::json::parse(
        R"({"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"1"}},
                                                 {"id":"b","function":{"name":"g","arguments":"2"}}]}}]})");
    auto any = apply_stream_chunk(chunk, r, d);
    ASSERT_TRUE(any);
    EXPECT_TRUE(*any);
    ASSERT_EQ(r.tool_calls.size(), 2u);
    EXPECT_EQ(r.tool_calls[1].index, 1);
    EXPECT_EQ(r.tool_calls[1].name, "g");
}

TEST(UpstreamJson, WrongTypesAreErrorsNotExceptions) {
    for (const char* body : {R"({"choices":[{"message":{"content":[1]}}]})", R"({"choices":{}})", R"({"choices":[]})",
                             R"({"choices":[{"message":null}]})", R"({"choices":[7]})",
                             R"({"choices":[{"message":{"tool_calls":[{"index":-1}]}}]})",
                             R"({"choices":[{"message":{}}],"usage":{"prompt_tokens":"x"}})", "[]", ""}) {
        Response r;
        EXPECT_EQ(parse_full_response(body, r).code(), Code::Upstream) << body;
    }
}
