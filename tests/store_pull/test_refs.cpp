// tests/store_pull/test_refs.cpp: the parts of pull that need no network: reference parsing, the
// address rules, URL checks, hub listings and the choice of a GGUF.
#include "store/pull/hf.h"
#include "store/pull/net_guard.h"
#include "store/pull/pull.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace hearth::store {
namespace {

TEST(PullRef, HuggingFaceForms) {
    for (const char* text : {"org/repo", "hf.co/org/repo", "huggingface.co/org/repo", "HF.CO/org/repo",
                             "https://huggingface.co/org/repo", "https://huggingface.co/org/repo/"}) {
        auto r = parse_pull_ref(text);
        ASSERT_TRUE(r) << text << ": " << r.message();
        EXPECT_EQ(r->kind, PullRef::Kind::HuggingFace) << text;
        EXPECT_EQ(r->org, "org");
        EXPECT_EQ(r->repo, "repo");
        EXPECT_EQ(r->quant, "");
    }
    auto q = parse_pull_ref("bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M");
    ASSERT_TRUE(q) << q.message();
    EXPECT_EQ(q->org, "bartowski");
    EXPECT_EQ(q->repo, "Llama-3.2-1B-Instruct-GGUF");
    EXPECT_EQ(q->quant, "Q4_K_M");
}

TEST(PullRef, Urls) {
    auto r = parse_pull_ref("https://example.com/models/x.Q8_0.gguf");
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->kind, PullRef::Kind::Url);
    EXPECT_EQ(r->url, "https://example.com/models/x.Q8_0.gguf");
    EXPECT_FALSE(parse_pull_ref("http://example.com/x.gguf"));
    PullOptions insecure;
    insecure.allow_insecure = true;
    EXPECT_TRUE(parse_pull_ref("http://example.com/x.gguf", insecure));
    EXPECT_FALSE(parse_pull_ref("ftp://example.com/x.gguf"));
    EXPECT_FALSE(parse_pull_ref("file:///etc/passwd"));
    EXPECT_FALSE(parse_pull_ref("https://user:pw@example.com/x.gguf"));
}

TEST(PullRef, RejectsBadNames) {
    const std::string too_long = std::string(97, 'a') + "/r";
    EXPECT_FALSE(parse_pull_ref(too_long));
    for (const char* text : {"", "   ", "repo", "a/b/c", "org/../x", "../org/repo", "org/re po",
                             "org/repo:", "org/repo:a/b", "org/repo:q4;rm", "-org/repo", "org/.repo", "org/repo\\x"}) {
        EXPECT_FALSE(parse_pull_ref(text)) << "'" << text << "'";
    }
}

TEST(NetGuard, BlockedAddresses) {
    for (const char* a : {"127.0.0.1",
                          "127.1.2.3",
                          "10.0.0.1",
                          "172.16.0.1",
                          "172.31.255.255",
                          "192.168.1.1",
                          "169.254.169.254",
                          "0.0.0.0",
                          "100.64.0.1",
                          "224.0.0.1",
                          "255.255.255.255",
                          "240.0.0.1",
                          "::1",
                          "::",
                          "fe80::1",
                          "fc00::1",
                          "fd12:3456::1",
                          "ff02::1",
                          "::ffff:127.0.0.1",
                          "::ffff:10.1.2.3",
                          "::ffff:169.254.169.254",
                          "::127.0.0.1",
                          "64:ff9b::a9fe:a9fe",
                          "fec0::1"}) {
        EXPECT_TRUE(is_blocked_address(a)) << a;
    }
    for (const char* a : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
                          "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "13.107.42.14"}) {
        EXPECT_FALSE(is_blocked_address(a)) << a;
    }
    EXPECT_FALSE(is_blocked_address("not an address"));
}

// IPv6 forms that carry an IPv4 address: 6to4 (2002:V4ADDR::/48, RFC 3056) and NAT64 (64:ff9b::/96,
// RFC 6052) are judged by the IPv4 address they embed; Teredo (2001:0::/32, RFC 4380) tunnels to an
// address that cannot be checked here and the NAT64 local-use prefix (64:ff9b:1::/48, RFC 8215) has no
// fixed place for it, so both are refused.
TEST(NetGuard, EmbeddedIpv4Addresses) {
    for (const char* a : {"2002:7f00:1::",          // 6to4 of 127.0.0.1
                          "2002:7f00:0001:1234::5", // ... with a subnet and host part
                          "2002:a9fe:a9fe::1",      // 169.254.169.254 (cloud metadata)
                          "2002:c0a8:101::1",       // 192.168.1.1
                          "2002:a00:1::",           // 10.0.0.1
                          "2002::",                 // 0.0.0.0
                          "2001::1",                // Teredo
                          "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                          "64:ff9b::7f00:1",                            // NAT64 of 127.0.0.1
                          "64:ff9b::10.0.0.1", "64:ff9b:1::808:808"}) { // NAT64 local use
        EXPECT_TRUE(is_blocked_address(a)) << a;
    }
    for (const char* a : {"2002:808:808::1",       // 6to4 of 8.8.8.8
                          "2002:0101:0101:ffff::", // 1.1.1.1
                          "64:ff9b::1.1.1.1",
                          "2001:4860:4860::8888", // a public 2001:: address that is not Teredo
                          "2001:1::1"}) {
        EXPECT_FALSE(is_blocked_address(a)) << a;
    }
    for (const char* url : {"https://[2002:7f00:1::]/x", "https://[2001::1]/x", "https://[64:ff9b::a9fe:a9fe]/x"}) {
        auto parts = parse_url(url, false);
        ASSERT_TRUE(parts) << url;
        EXPECT_FALSE(check_host(*parts, false)) << url;
        EXPECT_TRUE(check_host(*parts, true)) << url; // allow_private: a trusted local setup
    }
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    ASSERT_EQ(inet_pton(AF_INET6, "2002:a9fe:a9fe::1", &sa.sin6_addr), 1);
    EXPECT_TRUE(blocked_sockaddr(reinterpret_cast<const sockaddr*>(&sa))); // the connect-time check too
}

TEST(NetGuard, ParseUrl) {
    auto u = parse_url("https://Example.COM/a/b.gguf?x=1", false);
    ASSERT_TRUE(u) << u.message();
    EXPECT_EQ(u->scheme, "https");
    EXPECT_EQ(u->host, "example.com");
    EXPECT_EQ(u->port, 443);
    EXPECT_FALSE(u->host_is_literal);
    auto v6 = parse_url("http://[::1]:8080/x", true);
    ASSERT_TRUE(v6) << v6.message();
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 8080);
    EXPECT_TRUE(v6->host_is_literal);
    EXPECT_FALSE(parse_url("http://example.com/x", false));
    EXPECT_FALSE(parse_url("gopher://example.com/x", true));
    EXPECT_FALSE(parse_url("https://u:p@example.com/x", true));
    EXPECT_FALSE(parse_url("not a url", true));
}

TEST(NetGuard, CheckHostRefusesLoopbackNamesAndLiterals) {
    for (const char* url : {"https://localhost/x", "https://127.0.0.1/x", "https://[::1]/x",
                            "https://[::ffff:7f00:1]/x", "https://0x7f000001/x", "https://2130706433/x"}) {
        auto parts = parse_url(url, false);
        ASSERT_TRUE(parts) << url;
        auto r = check_host(*parts, false);
        EXPECT_FALSE(r) << url;
        EXPECT_TRUE(check_host(*parts, true)) << url;
    }
}

TEST(HfTree, ParsesAndValidates) {
    const std::string sha(64, 'a');
    auto files =
        parse_hf_tree(R"([{"type":"file","path":"a.gguf","size":10,"lfs":{"oid":")" + sha +
                      R"(","size":20}},{"type":"directory","path":"d"},{"type":"file","path":"README.md","size":3}])");
    ASSERT_TRUE(files) << files.message();
    ASSERT_EQ(files->size(), 2u);
    EXPECT_EQ((*files)[0].path, "a.gguf");
    EXPECT_EQ((*files)[0].size, 20u); // the LFS size
    EXPECT_EQ((*files)[0].sha256, sha);
    EXPECT_EQ((*files)[1].sha256, "");
    for (const char* bad :
         {"{}", "[1]", "not json", R"([{"type":"file","path":"../x.gguf","size":1}])",
          R"([{"type":"file","path":"/etc/x","size":1}])", R"([{"type":"file","path":"a\\b","size":1}])",
          R"([{"type":"file","path":"a.gguf","size":-1}])",
          R"([{"type":"file","path":"a.gguf","size":1,"lfs":{"oid":"../../x"}}])",
          R"([{"type":"file","path":"a.gguf","size":1,"lfs":{"oid":"ABCDEF"}}])"}) {
        EXPECT_FALSE(parse_hf_tree(bad)) << bad;
    }
}

std::vector<HfFile> files_named(std::initializer_list<const char*> names) {
    std::vector<HfFile> out;
    for (const char* n : names)
        out.push_back({n, 1, ""});
    return out;
}

TEST(HfChoose, DefaultPreferenceOrder) {
    auto pick = [](std::initializer_list<const char*> names) {
        return choose_gguf(files_named(names), "").value().path;
    };
    EXPECT_EQ(pick({"m-Q8_0.gguf", "m-Q4_K_M.gguf", "m-Q4_0.gguf"}), "m-Q4_K_M.gguf");
    EXPECT_EQ(pick({"m-Q8_0.gguf", "m-Q5_K_M.gguf", "m-Q4_0.gguf"}), "m-Q4_0.gguf");
    EXPECT_EQ(pick({"m-Q8_0.gguf", "m-Q5_K_M.gguf", "m-F16.gguf"}), "m-Q5_K_M.gguf");
    EXPECT_EQ(pick({"m-F16.gguf", "m-Q8_0.gguf"}), "m-Q8_0.gguf");
    EXPECT_EQ(pick({"z-F16.gguf", "a-BF16.gguf", "mmproj-a.gguf", "README.md"}), "a-BF16.gguf");
    EXPECT_EQ(pick({"mmproj-Q4_K_M.gguf", "m-IQ4_XS.gguf"}), "m-IQ4_XS.gguf"); // never a projector
    EXPECT_EQ(pick({"m-IQ4_0.gguf", "m-Q4_0.gguf"}), "m-Q4_0.gguf");
}

TEST(HfChoose, QuantTag) {
    const auto files = files_named({"x.Q4_K_S.gguf", "x.Q4_K_M.gguf", "x.Q8_0.gguf", "x.IQ4_XS.gguf"});
    EXPECT_EQ(choose_gguf(files, "q4_k_m")->path, "x.Q4_K_M.gguf");
    EXPECT_EQ(choose_gguf(files, "Q8_0")->path, "x.Q8_0.gguf");
    EXPECT_EQ(choose_gguf(files, "iq4_xs")->path, "x.IQ4_XS.gguf");
    EXPECT_FALSE(choose_gguf(files, "Q4_K")); // not a prefix match on Q4_K_S / Q4_K_M
    EXPECT_FALSE(choose_gguf(files, "Q4"));
}

TEST(HfChoose, SplitFiles) {
    auto only_split = choose_gguf(files_named({"m-Q4_K_M-00001-of-00002.gguf", "m-Q4_K_M-00002-of-00002.gguf"}), "");
    ASSERT_FALSE(only_split);
    EXPECT_NE(only_split.message().find("split GGUFs are not supported yet"), std::string::npos);
    auto mixed = files_named({"m-Q8_0-00001-of-00002.gguf", "m-Q8_0-00002-of-00002.gguf", "m-Q4_K_M.gguf"});
    EXPECT_EQ(choose_gguf(mixed, "")->path, "m-Q4_K_M.gguf");
    auto q8 = choose_gguf(mixed, "Q8_0");
    ASSERT_FALSE(q8);
    EXPECT_NE(q8.message().find("split"), std::string::npos);
    EXPECT_FALSE(choose_gguf(files_named({"README.md"}), ""));
}

TEST(HfChoose, QuantOfFileName) {
    EXPECT_EQ(quant_of("Llama-3.2-1B-Instruct-Q4_K_M.gguf"), "Q4_K_M");
    EXPECT_EQ(quant_of("qwen2.5-coder-0.5b-instruct-q8_0.gguf"), "Q8_0");
    EXPECT_EQ(quant_of("gemma-3-270m-it-UD-IQ2_XXS.gguf"), "IQ2_XXS");
    EXPECT_EQ(quant_of("SmolLM2-135M-Instruct.Q4_1.gguf"), "Q4_1");
    EXPECT_EQ(quant_of("model-bf16.gguf"), "BF16");
    EXPECT_EQ(quant_of("qwen2-model.gguf"), "");
    EXPECT_TRUE(is_split_gguf("dir/m-00001-of-00003.gguf"));
    EXPECT_FALSE(is_split_gguf("m-00001.gguf"));
}

} // namespace
} // namespace hearth::store
