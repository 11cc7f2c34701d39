// tests/server/test_security.cpp: the request checks of security.h as pure functions: bearer tokens, key
// verdicts per route access, Host parsing and the allow-list, origins, Content-Length, key files.
#include "server/security.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace hearth::server {
namespace {

using V = KeyChecker::Verdict;

TEST(Security, BearerToken) {
    EXPECT_EQ(bearer_token("Bearer abc").value_or(""), "abc");
    EXPECT_EQ(bearer_token("bearer  abc ").value_or(""), "abc");
    EXPECT_FALSE(bearer_token("Bearer"));
    EXPECT_FALSE(bearer_token("Bearer "));
    EXPECT_FALSE(bearer_token("Bearerabc"));
    EXPECT_FALSE(bearer_token("Basic abc"));
    EXPECT_FALSE(bearer_token("abc"));
}

TEST(Security, ApiKeyOnly) {
    const KeyChecker k("sk-1", "");
    const std::string right = "Bearer sk-1", wrong = "Bearer sk-2", prefix = "Bearer sk-", longer = "Bearer sk-12";
    EXPECT_EQ(k.check(Access::Public, nullptr), V::Ok);
    EXPECT_EQ(k.check(Access::Inference, nullptr), V::Missing);
    EXPECT_EQ(k.check(Access::Inference, &wrong), V::Wrong);
    EXPECT_EQ(k.check(Access::Inference, &prefix), V::Wrong);
    EXPECT_EQ(k.check(Access::Inference, &longer), V::Wrong);
    EXPECT_EQ(k.check(Access::Inference, &right), V::Ok);
    EXPECT_EQ(k.check(Access::Management, &right), V::Ok); // no management key: the API key covers it
    EXPECT_EQ(k.check(Access::Management, nullptr), V::Missing);
}

TEST(Security, ManagementKey) {
    const KeyChecker k("sk-1", "mk-1");
    const std::string api = "Bearer sk-1", admin = "Bearer mk-1", wrong = "Bearer x";
    EXPECT_EQ(k.check(Access::Management, &api), V::NeedsManagementKey);
    EXPECT_EQ(k.check(Access::Management, &admin), V::Ok);
    EXPECT_EQ(k.check(Access::Management, &wrong), V::Wrong);
    EXPECT_EQ(k.check(Access::Inference, &admin), V::Ok);
    EXPECT_EQ(k.check(Access::Inference, &api), V::Ok);

    const KeyChecker only_admin("", "mk-1"); // inference open, management locked
    EXPECT_EQ(only_admin.check(Access::Inference, nullptr), V::Ok);
    EXPECT_EQ(only_admin.check(Access::Management, nullptr), V::Missing);
    EXPECT_EQ(only_admin.check(Access::Management, &admin), V::Ok);
}

TEST(Security, NoKeys) {
    const KeyChecker k("", "");
    EXPECT_EQ(k.check(Access::Inference, nullptr), V::Ok);
    EXPECT_EQ(k.check(Access::Management, nullptr), V::Ok);
    EXPECT_FALSE(k.has_api_key());
}

TEST(Security, HostName) {
    EXPECT_EQ(host_name("localhost:8080").value_or("?"), "localhost");
    EXPECT_EQ(host_name("LocalHost").value_or("?"), "localhost");
    EXPECT_EQ(host_name("[::1]:80").value_or("?"), "[::1]");
    EXPECT_EQ(host_name("[::1]").value_or("?"), "[::1]");
    EXPECT_FALSE(host_name(""));
    EXPECT_FALSE(host_name(":80"));
    EXPECT_FALSE(host_name("localhost:"));
    EXPECT_FALSE(host_name("localhost:80:80"));
    EXPECT_FALSE(host_name("localhost:8o"));
    EXPECT_FALSE(host_name("localhost:123456"));
    EXPECT_FALSE(host_name("[::1"));
    EXPECT_FALSE(host_name("[::1]x"));
    EXPECT_FALSE(host_name("local host"));
    EXPECT_FALSE(host_name("evil.com/localhost"));
    EXPECT_FALSE(host_name("user@localhost"));
}

TEST(Security, HostAllowed) {
    const std::vector<std::string> none, extra = {"MyHost.lan"};
    EXPECT_TRUE(host_allowed("localhost", none));
    EXPECT_TRUE(host_allowed("127.0.0.1:11435", none));
    EXPECT_TRUE(host_allowed("[::1]:11435", none));
    EXPECT_FALSE(host_allowed("127.0.0.2", none));
    EXPECT_FALSE(host_allowed("evil.com", none));
    EXPECT_FALSE(host_allowed("localhost.evil.com", none));
    EXPECT_FALSE(host_allowed("127.0.0.1.nip.io", none));
    EXPECT_FALSE(host_allowed("", none));
    EXPECT_FALSE(host_allowed("myhost.lan", none));
    EXPECT_TRUE(host_allowed("myhost.lan:1", extra));
}

TEST(Security, LoopbackAddress) {
    EXPECT_TRUE(is_loopback_address("127.0.0.1"));
    EXPECT_TRUE(is_loopback_address("127.1.2.3"));
    EXPECT_TRUE(is_loopback_address("::1"));
    EXPECT_TRUE(is_loopback_address("localhost"));
    EXPECT_FALSE(is_loopback_address("0.0.0.0"));
    EXPECT_FALSE(is_loopback_address("::"));
    EXPECT_FALSE(is_loopback_address("192.168.1.2"));
    EXPECT_FALSE(is_loopback_address("127.0.0.256"));
    EXPECT_FALSE(is_loopback_address("127.0.0"));
    EXPECT_FALSE(is_loopback_address("127.0.0.1.example"));
}

TEST(Security, Origins) {
    const std::vector<std::string> allowed = {"http://app.example"};
    EXPECT_TRUE(origin_allowed("http://app.example", "localhost:1", allowed));
    EXPECT_FALSE(origin_allowed("http://app.example.evil", "localhost:1", allowed));
    EXPECT_FALSE(origin_allowed("http://APP.example", "localhost:1", {})); // exact match only
    EXPECT_TRUE(origin_allowed("http://localhost:1", "localhost:1", {}));  // same origin
    EXPECT_FALSE(origin_allowed("http://localhost:2", "localhost:1", {}));
    EXPECT_FALSE(origin_allowed("null", "localhost:1", {}));
}

TEST(Security, ContentLength) {
    EXPECT_EQ(parse_content_length("0").value_or(99), 0u);
    EXPECT_EQ(parse_content_length("8388608").value_or(0), 8388608u);
    EXPECT_FALSE(parse_content_length(""));
    EXPECT_FALSE(parse_content_length("-1"));
    EXPECT_FALSE(parse_content_length("+1"));
    EXPECT_FALSE(parse_content_length("1 "));
    EXPECT_FALSE(parse_content_length("0x10"));
    EXPECT_FALSE(parse_content_length("12abc"));
    EXPECT_FALSE(parse_content_length("99999999999999999999999"));
}

TEST(Security, KeyFile) {
    const auto dir = std::filesystem::temp_directory_path() / ("hearth-keyfile-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "key") << "  sk-from-file \n";
    std::ofstream(dir / "empty") << "\n";
    EXPECT_EQ(read_key_file((dir / "key").string()).value(), "sk-from-file");
    EXPECT_FALSE(read_key_file((dir / "empty").string()));
    EXPECT_FALSE(read_key_file((dir / "missing").string()));
    std::filesystem::remove_all(dir);
}

TEST(Security, ErrorShape) {
    const auto j = nlohmann::json::parse(error_body("bad \"key\"", "invalid_request_error", "invalid_api_key"));
    EXPECT_EQ(j["error"]["message"], "bad \"key\"");
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
    EXPECT_TRUE(j["error"]["param"].is_null());
    EXPECT_EQ(j["error"]["code"], "invalid_api_key");
    EXPECT_TRUE(nlohmann::json::parse(error_body("x", "server_error", ""))["error"]["code"].is_null());
}

} // namespace
} // namespace hearth::server
