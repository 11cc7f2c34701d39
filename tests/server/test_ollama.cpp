// tests/server/test_ollama.cpp: the Ollama adapter, called through its Route handlers with a fake engine
// and a temporary store: options mapping, keep_alive, NDJSON framing and final fields, management routes.
#include "fake_engine.h"
#include "server/ollama.h"
#include "store/modelfile.h"
#include "store/store.h"

#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hearth::server {
namespace {

using nlohmann::json;
using testing::body_of;
using testing::call;
using testing::FakeEngine;
using testing::TempStore;

struct OllamaTest : ::testing::Test {
    FakeEngine engine;
    TempStore st;
    ApiContext ctx{engine, &st.get(), "0.1.0", false, 8};
    std::vector<Route> routes = ollama_routes(ctx);

    HttpResponse post(const std::string& path, const json& body) { return call(routes, "POST", path, body.dump()); }

    void expect_error(const HttpResponse& r, int status, const std::string& contains) {
        EXPECT_EQ(r.status, status) << r.body;
        json j = json::parse(r.body, nullptr, false);
        ASSERT_TRUE(j.is_object()) << r.body;
        ASSERT_TRUE(j["error"].is_string()) << r.body;
        EXPECT_NE(j["error"].get<std::string>().find(contains), std::string::npos) << r.body;
    }
};

std::vector<json> ndjson_lines(const std::string& body) {
    std::vector<json> out;
    EXPECT_TRUE(body.empty() || body.back() == '\n');
    size_t pos = 0;
    while (pos < body.size()) {
        const size_t nl = body.find('\n', pos);
        if (nl == std::string::npos) break;
        json j = json::parse(body.substr(pos, nl - pos), nullptr, false);
        EXPECT_TRUE(j.is_object()) << body.substr(pos, nl - pos);
        out.push_back(j);
        pos = nl + 1;
    }
    return out;
}

TEST(KeepAlive, ParsesDurationsAndSeconds) {
    EXPECT_EQ(parse_keep_alive("5m"), 300.0);
    EXPECT_EQ(parse_keep_alive("1h30m"), 5400.0);
    EXPECT_EQ(parse_keep_alive("1.5s"), 1.5);
    EXPECT_EQ(parse_keep_alive("250ms"), 0.25);
    EXPECT_EQ(parse_keep_alive("0"), 0.0);
    EXPECT_EQ(parse_keep_alive("0s"), 0.0);
    EXPECT_EQ(parse_keep_alive(0), 0.0);
    EXPECT_EQ(parse_keep_alive(10), 10.0);
    EXPECT_EQ(parse_keep_alive(2.5), 2.5);
    const double forever = *parse_keep_alive(-1);
    EXPECT_GT(forever, 1e9);
    EXPECT_EQ(parse_keep_alive("-1m"), forever);
    std::string why;
    EXPECT_FALSE(parse_keep_alive("10", &why)); // Go durations need a unit
    EXPECT_NE(why.find("duration"), std::string::npos);
    EXPECT_FALSE(parse_keep_alive("5 minutes"));
    EXPECT_FALSE(parse_keep_alive("m"));
    EXPECT_FALSE(parse_keep_alive(""));
    EXPECT_FALSE(parse_keep_alive(true));
    EXPECT_FALSE(parse_keep_alive(json::array()));
}

TEST_F(OllamaTest, GenerateMapsOptions) {
    json body = {{"model", "m"},
                 {"prompt", "Why is the sky blue?"},
                 {"system", "Be terse."},
                 {"raw", true},
                 {"stream", false},
                 {"keep_alive", "10m"},
                 {"options",
                  {{"num_ctx", 2048},
                   {"temperature", 0.3},
                   {"top_k", 20},
                   {"top_p", 0.8},
                   {"min_p", 0.1},
                   {"repeat_penalty", 1.2},
                   {"repeat_last_n", 32},
                   {"seed", 7},
                   {"num_predict", 12},
                   {"stop", {"\n\n", "END"}},
                   {"presence_penalty", 0.5},
                   {"frequency_penalty", 0.25},
                   {"mirostat", 0}, // neutral values of samplers hearth does not have: accepted
                   {"typical_p", 1.0},
                   {"num_gpu", 99}, // hardware hints: no effect on the answer
                   {"use_mmap", true}}}};
    HttpResponse r = post("/api/generate", body);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(engine.requests.size(), 1u);
    const engine::Request& q = engine.requests[0];
    EXPECT_EQ(q.model, "m");
    EXPECT_EQ(q.prompt, std::optional<std::string>("Why is the sky blue?"));
    EXPECT_EQ(q.system, std::optional<std::string>("Be terse."));
    EXPECT_TRUE(q.raw);
    EXPECT_EQ(q.keep_alive_s, 600.0);
    EXPECT_EQ(q.num_ctx, 2048);
    EXPECT_FLOAT_EQ(q.sampling.temperature, 0.3f);
    EXPECT_EQ(q.sampling.top_k, 20);
    EXPECT_FLOAT_EQ(q.sampling.top_p, 0.8f);
    EXPECT_FLOAT_EQ(q.sampling.min_p, 0.1f);
    EXPECT_FLOAT_EQ(q.sampling.repeat_penalty, 1.2f);
    EXPECT_EQ(q.sampling.penalty_last_n, 32);
    EXPECT_TRUE(q.seed_set);
    EXPECT_EQ(q.sampling.seed, 7u);
    EXPECT_EQ(q.max_tokens, 12);
    EXPECT_EQ(q.stop, (std::vector<std::string>{"\n\n", "END"}));
    EXPECT_FLOAT_EQ(q.sampling.presence_penalty, 0.5f);
    EXPECT_FLOAT_EQ(q.sampling.frequency_penalty, 0.25f);
}

TEST_F(OllamaTest, WhatIsNotHonouredIsRefusedByName) {
    auto refused = [&](const json& body, const std::string& path, const std::string& what) {
        HttpResponse r = post(path, body);
        EXPECT_EQ(r.status, 400) << what << ": " << r.body;
        EXPECT_NE(r.body.find(what), std::string::npos) << r.body;
    };
    const json gen = {{"model", "m"}, {"prompt", "x"}, {"stream", false}};
    for (const auto& [k, v] : std::vector<std::pair<std::string, json>>{
             {"mirostat", 2}, {"typical_p", 0.5}, {"tfs_z", 0.9}, {"no_such_option", "x"}, {"num_keep", 5}}) {
        json body = gen;
        body["options"] = {{k, v}};
        refused(body, "/api/generate", "options." + k);
    }
    json with_tau = gen;
    with_tau["options"] = {{"mirostat", 1}, {"mirostat_tau", 5.0}};
    refused(with_tau, "/api/generate", "options.mirostat");
    json field = gen;
    field["unknown_field"] = 1;
    refused(field, "/api/generate", "unknown_field");
    json think = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"think", "high"}};
    refused(think, "/api/chat", "think"); // gpt-oss's levels (true and false go to the engine, which decides)
    json context = gen;
    context["context"] = {1, 2, 3};
    refused(context, "/api/generate", "context");
    EXPECT_TRUE(engine.requests.empty());
    // think: false is what not thinking means: accepted.
    think["think"] = false;
    think["stream"] = false;
    EXPECT_EQ(post("/api/chat", think).status, 200);
}

TEST_F(OllamaTest, OptionSpecialValues) {
    ASSERT_EQ(post("/api/generate",
                   {{"model", "m"},
                    {"prompt", "x"},
                    {"stream", false},
                    {"options", {{"seed", -1}, {"num_predict", -2}, {"repeat_last_n", -1}, {"num_ctx", 1024}}}})
                  .status,
              200);
    const engine::Request& q = engine.requests[0];
    EXPECT_FALSE(q.seed_set);
    EXPECT_EQ(q.max_tokens, -1);
    EXPECT_EQ(q.sampling.penalty_last_n, kMaxPenaltyLastN); // every token (so the whole context)
    EXPECT_EQ(q.keep_alive_s, -1.0);                        // not given: the engine's default
}

TEST_F(OllamaTest, ValidationErrors) {
    auto gen = [&](const json& extra) {
        json b = {{"model", "m"}, {"prompt", "x"}, {"stream", false}};
        b.update(extra);
        return post("/api/generate", b);
    };
    expect_error(gen({{"options", {{"temperature", "hot"}}}}), 400, "options.temperature");
    expect_error(gen({{"options", {{"top_p", 1.5}}}}), 400, "options.top_p");
    expect_error(gen({{"options", {{"num_ctx", 1e12}}}}), 400, "options.num_ctx");
    expect_error(gen({{"options", {{"stop", 3}}}}), 400, "options.stop");
    expect_error(gen({{"options", 5}}), 400, "options");
    expect_error(gen({{"keep_alive", "forever"}}), 400, "keep_alive");
    expect_error(gen({{"format", "xml"}}), 400, "format");
    expect_error(gen({{"format", 3}}), 400, "format");
    expect_error(gen({{"stream", "no"}}), 400, "stream");
    expect_error(gen({{"images", {"aGVsbG8="}}}), 400, "images");
    expect_error(post("/api/generate", {{"prompt", "x"}}), 400, "model");
    expect_error(call(routes, "POST", "/api/chat", "nope"), 400, "JSON");
    expect_error(post("/api/chat", {{"model", "m"}, {"messages", {{{"role", "robot"}, {"content", "x"}}}}}), 400,
                 "messages[0].role");
    EXPECT_TRUE(engine.requests.empty());
    // The next request is unaffected.
    ASSERT_EQ(gen(json::object()).status, 200);
    EXPECT_TRUE(engine.requests[0].stop.empty());
    EXPECT_EQ(engine.requests[0].sampling.temperature, SamplingParams{}.temperature);
}

// format: "json" is any JSON object, an object a JSON Schema, kept in the client's key order (properties come
// out in it; a parsed nlohmann::json would sort them).
TEST_F(OllamaTest, FormatJsonAndSchema) {
    ASSERT_EQ(post("/api/generate", {{"model", "m"}, {"prompt", "x"}, {"stream", false}, {"format", "json"}}).status,
              200);
    const std::string body = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": false,
        "format": {"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}}}})";
    ASSERT_EQ(call(routes, "POST", "/api/chat", body).status, 200);
    ASSERT_EQ(engine.requests.size(), 2u);
    EXPECT_EQ(engine.requests[0].format, engine::OutputFormat::JsonObject);
    EXPECT_EQ(engine.requests[1].format, engine::OutputFormat::JsonSchema);
    EXPECT_EQ(engine.requests[1].format_field, "format");
    EXPECT_EQ(engine.requests[1].format_spec,
              R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}}})");
}

// think: true / false (and gpt-oss's "medium") set Request::think; the reasoning comes back as message.thinking
// (chat) and thinking (generate), apart from the answer.
TEST_F(OllamaTest, ThinkAndThinking) {
    engine.reasoning = {"Hmm", "..."};
    HttpResponse r = post(
        "/api/chat",
        {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"stream", false}, {"think", true}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["message"]["thinking"], "Hmm...");
    EXPECT_EQ(json::parse(r.body)["message"]["content"], "Hello world");
    r = post("/api/generate", {{"model", "m"}, {"prompt", "x"}, {"think", false}});
    ASSERT_EQ(r.status, 200) << r.body;
    std::string thinking, response;
    std::istringstream lines(body_of(r));
    for (std::string line; std::getline(lines, line);) {
        const json j = json::parse(line);
        thinking += j.value("thinking", "");
        response += j.value("response", "");
    }
    EXPECT_EQ(thinking, "Hmm...");
    EXPECT_EQ(response, "Hello world");
    ASSERT_EQ(engine.requests.size(), 2u);
    EXPECT_EQ(engine.requests[0].think, true);
    EXPECT_EQ(engine.requests[1].think, false);
    const HttpResponse bad = post("/api/generate", {{"model", "m"}, {"prompt", "x"}, {"think", "high"}});
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("think"), std::string::npos);
}

TEST_F(OllamaTest, GenerateStreamsNdjson) {
    HttpResponse r = post("/api/generate", {{"model", "m"}, {"prompt", "x"}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/x-ndjson");
    ASSERT_TRUE(r.stream);
    const auto lines = ndjson_lines(body_of(r));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["response"], "Hello");
    EXPECT_EQ(lines[0]["done"], false);
    EXPECT_EQ(lines[0]["model"], "m");
    EXPECT_TRUE(lines[0]["created_at"].get<std::string>().ends_with("Z"));
    EXPECT_EQ(lines[1]["response"], " world");
    const json& last = lines[2];
    EXPECT_EQ(last["done"], true);
    EXPECT_EQ(last["done_reason"], "stop");
    EXPECT_EQ(last["response"], "");
    EXPECT_EQ(last["total_duration"], 2000000000);
    EXPECT_EQ(last["load_duration"], 500000000);
    EXPECT_EQ(last["prompt_eval_count"], 5);
    EXPECT_EQ(last["prompt_eval_duration"], 250000000);
    EXPECT_EQ(last["eval_count"], 2);
    EXPECT_EQ(last["eval_duration"], 1000000000);
}

TEST_F(OllamaTest, ChatStreamAndSingleObject) {
    const json msgs = {{{"role", "system"}, {"content", "S"}}, {{"role", "user"}, {"content", "U"}}};
    const auto lines = ndjson_lines(body_of(post("/api/chat", {{"model", "m"}, {"messages", msgs}})));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["message"], json({{"role", "assistant"}, {"content", "Hello"}}));
    EXPECT_EQ(lines[2]["message"]["content"], "");
    EXPECT_EQ(lines[2]["done"], true);
    EXPECT_EQ(lines[2]["eval_count"], 2);
    ASSERT_EQ(engine.requests.size(), 1u);
    ASSERT_EQ(engine.requests[0].messages.size(), 2u);
    EXPECT_EQ(engine.requests[0].messages[0].role, "system");
    EXPECT_EQ(engine.requests[0].messages[1].content, "U");
    EXPECT_FALSE(engine.requests[0].prompt);

    HttpResponse r =
        post("/api/chat", {{"model", "m"}, {"messages", msgs}, {"stream", false}, {"options", {{"num_predict", 1}}}});
    EXPECT_FALSE(r.stream);
    json j = json::parse(r.body);
    EXPECT_EQ(j["message"]["content"], "Hello");
    EXPECT_EQ(j["done"], true);
    EXPECT_EQ(j["done_reason"], "length");
    EXPECT_EQ(j["load_duration"], 500000000);
}

TEST_F(OllamaTest, EmptyPromptLoadsOrUnloads) {
    HttpResponse r = post("/api/generate", {{"model", "m"}, {"keep_alive", 0}});
    json j = json::parse(r.body);
    EXPECT_EQ(j["done"], true);
    EXPECT_EQ(j["done_reason"], "unload");
    EXPECT_EQ(engine.unloaded, std::vector<std::string>{"m"});
    r = post("/api/chat", {{"model", "m"}, {"messages", json::array()}, {"keep_alive", "0s"}});
    EXPECT_EQ(json::parse(r.body)["done_reason"], "unload");
    EXPECT_EQ(engine.unloaded.size(), 2u);
    r = post("/api/generate", {{"model", "m"}});
    EXPECT_EQ(json::parse(r.body)["done_reason"], "load");
    EXPECT_EQ(engine.unloaded.size(), 2u);
    EXPECT_TRUE(engine.requests.empty());
}

TEST_F(OllamaTest, EngineFailures) {
    engine.fail = Status::error(Code::NotFound, "model 'x' not found", "model");
    expect_error(post("/api/generate", {{"model", "x"}, {"prompt", "p"}}), 404, "model 'x' not found");
    engine.fail = error(Code::Busy, "busy");
    HttpResponse r = post("/api/chat", {{"model", "x"}, {"messages", {{{"role", "user"}, {"content", "p"}}}}});
    expect_error(r, 503, "busy");
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "Retry-After");
}

TEST_F(OllamaTest, TagsShowsImportedModel) {
    st.import("tiny-llama3.gguf", "tiny:latest");
    HttpResponse r = call(routes, "GET", "/api/tags", "");
    ASSERT_EQ(r.status, 200);
    json j = json::parse(r.body);
    ASSERT_EQ(j["models"].size(), 1u);
    const json& m = j["models"][0];
    EXPECT_EQ(m["name"], "tiny:latest");
    EXPECT_EQ(m["model"], "tiny:latest");
    EXPECT_GT(m["size"].get<uint64_t>(), 0u);
    EXPECT_EQ(m["digest"].get<std::string>().size(), 64u);
    EXPECT_TRUE(m["modified_at"].get<std::string>().ends_with("Z"));
    EXPECT_EQ(m["details"]["format"], "gguf");
    EXPECT_EQ(m["details"]["family"], "llama");
    EXPECT_EQ(m["details"]["families"], json({"llama"}));
    EXPECT_TRUE(m["details"]["parameter_size"].is_string());
    EXPECT_TRUE(m["details"]["quantization_level"].is_string());
}

TEST_F(OllamaTest, ShowModel) {
    st.import("tiny-llama3.gguf", "tiny:latest");
    HttpResponse r = post("/api/show", {{"model", "tiny"}});
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_NE(j["modelfile"].get<std::string>().find("FROM "), std::string::npos);
    EXPECT_EQ(j["details"]["family"], "llama");
    EXPECT_EQ(j["model_info"]["general.architecture"], "llama");
    EXPECT_TRUE(j["model_info"].contains("general.parameter_count"));
    EXPECT_TRUE(j["parameters"].is_string());
    EXPECT_TRUE(j["template"].is_string());
    expect_error(post("/api/show", {{"model", "missing"}}), 404, "model 'missing' not found");
    expect_error(post("/api/show", {{"model", "../etc"}}), 400, "model");
}

TEST_F(OllamaTest, DeleteAndCopy) {
    st.import("tiny-llama3.gguf", "tiny:latest");
    HttpResponse r = post("/api/copy", {{"source", "tiny"}, {"destination", "copy:v1"}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto names = [&] {
        std::vector<std::string> out;
        HttpResponse tags = call(routes, "GET", "/api/tags", "");
        EXPECT_EQ(tags.status, 200) << tags.body;
        const json j = json::parse(tags.body);
        for (const auto& m : j["models"])
            out.push_back(m["name"]);
        std::sort(out.begin(), out.end());
        return out;
    };
    EXPECT_EQ(names(), (std::vector<std::string>{"copy:v1", "tiny:latest"}));
    expect_error(post("/api/copy", {{"source", "nothere"}, {"destination", "x"}}), 404, "model 'nothere' not found");
    expect_error(post("/api/copy", {{"source", "tiny"}}), 400, "destination");

    r = call(routes, "DELETE", "/api/delete", json({{"model", "tiny:latest"}}).dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(names(), std::vector<std::string>{"copy:v1"});
    expect_error(call(routes, "DELETE", "/api/delete", json({{"model", "tiny:latest"}}).dump()), 404,
                 "model 'tiny:latest' not found");
    // The blob is still there for the copy.
    EXPECT_EQ(post("/api/show", {{"name", "copy:v1"}}).status, 200);
}

// A model whose system prompt blob is gone (issue #12): the store's errors name files under the store,
// which clients must never see; the server's log keeps them.
TEST_F(OllamaTest, BrokenModelErrorsShowNoServerPaths) {
    st.import("tiny-llama3.gguf", "tiny:latest");
    ASSERT_EQ(
        post("/api/create", {{"model", "mario"}, {"from", "tiny"}, {"system", "It's a me."}, {"stream", false}}).status,
        200);
    auto m = store::read_manifest(st.get(), *store::parse_name("mario"));
    ASSERT_TRUE(m.is_ok()) << m.message();
    for (const auto& l : m->layers)
        if (l.media_type == store::kMediaSystem) std::filesystem::remove(store::blob_path(st.get(), l.digest));
    const std::string root = st.get().root.string();
    for (const HttpResponse& r : {post("/api/show", {{"model", "mario"}}),
                                  post("/api/create", {{"model", "x"}, {"from", "mario"}, {"stream", false}}),
                                  post("/api/copy", {{"source", "mario"}, {"destination", "y"}})}) {
        EXPECT_EQ(r.status, 500) << r.body;
        EXPECT_NE(r.body.find("mario"), std::string::npos) << r.body;
        EXPECT_EQ(r.body.find(root), std::string::npos) << r.body;
        EXPECT_EQ(r.body.find("/blobs/"), std::string::npos) << r.body;
    }
    // Still listed (so it can be found and deleted), and deleted cleanly.
    EXPECT_NE(call(routes, "GET", "/api/tags", "").body.find("mario"), std::string::npos);
    EXPECT_EQ(call(routes, "DELETE", "/api/delete", json({{"model", "mario"}}).dump()).status, 200);
}

TEST_F(OllamaTest, CreateFromJsonAndModelfile) {
    st.import("tiny-llama3.gguf", "tiny:latest");
    HttpResponse r = post("/api/create", {{"model", "mario"},
                                          {"from", "tiny"},
                                          {"system", "You are Mario."},
                                          {"parameters", {{"temperature", 0.2}, {"stop", {"<end>"}}, {"num_gpu", 1}}},
                                          {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                                          {"license", "MIT"},
                                          {"stream", false}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["status"], "success");
    auto m = store::resolve(st.get(), *store::parse_name("mario"));
    ASSERT_TRUE(m.is_ok()) << m.message();
    EXPECT_EQ(m->system, std::optional<std::string>("You are Mario."));
    EXPECT_EQ(m->license, std::optional<std::string>("MIT"));
    EXPECT_EQ(m->params["temperature"], 0.2);
    EXPECT_EQ(m->params["stop"], json({"<end>"}));
    EXPECT_FALSE(m->params.contains("num_gpu"));
    EXPECT_EQ(m->messages.size(), 1u);

    // Stored PARAMETERs are the defaults of later requests; request options override them.
    ASSERT_EQ(post("/api/generate", {{"model", "mario"}, {"prompt", "x"}, {"stream", false}}).status, 200);
    EXPECT_FLOAT_EQ(engine.requests.back().sampling.temperature, 0.2f);
    EXPECT_EQ(engine.requests.back().stop, std::vector<std::string>{"<end>"});
    ASSERT_EQ(post("/api/generate",
                   {{"model", "mario"}, {"prompt", "x"}, {"stream", false}, {"options", {{"temperature", 0.9}}}})
                  .status,
              200);
    EXPECT_FLOAT_EQ(engine.requests.back().sampling.temperature, 0.9f);

    // The legacy form: a Modelfile string; streamed status lines end with success.
    r = post("/api/create",
             {{"name", "luigi"}, {"modelfile", "FROM mario\nSYSTEM You are Luigi.\nPARAMETER top_k 5\n"}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto lines = ndjson_lines(body_of(r));
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back()["status"], "success");
    auto l = store::resolve(st.get(), *store::parse_name("luigi"));
    ASSERT_TRUE(l.is_ok());
    EXPECT_EQ(l->system, std::optional<std::string>("You are Luigi."));
    EXPECT_EQ(l->params["top_k"], 5);
    EXPECT_EQ(l->params["temperature"], 0.2); // inherited

    expect_error(post("/api/create", {{"model", "x"}, {"from", "nothere"}}), 404, "model 'nothere' not found");
    expect_error(post("/api/create", {{"model", "x"}, {"from", "tiny"}, {"parameters", {{"top_p", 7}}}}), 400,
                 "parameters.top_p");
    expect_error(post("/api/create", {{"model", "x"}, {"from", "tiny"}, {"parameters", {{"bogus", 1}}}}), 400,
                 "parameters.bogus");
    expect_error(post("/api/create", {{"model", "x"}, {"from", "/etc/passwd"}}), 400, "from");
    expect_error(post("/api/create", {{"model", "x"}}), 400, "from");
    expect_error(post("/api/create", {{"model", "x"}, {"modelfile", "FROM tiny\nBOGUS 1\n"}}), 400, "modelfile");
    EXPECT_FALSE(store::resolve(st.get(), *store::parse_name("x")).is_ok());
}

// A model is created only with a chat template that renders within the budget (template/conversation.h):
// given in the request, in a Modelfile, or inherited; a refused one leaves the store as it was.
TEST_F(OllamaTest, CreateRefusesAHostileTemplate) {
    st.import("tiny-llama3.gguf", "tiny:latest");
    const std::string expo =
        "{% macro f(n) %}{% if n < 40 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}";
    // A model created before this check (straight through the store) that carries the same template.
    store::Modelfile old;
    old.from = "tiny";
    old.template_text = expo;
    ASSERT_TRUE(store::create_model(st.get(), *store::parse_name("old"), old, st.get().root).is_ok());
    auto files = [&] {
        size_t n = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(st.get().root))
            n += e.is_regular_file();
        return n;
    };
    const size_t before = files();
    const json hostile[] = {
        {{"model", "bad"}, {"from", "tiny"}, {"template", expo}},
        {{"model", "bad"}, {"modelfile", "FROM tiny\nTEMPLATE \"\"\"" + expo + "\"\"\"\n"}},
        {{"model", "bad"}, {"from", "old"}, {"system", "inherits the template"}},
        {{"model", "bad"},
         {"from", "tiny"},
         {"template", "{{ .Prompt }}{{ range $i := 100000 }}{{ range $j := 100000 }}{{ end }}{{ end }}"}},
        {{"model", "bad"}, {"from", "tiny"}, {"template", "{% set s = 'x' * 1000000 %}{{ ([s] * 100000)|join('') }}"}},
    };
    for (const json& body : hostile) {
        const auto t0 = std::chrono::steady_clock::now();
        const HttpResponse r = post("/api/create", body);
        EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << body;
        expect_error(r, 400, "template exceeds the rendering budget (5000000 steps / 1 s)");
    }
    expect_error(post("/api/create", {{"model", "bad"}, {"from", "tiny"}, {"template", "{% for %}"}}), 400,
                 "template does not render a sample conversation: ");
    EXPECT_FALSE(store::resolve(st.get(), *store::parse_name("bad")).is_ok());
    EXPECT_EQ(files(), before); // no blob, no manifest
    // A template that renders is taken.
    const HttpResponse ok =
        post("/api/create", {{"model", "good"}, {"from", "tiny"}, {"template", "{{ .Prompt }}"}, {"stream", false}});
    EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(OllamaTest, PsVersionAndAccess) {
    st.import("tiny-llama3.gguf", "tiny:latest");
    engine.loaded_models = {{"tiny:latest", "/p", 1234, 60}};
    json j = json::parse(call(routes, "GET", "/api/ps", "").body);
    ASSERT_EQ(j["models"].size(), 1u);
    EXPECT_EQ(j["models"][0]["name"], "tiny:latest");
    EXPECT_EQ(j["models"][0]["size"], 1234);
    EXPECT_EQ(j["models"][0]["details"]["family"], "llama");
    EXPECT_EQ(j["models"][0]["digest"].get<std::string>().size(), 64u);
    EXPECT_TRUE(j["models"][0]["expires_at"].get<std::string>().ends_with("Z"));
    EXPECT_EQ(json::parse(call(routes, "GET", "/api/version", "").body)["version"], "0.1.0");
    for (const auto& r : routes) {
        const bool manage =
            r.path == "/api/pull" || r.path == "/api/create" || r.path == "/api/delete" || r.path == "/api/copy";
        EXPECT_EQ(r.access, manage ? Access::Management : Access::Inference) << r.path;
    }
}

TEST_F(OllamaTest, PullRejectsBadReferencesAndInsecureUrls) {
    expect_error(post("/api/pull", {{"model", "http://127.0.0.1:1/x.gguf"}, {"stream", false}}), 400, "http");
    expect_error(post("/api/pull", {{"insecure", true}}), 400, "model");
}

} // namespace
} // namespace hearth::server
