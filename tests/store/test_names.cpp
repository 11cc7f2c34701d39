// Model names and digests: the grammar, its error messages, and a property test over 10,000+
// generated names (valid ones, and ones mixing separators, traversal and Unicode look-alikes).
#include "store/store.h"
#include "store_test_util.h"

#include <gtest/gtest.h>
#include <random>

namespace fs = std::filesystem;
using hearth::store::ModelName;
using hearth::store::parse_name;

namespace {

TEST(ModelName, DefaultsAndParts) {
    auto a = parse_name("smollm");
    ASSERT_TRUE(a) << a.message();
    EXPECT_EQ(*a, (ModelName{"local", "library", "smollm", "latest"}));
    EXPECT_EQ(a->display(), "smollm:latest");
    auto b = parse_name("SmolLM2:135M-Q4_1");
    ASSERT_TRUE(b) << b.message();
    EXPECT_EQ(b->model, "smollm2");
    EXPECT_EQ(b->tag, "135m-q4_1");
    auto c = parse_name("bartowski/Qwen2.5-Coder-0.5B-Instruct-GGUF:q4_k_m");
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->host, "local");
    EXPECT_EQ(c->ns, "bartowski");
    EXPECT_EQ(c->display(), "bartowski/qwen2.5-coder-0.5b-instruct-gguf:q4_k_m");
    auto d = parse_name("hf.co/unsloth/gemma-3-270m-it-GGUF:Q4_K_M");
    ASSERT_TRUE(d) << d.message();
    EXPECT_EQ(d->host, "hf.co");
    EXPECT_EQ(d->ns, "unsloth");
    EXPECT_EQ(d->display(), "hf.co/unsloth/gemma-3-270m-it-gguf:q4_k_m");
    auto e = parse_name("local/library/x:_tag");
    ASSERT_TRUE(e) << e.message();
    EXPECT_EQ(e->display(), "x:_tag");
}

TEST(ModelName, RejectsWithAReason) {
    struct Case {
        std::string text, needle;
    };
    const std::vector<Case> cases = {
        {"", "empty"},
        {"../etc/passwd", "host"},
        {"..", "model"},
        {"a/../b", "namespace"},
        {"/abs", "empty"},
        {"a\\b", "'\\'"},
        {std::string("a\0b", 3), "control byte 0x00"},
        {"a:b:c", "once"},
        {"a:", "tag"},
        {":tag", "model"},
        {"a//b", "namespace"},
        {"a/b/c/d", "too many"},
        {".hidden", "must start"},
        {"-dash", "must start"},
        {"a..b", "\"..\""},
        {"x:..", "tag"},
        {"x:a/b", "tag"},
        {"-host/ns/m", "host"},
        {"ho_st/ns/m", "host"},
        {"a b", "space"},
        {"\xEF\xBC\xA1", "non-ASCII byte 0xef"}, // fullwidth A
        {"\xD0\xB0pple", "non-ASCII byte 0xd0"}, // Cyrillic a
        {"a\xE2\x88\x95"
         "b",
         "non-ASCII"},                              // U+2215 division slash
        {"a\xEF\xBC\x8E\xEF\xBC\x8E", "non-ASCII"}, // U+FF0E fullwidth full stop
        {std::string(300, 'a'), "at most 80"},
        {std::string(10240, 'a'), "too long"},
    };
    for (const auto& c : cases) {
        auto r = parse_name(c.text);
        ASSERT_FALSE(r) << "accepted: " << c.text;
        EXPECT_NE(r.message().find(c.needle), std::string::npos) << c.text << " -> " << r.message();
        EXPECT_NE(r.message().find("invalid model name"), std::string::npos) << r.message();
    }
}

TEST(ModelName, LengthLimits) {
    EXPECT_TRUE(parse_name(std::string(80, 'a')));
    EXPECT_FALSE(parse_name(std::string(81, 'a')));
    EXPECT_TRUE(parse_name("m:" + std::string(80, 't')));
    EXPECT_FALSE(parse_name("m:" + std::string(81, 't')));
    EXPECT_TRUE(parse_name(std::string(63, 'h') + "/n/m"));
    EXPECT_FALSE(parse_name(std::string(64, 'h') + "/n/m"));
}

TEST(Digest, Syntax) {
    const std::string hex(64, 'a');
    EXPECT_TRUE(hearth::store::valid_digest("sha256:" + hex));
    EXPECT_FALSE(hearth::store::valid_digest("sha256:" + std::string(64, 'A')));
    EXPECT_FALSE(hearth::store::valid_digest("sha256:" + hex.substr(1)));
    EXPECT_FALSE(hearth::store::valid_digest("sha256:" + hex + "0"));
    EXPECT_FALSE(hearth::store::valid_digest("sha512:" + hex));
    EXPECT_FALSE(hearth::store::valid_digest("sha256-" + hex));
    EXPECT_FALSE(hearth::store::valid_digest("sha256:" + hex.substr(0, 63) + "g"));
    EXPECT_FALSE(hearth::store::valid_digest("sha256:../" + hex.substr(3)));
    EXPECT_FALSE(hearth::store::valid_digest(""));
}

// True when `p` lies inside `dir` lexically, with no "." or ".." component.
bool inside(const fs::path& p, const fs::path& dir) {
    const fs::path rel = p.lexically_relative(dir);
    if (rel.empty() || rel.is_absolute()) return false;
    for (const auto& part : rel)
        if (part == ".." || part == "." || part.empty()) return false;
    return true;
}

class NameProperty : public hearth::test::TempDirTest {};

TEST_F(NameProperty, GeneratedNamesNeverEscapeAndRoundTrip) {
    auto store = hearth::store::open_store(dir_ / "store");
    ASSERT_TRUE(store) << store.message();
    const fs::path manifests = store->root / "manifests";
    const std::vector<std::string> tokens = {
        "a",
        "b",
        "z",
        "0",
        "9",
        "Q",
        "M",
        "x",
        ".",
        "_",
        "-",
        "/",
        ":",
        "..",
        "../",
        "./",
        "/..",
        "\\",
        "..\\",
        std::string(1, '\0'),
        " ",
        "\t",
        "\n",
        "~",
        "%2e",
        "%2f",
        "@",
        "$",
        "*",
        "'",
        "\"",
        "\xEF\xBC\xA1", // fullwidth A
        "\xD0\xB0",     // Cyrillic a
        "\xE2\x88\x95", // division slash
        "\xEF\xBC\x8E", // fullwidth full stop
        "\xEF\xBC\x8F", // fullwidth solidus
        "\xC0\xAF",     // overlong '/'
        "\xFF",         // invalid UTF-8
        "library",
        "local",
        "hf.co",
        "latest",
    };
    const size_t kNameTokens = 13; // the first tokens: letters, digits, '.', '_', '-', '/', ':'
    std::mt19937_64 rng(20240601);
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 12000; ++i) {
        std::string s;
        const int kind = static_cast<int>(rng() % 100);
        if (kind < 2) {
            s = std::string(300 + rng() % 10000, 'a');
        } else {
            const size_t n = 1 + rng() % 12;
            // Mostly name characters, so that many names parse and the accepted side is exercised too.
            for (size_t k = 0; k < n; ++k)
                s += rng() % 10 < 7 ? tokens[rng() % kNameTokens] : tokens[rng() % tokens.size()];
        }
        auto r = parse_name(s);
        if (!r) {
            ++rejected;
            EXPECT_FALSE(r.message().empty());
            continue;
        }
        ++accepted;
        auto p = hearth::store::manifest_path(*store, *r);
        ASSERT_TRUE(p) << "name '" << s << "': " << p.message();
        EXPECT_TRUE(inside(*p, manifests)) << s << " -> " << p->string();
        const fs::path rel = p->lexically_relative(manifests);
        EXPECT_EQ(std::distance(rel.begin(), rel.end()), 4) << s;
        auto again = parse_name(r->display());
        ASSERT_TRUE(again) << r->display() << ": " << again.message();
        EXPECT_EQ(*again, *r) << s;
        for (char c : r->host + r->ns + r->model + r->tag)
            EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') << s;
    }
    // The generator must exercise both outcomes substantially.
    EXPECT_GT(accepted, 500);
    EXPECT_GT(rejected, 5000);
}

// Random strings from the grammar itself always parse, to exactly their parts (lower-cased).
TEST(NamePropertyValid, GrammarNamesAlwaysParse) {
    std::mt19937_64 rng(7);
    const std::string alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
    const std::string rest = alnum + "._-";
    auto pick = [&](const std::string& set) { return set[rng() % set.size()]; };
    auto part = [&](bool underscore_first) {
        std::string s(1, underscore_first && rng() % 5 == 0 ? '_' : pick(alnum));
        const size_t n = rng() % 80;
        for (size_t i = 0; i < n; ++i) {
            char c = pick(rest);
            if (c == '.' && s.back() == '.') c = 'a';
            s += c;
        }
        return s;
    };
    auto host = [&]() {
        std::string h;
        const size_t labels = 1 + rng() % 4;
        for (size_t i = 0; i < labels; ++i) {
            std::string l(1, pick(alnum));
            const size_t n = rng() % 62;
            for (size_t k = 0; k < n; ++k)
                l += pick(alnum + "-");
            if (l.size() > 1) l.back() = pick(alnum);
            h += (i ? "." : "") + l;
        }
        return h;
    };
    auto upper_some = [&](std::string s) {
        for (char& c : s)
            if (c >= 'a' && c <= 'z' && rng() % 3 == 0) c = static_cast<char>(c - 'a' + 'A');
        return s;
    };
    for (int i = 0; i < 10000; ++i) {
        ModelName want;
        want.model = part(false);
        std::string text = want.model;
        const int shape = static_cast<int>(rng() % 3);
        if (shape >= 1) {
            want.ns = part(false);
            text = want.ns + "/" + text;
        }
        if (shape == 2) {
            want.host = host();
            text = want.host + "/" + text;
        }
        if (rng() % 2) {
            want.tag = part(true);
            text += ":" + want.tag;
        }
        auto r = parse_name(upper_some(text));
        ASSERT_TRUE(r) << text << ": " << r.message();
        EXPECT_EQ(*r, want) << text;
        auto again = parse_name(r->display());
        ASSERT_TRUE(again) << r->display();
        EXPECT_EQ(*again, want);
    }
}

} // namespace

TEST(ModelName, SanitizedPartsAlwaysParse) {
    using hearth::store::sanitize_model_part;
    EXPECT_EQ(sanitize_model_part("SmolLM2-135M-Instruct.Q4_1"), "smollm2-135m-instruct.q4_1");
    EXPECT_EQ(sanitize_model_part("../../etc/passwd"), "etc-passwd");
    EXPECT_EQ(sanitize_model_part("My Model (v2)"), "my-model-v2");
    EXPECT_EQ(sanitize_model_part("a..b"), "a.b");
    EXPECT_EQ(sanitize_model_part("\xEF\xBC\xA1\xEF\xBC\xA1"), "model");
    EXPECT_EQ(sanitize_model_part(""), "model");
    EXPECT_EQ(sanitize_model_part(std::string(500, 'x')).size(), 80u);
    std::mt19937_64 rng(3);
    for (int i = 0; i < 10000; ++i) {
        std::string s(rng() % 120, ' ');
        for (char& c : s)
            c = static_cast<char>(rng() % 256);
        const std::string part = sanitize_model_part(s);
        auto r = parse_name(part);
        ASSERT_TRUE(r) << part << ": " << r.message();
        EXPECT_EQ(r->model, part);
    }
}
