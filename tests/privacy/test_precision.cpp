// Precision on ordinary text: llama-cpp-python's and llama.cpp's docs (prose) and sources (code), unpacked
// by scripts/fetch-fixtures into $FIXTURES/text/. Every finding is printed for review and judged:
// - IP and MAC address literals (but those in kNotIp), emails and URLs with credentials are what they look like (a
// valid dotted
//   quad in docs such as 127.0.0.1 is an IP address; an address in a README is an email address), so they
//   count as true findings; the policy, not the detector, decides whether they matter.
// - Everything else (cards, IBANs, national IDs, phones, secrets, custom) is a false alarm unless listed in
//   kTrue below after a human looked at it.
// The test asserts at most 1 false alarm per 10,000 words.
#include "model_paths.h"
#include "privacy_test_util.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth::privacy {
namespace {

// Findings of the other entities reviewed as true: {value, why}. None so far.
const std::vector<std::pair<std::string, std::string>> kTrue = {};
// IP-shaped findings reviewed as not addresses: {value, why}.
const std::vector<std::pair<std::string, std::string>> kNotIp = {
    {"6.4.0.2", "a Hexagon SDK version (\"--hexagon 6.4.0.2\")"},
};

struct Text {
    std::string name, body;
};

std::vector<Text> read_dir(const std::string& dir) {
    std::vector<Text> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        out.push_back({e.path().filename().string(), ss.str()});
    }
    std::sort(out.begin(), out.end(), [](const Text& a, const Text& b) { return a.name < b.name; });
    return out;
}

size_t count_words(std::string_view s) {
    size_t n = 0;
    bool in = false;
    for (char c : s) {
        const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        if (!space && !in) ++n;
        in = !space;
    }
    return n;
}

bool true_finding(const Finding& f, std::string_view value) {
    switch (f.entity) {
    case Entity::IpAddress:
        for (const auto& [v, why] : kNotIp)
            if (v == value) return false;
        return true;
    case Entity::MacAddress:
    case Entity::Email:
    case Entity::UrlCredentials:
        return true;
    default:
        for (const auto& [v, why] : kTrue)
            if (v == value) return true;
        return false;
    }
}

void check_precision(const char* kind) {
    const std::string dir = hearth::test::fixtures_dir() + "/text/" + kind;
    const auto texts = read_dir(dir);
    ASSERT_FALSE(texts.empty()) << hearth::test::missing_fixture_message(dir);
    auto scanner = Scanner::create({});
    ASSERT_TRUE(scanner);
    size_t words = 0, bytes = 0, found_true = 0, false_alarms = 0;
    for (const Text& t : texts) {
        words += count_words(t.body);
        bytes += t.body.size();
        auto found = scanner->scan(t.body);
        ASSERT_TRUE(found) << found.message();
        for (const Finding& f : *found) {
            const std::string_view value = std::string_view(t.body).substr(f.begin, f.end - f.begin);
            const bool ok = true_finding(f, value);
            (ok ? found_true : false_alarms) += 1;
            std::printf("  %s %s/%s in %s: \"%.*s\"\n", ok ? "true " : "FALSE", entity_name(f.entity),
                        f.detector.c_str(), t.name.c_str(), static_cast<int>(std::min<size_t>(value.size(), 120)),
                        value.data());
        }
    }
    std::printf("%s: %zu files, %zu bytes, %zu words, %zu true findings, %zu false alarms (%.2f per 10,000 words)\n",
                kind, texts.size(), bytes, words, found_true, false_alarms,
                1e4 * static_cast<double>(false_alarms) / static_cast<double>(words));
    EXPECT_GT(words, 100000u) << "too little text to measure precision";
    EXPECT_LE(false_alarms * 10000, words) << "more than 1 false alarm per 10,000 words of " << kind;
}

TEST(PrivacyPrecision, Prose) {
    check_precision("prose");
}

TEST(PrivacyPrecision, Code) {
    check_precision("code");
}

} // namespace
} // namespace hearth::privacy
