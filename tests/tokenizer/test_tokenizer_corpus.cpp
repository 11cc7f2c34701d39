// Agreement with llama.cpp on a large corpus: tests/data/tokenizer/corpus.json holds > 5,000 short strings
// (multilingual text, code, emoji, whitespace runs, digits, contractions, punctuation, random code points,
// invalid UTF-8, special-token text), tests/data/tokenizer/<model>.json the ids llama.cpp gives each of them
// with a fixture model's vocabulary (no BOS, special tokens not parsed). Made by
// tools/make-tokenizer-corpus-golden.py.
#include "tokenizer_fixtures.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

namespace hearth {
namespace {

std::string show_ids(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids)
        s += " " + std::to_string(id);
    return s;
}

// Length of the valid UTF-8 sequence at s[i] (shortest form, no surrogates, <= U+10FFFF), or 0.
size_t utf8_len_at(std::string_view s, size_t i) {
    const auto c = uint8_t(s[i]);
    if (c < 0x80) return 1;
    const size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    uint32_t cp = c & (0xff >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
        const auto b = uint8_t(s[i + k]);
        if ((b & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (b & 0x3f);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

bool valid_utf8(std::string_view s) {
    for (size_t i = 0, n; i < s.size(); i += n)
        if ((n = utf8_len_at(s, i)) == 0) return false;
    return true;
}

// C-style escaping so control characters, invalid UTF-8 bytes and trailing spaces are visible.
std::string escape(std::string_view text) {
    std::string out = "\"";
    for (size_t i = 0; i < text.size();) {
        const auto c = uint8_t(text[i]);
        const size_t n = utf8_len_at(text, i);
        char buf[8];
        if (n > 1) {
            out.append(text.substr(i, n));
            i += n;
            continue;
        }
        ++i;
        switch (c) {
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    return out + "\"";
}

std::string from_hex(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out += char(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

struct Corpus {
    std::vector<std::string> strings;
    std::vector<std::pair<std::string, int>> categories; // in corpus order
};

const Corpus& corpus() {
    static const Corpus c = [] {
        Corpus c;
        const auto j = nlohmann::json::parse(test::read_file(HEARTH_TEST_DATA "/tokenizer/corpus.json"));
        for (const auto& cat : j.at("categories"))
            c.categories.emplace_back(cat.at(0).get<std::string>(), cat.at(1).get<int>());
        for (const auto& s : j.at("strings"))
            c.strings.push_back(s.is_string() ? s.get<std::string>() : from_hex(s.at("hex").get<std::string>()));
        return c;
    }();
    return c;
}

TEST(TokenizerCorpus, IsLargeAndVaried) {
    const Corpus& c = corpus();
    EXPECT_GE(c.strings.size(), 5000u);
    int total = 0;
    for (const auto& [name, n] : c.categories)
        total += n;
    EXPECT_EQ(size_t(total), c.strings.size());
    const auto invalid =
        std::count_if(c.strings.begin(), c.strings.end(), [](const auto& s) { return !valid_utf8(s); });
    EXPECT_GT(invalid, 100) << "the corpus should hold invalid UTF-8";
}

class TokenizerCorpusModels : public ::testing::TestWithParam<test::FixtureModel> {};

TEST_P(TokenizerCorpusModels, MatchesLlamaCpp) {
    const auto fm = GetParam();
    const std::string path = test::model_path(fm.file);
    const Tokenizer tok = test::load_or_fail(path);
    ASSERT_GT(tok.n_vocab(), 0) << test::missing_model_message(path);

    const Corpus& c = corpus();
    const auto golden =
        nlohmann::json::parse(test::read_file(HEARTH_TEST_DATA "/tokenizer/" + std::string(fm.name) + ".json"));
    EXPECT_EQ(golden.at("model").get<std::string>(), fm.file);
    const auto& expected = golden.at("tokens");
    ASSERT_EQ(expected.size(), c.strings.size()) << fm.name << ": golden file and corpus disagree";

    // Category of each string, for the report.
    std::vector<const std::string*> category_of;
    for (const auto& [name, n] : c.categories)
        for (int k = 0; k < n; ++k)
            category_of.push_back(&name);
    category_of.resize(c.strings.size(), nullptr);

    // How many mismatches to print: 8, or $HEARTH_CORPUS_SHOW.
    const char* show_env = std::getenv("HEARTH_CORPUS_SHOW");
    const int kShow = show_env && *show_env ? std::atoi(show_env) : 8;
    int compared = 0, excluded = 0, mismatches = 0;
    std::map<std::string, int> by_category;
    for (size_t i = 0; i < c.strings.size(); ++i) {
        const std::string& text = c.strings[i];
        // Every string is tokenized, also those llama.cpp could not handle (they must not crash hearth).
        const auto got = tokenize(tok, text, /*add_special=*/false, /*parse_special=*/false);
        if (expected[i].is_null()) {
            ++excluded;
            continue;
        }
        ++compared;
        const auto want = expected[i].get<std::vector<int32_t>>();
        if (got == want) continue;
        ++mismatches;
        if (category_of[i]) ++by_category[*category_of[i]];
        if (mismatches <= kShow) {
            ADD_FAILURE() << fm.name << " string " << i << " (" << (category_of[i] ? *category_of[i] : "?") << ", "
                          << text.size() << " bytes) " << escape(text) << "\n  llama.cpp:" << show_ids(want)
                          << "\n  hearth:   " << show_ids(got);
        }
    }
    std::string cats;
    for (const auto& [name, n] : by_category)
        cats += " " + name + "=" + std::to_string(n);
    std::printf("[ corpus   ] %-20s %d/%d strings match llama.cpp (%d mismatches%s%s; %d skipped: llama.cpp "
                "failed on them)\n",
                fm.name, compared - mismatches, compared, mismatches, cats.empty() ? "" : ":", cats.c_str(), excluded);
    EXPECT_EQ(mismatches, 0) << fm.name << ": " << mismatches << " of " << compared
                             << " corpus strings tokenize differently from llama.cpp;" << cats;
    EXPECT_GT(compared, 5000 - 100) << fm.name;
}

INSTANTIATE_TEST_SUITE_P(Models, TokenizerCorpusModels, ::testing::ValuesIn(test::kFixtureModels),
                         [](const auto& info) {
                             std::string s = info.param.name;
                             for (char& ch : s)
                                 ch = std::isalnum(uint8_t(ch)) ? ch : '_';
                             return s;
                         });

} // namespace
} // namespace hearth
