// tests/server/test_embeddings.cpp: the embedding routes of both adapters (/v1/embeddings, /api/embed,
// /api/embeddings), called through their Route handlers with a fake engine: request mapping, refused fields,
// response shapes, base64, engine failures.
#include "fake_engine.h"
#include "server/ollama.h"
#include "server/openai.h"

#include <cstring>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hearth::server {
namespace {

using nlohmann::json;
using testing::call;
using testing::FakeEngine;

struct EmbeddingsTest : ::testing::Test {
    FakeEngine engine;
    ApiContext ctx{engine, nullptr, "0.1.0", false, 8};
    std::vector<Route> routes = [this] {
        auto r = openai_routes(ctx);
        auto o = ollama_routes(ctx);
        r.insert(r.end(), o.begin(), o.end());
        return r;
    }();

    HttpResponse post(const std::string& path, const json& body) { return call(routes, "POST", path, body.dump()); }

    // A 400 naming `field` (OpenAI: error.param; Ollama: in the message), and nothing reached the engine.
    void expect_rejected(const std::string& path, const json& body, const std::string& field) {
        const size_t before = engine.embed_requests.size();
        HttpResponse r = post(path, body);
        EXPECT_EQ(r.status, 400) << body.dump() << " -> " << r.body;
        const json j = json::parse(r.body);
        if (path == "/v1/embeddings")
            EXPECT_EQ(j["error"]["param"], field) << r.body;
        else
            EXPECT_NE(j["error"].get<std::string>().find(field), std::string::npos) << r.body;
        EXPECT_EQ(engine.embed_requests.size(), before) << "a rejected request reached the engine";
    }
};

TEST_F(EmbeddingsTest, OpenAiMapsInputsAndShapesTheResponse) {
    HttpResponse r = post("/v1/embeddings", {{"model", "m"}, {"input", "hello"}});
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["object"], "list");
    EXPECT_EQ(j["model"], "m");
    ASSERT_EQ(j["data"].size(), 1u);
    EXPECT_EQ(j["data"][0]["object"], "embedding");
    EXPECT_EQ(j["data"][0]["index"], 0);
    EXPECT_EQ(j["data"][0]["embedding"].get<std::vector<float>>(), engine.embed_vector);
    EXPECT_EQ(j["usage"]["prompt_tokens"], 3);
    EXPECT_EQ(j["usage"]["total_tokens"], 3);
    const engine::EmbedRequest& q = engine.embed_requests.back();
    EXPECT_EQ(q.texts, std::vector<std::string>{"hello"});
    EXPECT_TRUE(q.normalize);
    EXPECT_EQ(q.dimensions, 0);

    ASSERT_EQ(post("/v1/embeddings", {{"model", "m"}, {"input", {"a", "b"}}, {"dimensions", 2}}).status, 200);
    EXPECT_EQ(engine.embed_requests.back().texts.size(), 2u);
    EXPECT_EQ(engine.embed_requests.back().dimensions, 2);
    ASSERT_EQ(post("/v1/embeddings", {{"model", "m"}, {"input", {1, 2, 3}}}).status, 200);
    EXPECT_EQ(engine.embed_requests.back().token_inputs, (std::vector<std::vector<int32_t>>{{1, 2, 3}}));
    ASSERT_EQ(post("/v1/embeddings", {{"model", "m"}, {"input", {{1, 2}, {3}}}}).status, 200);
    EXPECT_EQ(engine.embed_requests.back().token_inputs, (std::vector<std::vector<int32_t>>{{1, 2}, {3}}));
}

TEST_F(EmbeddingsTest, OpenAiBase64IsLittleEndianFloat32) {
    HttpResponse r = post("/v1/embeddings", {{"model", "m"}, {"input", "x"}, {"encoding_format", "base64"}});
    ASSERT_EQ(r.status, 200) << r.body;
    // 0.5, -0.25, 1.0, 0.0 as little-endian float32: 0000003f 000080be 0000803f 00000000.
    EXPECT_EQ(json::parse(r.body)["data"][0]["embedding"], "AAAAPwAAgL4AAIA/AAAAAA==");
}

TEST_F(EmbeddingsTest, OpenAiRefusesWhatItDoesNotHonour) {
    expect_rejected("/v1/embeddings", {{"model", "m"}, {"input", "x"}, {"user", "u"}}, "user");
    expect_rejected("/v1/embeddings", {{"input", "x"}}, "model");
    expect_rejected("/v1/embeddings", {{"model", "m"}}, "input");
    expect_rejected("/v1/embeddings", {{"model", "m"}, {"input", json::array()}}, "input");
    expect_rejected("/v1/embeddings", {{"model", "m"}, {"input", ""}}, "input");
    expect_rejected("/v1/embeddings", {{"model", "m"}, {"input", {"a", 1}}}, "input");
    expect_rejected("/v1/embeddings", {{"model", "m"}, {"input", {1, -2}}}, "input");
    expect_rejected("/v1/embeddings", {{"model", "m"}, {"input", "x"}, {"encoding_format", "int8"}}, "encoding_format");
    expect_rejected("/v1/embeddings", {{"model", "m"}, {"input", "x"}, {"dimensions", 0}}, "dimensions");
}

TEST_F(EmbeddingsTest, EngineFailuresKeepTheirStatusAndField) {
    engine.fail = bad_field("dimensions", "dimensions 8 is not supported");
    HttpResponse r = post("/v1/embeddings", {{"model", "m"}, {"input", "x"}, {"dimensions", 8}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(json::parse(r.body)["error"]["param"], "dimensions");
    engine.fail = Status::error(Code::NotFound, "model 'm' not found", "model");
    EXPECT_EQ(post("/v1/embeddings", {{"model", "m"}, {"input", "x"}}).status, 404);
    EXPECT_EQ(post("/api/embed", {{"model", "m"}, {"input", "x"}}).status, 404);
    engine.fail = Status::error(Code::ContextFull, "input 0 has 600 tokens", "input");
    EXPECT_EQ(post("/api/embed", {{"model", "m"}, {"input", "x"}, {"truncate", false}}).status, 400);
    EXPECT_FALSE(engine.embed_requests.back().truncate);
}

TEST_F(EmbeddingsTest, OllamaEmbedShapeAndFields) {
    HttpResponse r = post("/api/embed", {{"model", "m"},
                                         {"input", {"a", "b"}},
                                         {"options", {{"num_ctx", 256}, {"temperature", 0.5}}},
                                         {"keep_alive", "1m"}});
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["model"], "m");
    ASSERT_EQ(j["embeddings"].size(), 2u);
    EXPECT_EQ(j["embeddings"][1].get<std::vector<float>>(), engine.embed_vector);
    EXPECT_EQ(j["prompt_eval_count"], 6);
    EXPECT_EQ(j["total_duration"], 2000000000);
    EXPECT_EQ(j["load_duration"], 500000000);
    const engine::EmbedRequest& q = engine.embed_requests.back();
    EXPECT_EQ(q.num_ctx, 256);
    EXPECT_DOUBLE_EQ(q.keep_alive_s, 60);
    EXPECT_TRUE(q.truncate);
    EXPECT_TRUE(q.normalize);

    expect_rejected("/api/embed", {{"model", "m"}, {"input", "x"}, {"stream", false}}, "stream");
    expect_rejected("/api/embed", {{"model", "m"}, {"input", {1, 2}}}, "input"); // no token ids in Ollama's API
    expect_rejected("/api/embed", {{"model", "m"}, {"input", "x"}, {"truncate", "yes"}}, "truncate");
    expect_rejected("/api/embed", {{"model", "m"}, {"input", "x"}, {"keep_alive", "soon"}}, "keep_alive");
    expect_rejected("/api/embed", {{"model", "m"}, {"input", "x"}, {"options", {{"num_ctx", "big"}}}}, "num_ctx");
}

TEST_F(EmbeddingsTest, OllamaLegacyEmbeddingsIsOneUnnormalizedVector) {
    HttpResponse r = post("/api/embeddings", {{"model", "m"}, {"prompt", "hello"}});
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j.size(), 1u);
    EXPECT_EQ(j["embedding"].get<std::vector<float>>(), engine.embed_vector);
    EXPECT_FALSE(engine.embed_requests.back().normalize);
    EXPECT_EQ(engine.embed_requests.back().texts, std::vector<std::string>{"hello"});
    expect_rejected("/api/embeddings", {{"model", "m"}}, "prompt");
    expect_rejected("/api/embeddings", {{"model", "m"}, {"prompt", "x"}, {"input", "y"}}, "input");
}

} // namespace
} // namespace hearth::server
