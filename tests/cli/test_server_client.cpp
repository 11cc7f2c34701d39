// tests/cli/test_server_client.cpp: HEARTH_HOST as `hearth ps` / `hearth stop` / `hearth router stats` read
// it (the forms OLLAMA_HOST takes), and error replies as they print them.
#include "cli/server_client.h"

#include <gtest/gtest.h>

namespace hearth::cli {
namespace {

TEST(ServerClient, HearthHostForms) {
    const std::pair<const char*, const char*> ok[] = {
        {nullptr, "http://127.0.0.1:11435"},
        {"", "http://127.0.0.1:11435"},
        {"localhost", "http://localhost:11435"},
        {"box.lan:8080", "http://box.lan:8080"},
        {":9000", "http://127.0.0.1:9000"},
        {"0.0.0.0:9000", "http://127.0.0.1:9000"},
        {"http://10.0.0.2:11435/", "http://10.0.0.2:11435"},
        {"https://llm.example.com", "https://llm.example.com:443"},
        {"[::1]:8080", "http://[::1]:8080"},
        {"[::1]", "http://[::1]:11435"},
    };
    for (const auto& [in, want] : ok) {
        auto got = server_base_url(in);
        ASSERT_TRUE(got) << (in ? in : "null") << ": " << got.message();
        EXPECT_EQ(*got, want) << (in ? in : "null");
    }
    for (const char* bad : {"bad host", "host:0", "host:65536", "host:12ab", "ftp://x", "a/b", "[::1", "h:"}) {
        auto got = server_base_url(bad);
        EXPECT_FALSE(got) << bad << " -> " << (got ? *got : "");
        if (!got) {
            EXPECT_NE(got.message().find(bad), std::string::npos) << got.message();
        }
    }
}

TEST(ServerClient, ErrorReplies) {
    EXPECT_EQ(reply_error({401, R"({"error":{"message":"incorrect API key","type":"x"}})"}), "incorrect API key");
    EXPECT_EQ(reply_error({404, R"({"error":"model 'x' not found"})"}), "model 'x' not found");
    EXPECT_EQ(reply_error({502, "<html>bad gateway</html>"}), "HTTP 502");
    EXPECT_EQ(reply_error({500, R"({"error":{"code":1}})"}), "HTTP 500");
}

TEST(ServerClient, UnreachableServerIsAnErrorNamingIt) {
    auto r = call_server("http://127.0.0.1:1", "GET", "/api/ps", "", "");
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("127.0.0.1:1/api/ps"), std::string::npos) << r.message();
}

} // namespace
} // namespace hearth::cli
