// tests/server/test_openai.cpp: the OpenAI adapter, called through its Route handlers with a fake engine:
// request mapping, validation errors, response shapes, SSE framing, usage, logprobs, n > 1.
#include "fake_engine.h"
#include "server/openai.h"

#include <cmath>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hearth::server {
namespace {

using nlohmann::json;
using testing::body_of;
using testing::call;
using testing::CollectStream;
using testing::FakeEngine;

struct OpenAiTest : ::testing::Test {
    FakeEngine engine;
    ApiContext ctx{engine, nullptr, "0.1.0", false, 8};
    std::vector<Route> routes = openai_routes(ctx);

    HttpResponse chat(const json& body) { return call(routes, "POST", "/v1/chat/completions", body.dump()); }
    HttpResponse complete(const json& body) { return call(routes, "POST", "/v1/completions", body.dump()); }

    // Expects a 400 OpenAI error naming `param`.
    void expect_rejected(const json& body, const std::string& param, bool is_chat = true) {
        const size_t before = engine.requests.size();
        HttpResponse r = is_chat ? chat(body) : complete(body);
        EXPECT_EQ(r.status, 400) << body.dump() << " -> " << r.body;
        json j = json::parse(r.body);
        EXPECT_EQ(j["error"]["type"], "invalid_request_error");
        EXPECT_EQ(j["error"]["param"], param) << r.body;
        EXPECT_NE(j["error"]["message"].get<std::string>().find(param), std::string::npos) << r.body;
        EXPECT_TRUE(j["error"].contains("code"));
        EXPECT_EQ(engine.requests.size(), before) << "a rejected request reached the engine";
    }
};

json user(const std::string& text) {
    return json::array({{{"role", "user"}, {"content", text}}});
}

// Splits an SSE body into its data payloads, checking the framing exactly.
std::vector<std::string> sse_events(const std::string& body) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < body.size()) {
        EXPECT_EQ(body.compare(pos, 6, "data: "), 0) << "at " << pos << ": " << body.substr(pos, 40);
        const size_t end = body.find("\n\n", pos);
        EXPECT_NE(end, std::string::npos);
        if (end == std::string::npos) break;
        const std::string payload = body.substr(pos + 6, end - pos - 6);
        EXPECT_EQ(payload.find('\n'), std::string::npos);
        out.push_back(payload);
        pos = end + 2;
    }
    return out;
}

TEST_F(OpenAiTest, FieldsNotHonouredAreRefusedByName) {
    for (const char* field : {"unknown_field", "functions", "function_call", "store", "metadata", "top_k", "audio"}) {
        HttpResponse r = chat({{"model", "m"}, {"messages", user("x")}, {field, {{"a", 1}}}});
        EXPECT_EQ(r.status, 400) << field;
        EXPECT_EQ(json::parse(r.body)["error"]["param"], field) << r.body;
    }
    HttpResponse r = complete({{"model", "m"}, {"prompt", "x"}, {"messages", user("x")}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(json::parse(r.body)["error"]["param"], "messages") << r.body;
    EXPECT_TRUE(engine.requests.empty()); // nothing reached the engine
}

// response_format and llama.cpp's grammar / json_schema: the request carries the format, a schema in the client's
// key order (properties come out in it); what is malformed is refused naming the field, before the engine.
TEST_F(OpenAiTest, StructuredOutputFields) {
    const std::string schema =
        R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}}})";
    const std::string body = R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "doc", "strict": true, "schema": )" +
                             schema + "}}}";
    ASSERT_EQ(call(routes, "POST", "/v1/chat/completions", body).status, 200);
    ASSERT_EQ(chat({{"model", "m"}, {"messages", user("x")}, {"response_format", {{"type", "json_object"}}}}).status,
              200);
    ASSERT_EQ(complete({{"model", "m"}, {"prompt", "x"}, {"grammar", "root ::= \"a\""}}).status, 200);
    ASSERT_EQ(chat({{"model", "m"}, {"messages", user("x")}, {"response_format", {{"type", "text"}}}}).status, 200);
    ASSERT_EQ(engine.requests.size(), 4u);
    EXPECT_EQ(engine.requests[0].format, engine::OutputFormat::JsonSchema);
    EXPECT_EQ(engine.requests[0].format_spec, schema);
    EXPECT_EQ(engine.requests[0].format_field, "response_format.json_schema.schema");
    EXPECT_EQ(engine.requests[1].format, engine::OutputFormat::JsonObject);
    EXPECT_EQ(engine.requests[2].format, engine::OutputFormat::Grammar);
    EXPECT_EQ(engine.requests[2].format_spec, "root ::= \"a\"");
    EXPECT_EQ(engine.requests[3].format, engine::OutputFormat::Text);

    const json base = {{"model", "m"}, {"messages", user("x")}};
    auto with = [&](const json& extra) {
        json b = base;
        b.update(extra);
        return b;
    };
    expect_rejected(with({{"response_format", {{"type", "yaml"}}}}), "response_format.type");
    expect_rejected(with({{"response_format", "json"}}), "response_format");
    expect_rejected(with({{"response_format", {{"type", "json_schema"}}}}), "response_format.json_schema");
    expect_rejected(
        with({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", json::object()}}}}}}),
        "response_format.json_schema.name");
    expect_rejected(
        with({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", 3}}}}}}),
        "response_format.json_schema.schema");
    expect_rejected(with({{"response_format", {{"type", "json_object"}, {"schema", json::object()}}}}),
                    "response_format.schema");
    expect_rejected(with({{"response_format", {{"type", "json_object"}}}, {"grammar", "root ::= \"a\""}}), "grammar");
}

// Thinking: reasoning_effort and chat_template_kwargs.enable_thinking set Request::think; the reasoning comes
// back as reasoning_content (message and stream deltas), apart from the answer.
TEST_F(OpenAiTest, ThinkingFieldsAndReasoningContent) {
    engine.reasoning = {"Two plus two", " is four."};
    const json base = {{"model", "m"}, {"messages", user("2+2?")}};
    auto with = [&](const json& extra) {
        json b = base;
        b.update(extra);
        return b;
    };
    HttpResponse r = chat(with({{"reasoning_effort", "medium"}}));
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body);
    EXPECT_EQ(j["choices"][0]["message"]["reasoning_content"], "Two plus two is four.");
    EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello world");
    ASSERT_EQ(chat(with({{"reasoning_effort", "none"}})).status, 200);
    ASSERT_EQ(chat(with({{"chat_template_kwargs", {{"enable_thinking", false}}}})).status, 200);
    ASSERT_EQ(chat(base).status, 200);
    ASSERT_EQ(engine.requests.size(), 4u);
    EXPECT_EQ(engine.requests[0].think, true);
    EXPECT_EQ(engine.requests[1].think, false);
    EXPECT_EQ(engine.requests[2].think, false);
    EXPECT_FALSE(engine.requests[3].think.has_value());

    r = chat(with({{"stream", true}}));
    std::string reasoning, content;
    for (const auto& e : sse_events(body_of(r))) {
        if (e == "[DONE]") continue;
        const json d = json::parse(e)["choices"][0]["delta"];
        reasoning += d.value("reasoning_content", "");
        content += d.value("content", "");
    }
    EXPECT_EQ(reasoning, "Two plus two is four.");
    EXPECT_EQ(content, "Hello world");

    expect_rejected(with({{"reasoning_effort", "high"}}), "reasoning_effort");
    expect_rejected(with({{"chat_template_kwargs", {{"temperature", 1}}}}), "chat_template_kwargs.temperature");
    expect_rejected(with({{"reasoning_effort", "none"}, {"chat_template_kwargs", {{"enable_thinking", true}}}}),
                    "chat_template_kwargs.enable_thinking");
    expect_rejected(json{{"model", "m"}, {"prompt", "x"}, {"reasoning_effort", "none"}}, "reasoning_effort", false);
}

TEST_F(OpenAiTest, ChatMapsEveryField) {
    json body = {
        {"model", "tiny:latest"},
        {"messages",
         {{{"role", "developer"}, {"content", "Be brief."}},
          {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Hi "}}, {{"type", "text"}, {"text", "there"}}}}},
          {{"role", "assistant"}, {"content", nullptr}}}},
        {"max_completion_tokens", 7},
        {"temperature", 0.25},
        {"top_p", 0.5},
        {"stop", {"END", "STOP"}},
        {"seed", 42},
        {"presence_penalty", 1.5},
        {"frequency_penalty", -0.5},
        {"logit_bias", {{"15", -100}, {"3", 2.5}}},
        {"logprobs", true},
        {"top_logprobs", 2},
        {"user", "someone"},
        {"metadata", nullptr}}; // null: as if absent
    HttpResponse r = chat(body);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(engine.requests.size(), 1u);
    const engine::Request& q = engine.requests[0];
    EXPECT_EQ(q.model, "tiny:latest");
    ASSERT_EQ(q.messages.size(), 3u);
    EXPECT_EQ(q.messages[0].role, "system");
    EXPECT_EQ(q.messages[0].content, "Be brief.");
    EXPECT_EQ(q.messages[1].role, "user");
    EXPECT_EQ(q.messages[1].content, "Hi there");
    EXPECT_EQ(q.messages[2].role, "assistant");
    EXPECT_EQ(q.messages[2].content, "");
    EXPECT_FALSE(q.prompt.has_value());
    EXPECT_EQ(q.max_tokens, 7);
    EXPECT_FLOAT_EQ(q.sampling.temperature, 0.25f);
    EXPECT_FLOAT_EQ(q.sampling.top_p, 0.5f);
    EXPECT_EQ(q.stop, (std::vector<std::string>{"END", "STOP"}));
    EXPECT_TRUE(q.seed_set);
    EXPECT_EQ(q.sampling.seed, 42u);
    EXPECT_FLOAT_EQ(q.sampling.presence_penalty, 1.5f);
    EXPECT_FLOAT_EQ(q.sampling.frequency_penalty, -0.5f);
    ASSERT_EQ(q.sampling.logit_bias.size(), 2u);
    EXPECT_EQ(q.sampling.logit_bias[0], (std::pair<int32_t, float>{15, -100.0f}));
    EXPECT_EQ(q.sampling.logit_bias[1], (std::pair<int32_t, float>{3, 2.5f}));
    EXPECT_TRUE(q.sampling.logprobs);
    EXPECT_EQ(q.sampling.top_logprobs, 2);
}

TEST_F(OpenAiTest, DefaultsWhenFieldsAreAbsent) {
    ASSERT_EQ(chat({{"model", "m"}, {"messages", user("x")}, {"stop", "one"}, {"max_tokens", 3}}).status, 200);
    const engine::Request& q = engine.requests[0];
    EXPECT_EQ(q.stop, std::vector<std::string>{"one"});
    EXPECT_EQ(q.max_tokens, 3);
    EXPECT_FALSE(q.seed_set);
    EXPECT_FALSE(q.sampling.logprobs);
    const SamplingParams defaults;
    EXPECT_EQ(q.sampling.temperature, defaults.temperature);
    EXPECT_EQ(q.sampling.top_p, defaults.top_p);
    EXPECT_TRUE(q.sampling.logit_bias.empty());
}

TEST_F(OpenAiTest, ValidationNamesTheField) {
    const json base = {{"model", "m"}, {"messages", user("x")}};
    auto with = [&](const std::string& k, const json& v) {
        json b = base;
        b[k] = v;
        return b;
    };
    expect_rejected(with("max_tokens", json(uint64_t{1} << 63)), "max_tokens");
    expect_rejected(with("max_tokens", -1), "max_tokens");
    expect_rejected(with("max_tokens", 2.5), "max_tokens");
    expect_rejected(with("max_completion_tokens", "10"), "max_completion_tokens");
    expect_rejected(with("temperature", "hot"), "temperature");
    expect_rejected(with("temperature", 2.5), "temperature");
    expect_rejected(with("temperature", -0.1), "temperature");
    expect_rejected(with("top_p", 1.01), "top_p");
    expect_rejected(with("presence_penalty", 1e300), "presence_penalty");
    expect_rejected(with("frequency_penalty", true), "frequency_penalty");
    expect_rejected(with("seed", 1.5), "seed");
    expect_rejected(with("n", 0), "n");
    expect_rejected(with("n", 9), "n");
    expect_rejected(with("stream", "yes"), "stream");
    expect_rejected(with("stop", 5), "stop");
    expect_rejected(with("stop", json::array({"a", 1})), "stop");
    json many = json::array();
    for (size_t i = 0; i <= engine::kMaxStop; ++i)
        many.push_back("s" + std::to_string(i));
    expect_rejected(with("stop", many), "stop");
    expect_rejected(with("logit_bias", {{"abc", 1}}), "logit_bias");
    expect_rejected(with("logit_bias", {{"-1", 1}}), "logit_bias");
    expect_rejected(with("logit_bias", {{"99999999999", 1}}), "logit_bias");
    expect_rejected(with("logit_bias", {{"5", 101}}), "logit_bias");
    expect_rejected(with("logit_bias", json::array()), "logit_bias");
    expect_rejected(with("top_logprobs", 3), "top_logprobs"); // without logprobs
    expect_rejected(with("top_logprobs", 21), "top_logprobs");
    expect_rejected(with("logprobs", 1), "logprobs");
    expect_rejected(with("stream_options", {{"include_usage", true}}), "stream_options"); // not streaming
    expect_rejected(with("user", 5), "user");
    expect_rejected(with("model", 5), "model");
    expect_rejected(with("messages", json::array()), "messages");
    expect_rejected(with("messages", "hi"), "messages");
    expect_rejected(with("messages", json::array({{{"role", "wizard"}, {"content", "x"}}})), "messages[0].role");
    expect_rejected(
        with("messages", json::array({{{"role", "user"}, {"content", {{{"type", "image_url"}, {"image_url", "x"}}}}}})),
        "messages[0].content[0].type");
    expect_rejected(with("messages", json::array({{{"role", "user"}, {"content", 5}}})), "messages[0].content");
    expect_rejected({{"messages", user("x")}}, "model");
    expect_rejected({{"model", "m"}}, "messages");
    expect_rejected({{"model", "m"}, {"prompt", json::array({1, 2})}}, "prompt", false);
    expect_rejected({{"model", "m"}, {"prompt", "x"}, {"logprobs", 6}}, "logprobs", false);

    // A rejected request leaves nothing behind: the next one gets only its own fields.
    ASSERT_EQ(chat(base).status, 200);
    ASSERT_EQ(engine.requests.size(), 1u);
    EXPECT_EQ(engine.requests[0].max_tokens, -1);
    EXPECT_TRUE(engine.requests[0].stop.empty());
    EXPECT_TRUE(engine.requests[0].sampling.logit_bias.empty());
}

TEST_F(OpenAiTest, MalformedBody) {
    HttpResponse r = call(routes, "POST", "/v1/chat/completions", "{not json");
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(json::parse(r.body)["error"]["message"].is_string());
    r = call(routes, "POST", "/v1/chat/completions", "[1]");
    EXPECT_EQ(r.status, 400);
}

TEST_F(OpenAiTest, NonStreamingChatShape) {
    HttpResponse r = chat({{"model", "m"}, {"messages", user("x")}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    json j = json::parse(r.body);
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_EQ(j["model"], "m");
    EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
    EXPECT_TRUE(j["created"].is_number_integer());
    ASSERT_EQ(j["choices"].size(), 1u);
    EXPECT_EQ(j["choices"][0]["index"], 0);
    EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello world");
    EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
    EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
    EXPECT_EQ(j["usage"], json({{"prompt_tokens", 5}, {"completion_tokens", 2}, {"total_tokens", 7}}));

    r = chat({{"model", "m"}, {"messages", user("x")}, {"max_tokens", 1}});
    j = json::parse(r.body);
    EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello");
    EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
}

TEST_F(OpenAiTest, StreamingChatFraming) {
    HttpResponse r = chat({{"model", "m"}, {"messages", user("x")}, {"stream", true}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/event-stream");
    ASSERT_TRUE(r.stream);
    const std::string body = body_of(r);
    const auto events = sse_events(body);
    ASSERT_EQ(events.size(), 5u) << body;
    EXPECT_EQ(events.back(), "[DONE]");
    EXPECT_TRUE(body.ends_with("data: [DONE]\n\n"));
    std::string id;
    std::string text;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        json c = json::parse(events[i]);
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        EXPECT_FALSE(c.contains("usage")); // only with include_usage
        if (i == 0) {
            id = c["id"];
        }
        EXPECT_EQ(c["id"], id);
        ASSERT_EQ(c["choices"].size(), 1u);
        const json& ch = c["choices"][0];
        EXPECT_EQ(ch["index"], 0);
        if (i == 0) {
            EXPECT_EQ(ch["delta"], json({{"role", "assistant"}, {"content", ""}}));
        }
        if (i + 2 < events.size()) {
            EXPECT_TRUE(ch["finish_reason"].is_null());
        }
        if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    }
    EXPECT_EQ(text, "Hello world");
    json last = json::parse(events[events.size() - 2]);
    EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(last["choices"][0]["delta"], json::object());
}

TEST_F(OpenAiTest, StreamingIncludeUsage) {
    HttpResponse r = chat(
        {{"model", "m"}, {"messages", user("x")}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
    const auto events = sse_events(body_of(r));
    ASSERT_EQ(events.size(), 6u);
    EXPECT_EQ(events.back(), "[DONE]");
    for (size_t i = 0; i + 2 < events.size(); ++i)
        EXPECT_TRUE(json::parse(events[i])["usage"].is_null()) << events[i];
    json u = json::parse(events[events.size() - 2]);
    EXPECT_EQ(u["choices"], json::array());
    EXPECT_EQ(u["usage"], json({{"prompt_tokens", 5}, {"completion_tokens", 2}, {"total_tokens", 7}}));
}

TEST_F(OpenAiTest, ChatLogprobsShape) {
    HttpResponse r = chat({{"model", "m"}, {"messages", user("x")}, {"logprobs", true}, {"top_logprobs", 2}});
    json j = json::parse(r.body);
    const json& content = j["choices"][0]["logprobs"]["content"];
    ASSERT_EQ(content.size(), 2u) << r.body;
    EXPECT_EQ(content[0]["token"], "Hello");
    EXPECT_FLOAT_EQ(content[0]["logprob"].get<float>(), -0.5f);
    EXPECT_EQ(content[0]["bytes"], json({72, 101, 108, 108, 111}));
    ASSERT_EQ(content[0]["top_logprobs"].size(), 2u);
    EXPECT_EQ(content[0]["top_logprobs"][0]["token"], "Hello");
    EXPECT_FLOAT_EQ(content[0]["top_logprobs"][1]["logprob"].get<float>(), -3.0f);
    EXPECT_TRUE(content[0]["top_logprobs"][1].contains("bytes"));
    EXPECT_EQ(content[1]["token"], " world");

    // Every alternative has the text the engine gives for it (its bytes too).
    EXPECT_EQ(content[0]["top_logprobs"][1]["token"], "#7");
    EXPECT_EQ(content[0]["top_logprobs"][1]["bytes"], json({35, 55}));

    // Streamed: each token chunk carries its logprobs.
    const auto events = sse_events(body_of(
        chat({{"model", "m"}, {"messages", user("x")}, {"logprobs", true}, {"top_logprobs", 1}, {"stream", true}})));
    json tok = json::parse(events[1]);
    ASSERT_EQ(tok["choices"][0]["logprobs"]["content"].size(), 1u);
    EXPECT_EQ(tok["choices"][0]["logprobs"]["content"][0]["token"], "Hello");
    EXPECT_EQ(tok["choices"][0]["logprobs"]["content"][0]["top_logprobs"].size(), 1u);
}

TEST_F(OpenAiTest, NChoicesRunSequentially) {
    HttpResponse r = chat({{"model", "m"}, {"messages", user("x")}, {"n", 3}, {"seed", 10}});
    json j = json::parse(r.body);
    ASSERT_EQ(j["choices"].size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(j["choices"][i]["index"], i);
        EXPECT_EQ(j["choices"][i]["message"]["content"], "Hello world");
    }
    ASSERT_EQ(engine.requests.size(), 3u);
    EXPECT_EQ(engine.requests[0].sampling.seed, 10u);
    EXPECT_EQ(engine.requests[1].sampling.seed, 11u);
    EXPECT_EQ(engine.requests[2].sampling.seed, 12u);
    EXPECT_EQ(j["usage"]["completion_tokens"], 6);
    EXPECT_EQ(j["usage"]["prompt_tokens"], 5);

    const auto events =
        sse_events(body_of(chat({{"model", "m"}, {"messages", user("x")}, {"n", 2}, {"stream", true}})));
    std::vector<int> finishes;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        json c = json::parse(events[i]);
        if (!c["choices"][0]["finish_reason"].is_null()) finishes.push_back(c["choices"][0]["index"]);
    }
    EXPECT_EQ(finishes, (std::vector<int>{0, 1}));
}

TEST_F(OpenAiTest, CompletionsShapeLegacyLogprobsAndEcho) {
    HttpResponse r = complete({{"model", "m"}, {"prompt", "Once"}, {"logprobs", 1}, {"echo", true}, {"max_tokens", 5}});
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(engine.requests.size(), 1u);
    EXPECT_EQ(engine.requests[0].prompt, std::optional<std::string>("Once"));
    EXPECT_TRUE(engine.requests[0].raw); // the prompt as it is: no chat template
    EXPECT_TRUE(engine.requests[0].messages.empty());
    EXPECT_EQ(engine.requests[0].sampling.top_logprobs, 1);
    json j = json::parse(r.body);
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["id"].get<std::string>().rfind("cmpl-", 0), 0u);
    EXPECT_EQ(j["choices"][0]["text"], "OnceHello world");
    const json& lp = j["choices"][0]["logprobs"];
    EXPECT_EQ(lp["tokens"], json({"Hello", " world"}));
    EXPECT_EQ(lp["token_logprobs"].size(), 2u);
    EXPECT_EQ(lp["text_offset"], json({4, 9}));
    EXPECT_FLOAT_EQ(lp["top_logprobs"][0]["Hello"].get<float>(), -0.5f);
    EXPECT_EQ(j["usage"]["total_tokens"], 7);
    // logprobs 2: two alternatives per token, each under its own text.
    j = json::parse(complete({{"model", "m"}, {"prompt", "Once"}, {"logprobs", 2}}).body);
    EXPECT_EQ(j["choices"][0]["logprobs"]["top_logprobs"][0], json({{"Hello", -0.5}, {"#7", -3.0}}));

    const auto events =
        sse_events(body_of(complete({{"model", "m"}, {"prompt", json::array({"a", "b"})}, {"stream", true}})));
    ASSERT_EQ(engine.requests.size(), 4u);
    EXPECT_EQ(engine.requests[3].prompt, std::optional<std::string>("b"));
    json first = json::parse(events[0]);
    EXPECT_EQ(first["object"], "text_completion");
    EXPECT_EQ(first["choices"][0]["text"], "Hello");
    EXPECT_EQ(events.back(), "[DONE]");
}

TEST_F(OpenAiTest, EngineFailuresMapToStatuses) {
    engine.fail = Status::error(Code::NotFound, "model 'nope' not found", "model");
    HttpResponse r = chat({{"model", "nope"}, {"messages", user("x")}});
    EXPECT_EQ(r.status, 404);
    json j = json::parse(r.body);
    EXPECT_EQ(j["error"]["message"], "model 'nope' not found");
    EXPECT_EQ(j["error"]["code"], "model_not_found");
    EXPECT_EQ(j["error"]["param"], "model");

    engine.fail = error(Code::Busy, "the queue is full");
    for (bool stream : {false, true}) {
        r = chat({{"model", "m"}, {"messages", user("x")}, {"stream", stream}});
        EXPECT_EQ(r.status, 503) << "stream=" << stream;
        EXPECT_FALSE(r.stream);
        bool retry_after = false;
        for (const auto& [k, v] : r.headers)
            retry_after |= k == "Retry-After";
        EXPECT_TRUE(retry_after);
    }
    engine.fail = bad_field("logit_bias", "logit_bias: token 99999 is out of range");
    r = chat({{"model", "m"}, {"messages", user("x")}, {"stream", true}, {"logit_bias", {{"99999", 1}}}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(json::parse(r.body)["error"]["param"], "logit_bias");
    engine.fail = error(Code::TooLarge, "the prompt is longer than the context");
    EXPECT_EQ(chat({{"model", "m"}, {"messages", user("x")}}).status, 413);
    engine.fail = error(Code::Internal, "boom");
    EXPECT_EQ(chat({{"model", "m"}, {"messages", user("x")}}).status, 500);
    engine.fail = Status::error(Code::ContextFull, "context full", "messages");
    r = chat({{"model", "m"}, {"messages", user("x")}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(json::parse(r.body)["error"]["param"], "messages");
    // Codes only a router's upstream produces.
    const std::pair<Code, int> more[] = {
        {Code::PolicyBlocked, 403}, {Code::Cancelled, 499}, {Code::Upstream, 502}, {Code::Timeout, 504}};
    for (const auto& [code, status] : more) {
        engine.fail = error(code, "x");
        EXPECT_EQ(chat({{"model", "m"}, {"messages", user("x")}}).status, status) << code_name(code);
    }
}

TEST_F(OpenAiTest, ClientGoneStopsGeneration) {
    engine.tokens = {"a", "b", "c", "d", "e", "f"};
    engine.wait_for_cancel = true;
    CollectStream s;
    s.fail_after = 1; // the role chunk only: writing the first token fails
    {
        HttpResponse r = chat({{"model", "m"}, {"messages", user("x")}, {"stream", true}});
        body_of(r, &s);
    } // the response (and its generation thread) is gone here
    EXPECT_EQ(s.chunks.size(), 1u);
    EXPECT_TRUE(engine.saw_stop);
}

TEST_F(OpenAiTest, ModelsListsStoreAndLoaded) {
    testing::TempStore st;
    st.import("tiny-llama3.gguf", "tiny:latest");
    ctx.store = &st.get();
    engine.loaded_models = {{"elsewhere.gguf", "/x/elsewhere.gguf", 10, 60}, {"tiny:latest", "/p", 10, 60}};
    HttpResponse r = call(routes, "GET", "/v1/models", "");
    ASSERT_EQ(r.status, 200);
    json j = json::parse(r.body);
    EXPECT_EQ(j["object"], "list");
    ASSERT_EQ(j["data"].size(), 2u) << r.body;
    EXPECT_EQ(j["data"][0]["id"], "tiny:latest");
    EXPECT_EQ(j["data"][0]["object"], "model");
    EXPECT_EQ(j["data"][0]["owned_by"], "hearth");
    EXPECT_EQ(j["data"][1]["id"], "elsewhere.gguf");
}

// #12: a body's JSON structure is bounded before it is built (a million small values in an 8 MiB body took
// ~64 MB each, 32 of them at once 2 GB); within the bounds it is parsed as before.
TEST_F(OpenAiTest, JsonStructureIsBounded) {
    std::string many = R"({"model":"m","stop":[)";
    for (size_t i = 0; i < kMaxJsonValues; ++i)
        many += i ? ",1" : "1";
    many += "]}";
    HttpResponse r = call(routes, "POST", "/v1/chat/completions", many);
    EXPECT_EQ(r.status, 413) << r.body.substr(0, 200);
    EXPECT_NE(r.body.find("JSON values"), std::string::npos) << r.body;
    const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
    r = call(routes, "POST", "/v1/chat/completions", R"({"model":"m","x":)" + deep + "}");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("deeper than"), std::string::npos) << r.body;
    const std::string ok_deep = std::string(kMaxJsonDepth - 2, '[') + std::string(kMaxJsonDepth - 2, ']');
    r = call(routes, "POST", "/v1/chat/completions", R"({"model":"m","x":)" + ok_deep + "}");
    EXPECT_EQ(r.body.find("deeper than"), std::string::npos) << r.body; // refused for the field, not its shape
    EXPECT_EQ(engine.requests.size(), 0u);
}

} // namespace
} // namespace hearth::server
