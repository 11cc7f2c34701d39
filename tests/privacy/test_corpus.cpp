// The generated corpus (corpus.h): pseudonymized prompts leak no original, and restore gives back every
// text exactly, whole and streamed in random chunks; numbers failing their checksums are never reported.
#include "corpus.h"
#include "privacy_test_util.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace hearth::privacy {
namespace {

std::string serialize(const std::vector<std::string>& messages) {
    nlohmann::json req = {{"model", "auto"}, {"stream", true}, {"messages", nlohmann::json::array()}};
    for (const std::string& m : messages)
        req["messages"].push_back({{"role", "user"}, {"content", m}});
    return req.dump();
}

ScannerOptions corpus_options() {
    ScannerOptions opt;
    opt.terms = corpus::kTerms;
    return opt;
}

// The entity each kind of corpus value must be found as.
Entity expected_entity(const std::string& kind) {
    static const std::map<std::string, Entity> kMap = {{"email", Entity::Email},
                                                       {"phone", Entity::Phone},
                                                       {"card", Entity::PaymentCard},
                                                       {"iban", Entity::Iban},
                                                       {"us_ssn", Entity::NationalId},
                                                       {"es_dni", Entity::NationalId},
                                                       {"fi_hetu", Entity::NationalId},
                                                       {"in_aadhaar", Entity::NationalId},
                                                       {"nl_bsn", Entity::NationalId},
                                                       {"uk_nino", Entity::NationalId},
                                                       {"ipv4", Entity::IpAddress},
                                                       {"ipv6", Entity::IpAddress},
                                                       {"mac", Entity::MacAddress},
                                                       {"secret", Entity::Secret},
                                                       {"pem_private_key", Entity::Secret},
                                                       {"url_credentials", Entity::UrlCredentials},
                                                       {"term", Entity::Custom}};
    const auto it = kMap.find(kind);
    return it == kMap.end() ? Entity::Custom : it->second;
}

TEST(PrivacyCorpus, EveryValueIsFoundExactlyAsItsEntity) {
    const auto prompts = corpus::make_corpus(1200, 20261205);
    auto scanner = Scanner::create(corpus_options());
    ASSERT_TRUE(scanner);
    size_t missed = 0;
    for (const auto& prompt : prompts) {
        std::vector<std::pair<std::string, Entity>> found;
        for (const std::string& m : prompt.messages) {
            const auto r = scanner->scan(m);
            ASSERT_TRUE(r) << r.message();
            for (const Finding& f : r.value())
                found.emplace_back(m.substr(f.begin, f.end - f.begin), f.entity);
        }
        for (size_t i = 0; i < prompt.originals.size(); ++i) {
            const std::pair<std::string, Entity> want{prompt.originals[i], expected_entity(prompt.kinds[i])};
            if (std::find(found.begin(), found.end(), want) == found.end()) {
                ++missed;
                ADD_FAILURE() << prompt.kinds[i] << " \"" << prompt.originals[i] << "\" not found as "
                              << entity_name(want.second);
            }
        }
    }
    EXPECT_EQ(missed, 0u);
}

TEST(PrivacyCorpus, PseudonymizedPromptsLeakNothingAndRestoreExactly) {
    const auto prompts = corpus::make_corpus(1200, 20261205);
    auto scanner = Scanner::create(corpus_options());
    ASSERT_TRUE(scanner) << scanner.message();
    Policy policy;
    policy.fallback = Action::Pseudonymize;
    corpus::Rng rng(7);
    std::set<std::string> kinds;
    size_t leaks = 0, values = 0, placeholders_split = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
        const corpus::Prompt& prompt = prompts[i];
        kinds.insert(prompt.kinds.begin(), prompt.kinds.end());
        values += prompt.originals.size();
        // The raw request carries its originals: the check below can fail.
        ASSERT_FALSE(egress_clean(serialize(prompt.messages), prompt.originals)) << "prompt " << i;
        Pseudonymizer p;
        std::vector<std::string> sent;
        for (const std::string& m : prompt.messages) {
            auto found = scanner->scan(m);
            ASSERT_TRUE(found) << found.message();
            sent.push_back(p.apply(m, to_pseudonymize(policy, *found)));
        }
        const std::string payload = serialize(sent);
        if (!egress_clean(payload, prompt.originals) || !egress_clean(payload, p.originals())) {
            ++leaks;
            ADD_FAILURE() << "prompt " << i << " leaks; kinds " << nlohmann::json(prompt.kinds).dump()
                          << "\npayload: " << payload;
        }
        for (size_t m = 0; m < sent.size(); ++m) {
            EXPECT_EQ(p.restore(sent[m]), prompt.messages[m]) << "prompt " << i;
            // The pseudonymized text as a streamed answer, cut into chunks of 1..12 bytes.
            StreamRestorer r(p);
            std::string streamed;
            for (size_t at = 0; at < sent[m].size();) {
                const size_t n = std::min<size_t>(1 + static_cast<size_t>(rng.below(12)), sent[m].size() - at);
                const std::string_view chunk = std::string_view(sent[m]).substr(at, n);
                if (chunk.find('<') != std::string_view::npos && chunk.back() != '>') ++placeholders_split;
                streamed += r.feed(chunk);
                at += n;
            }
            streamed += r.finish();
            EXPECT_EQ(streamed, prompt.messages[m]) << "prompt " << i;
        }
    }
    EXPECT_EQ(leaks, 0u);
    EXPECT_EQ(kinds.size(), static_cast<size_t>(corpus::kKinds)) << "every kind of value is in the corpus";
    EXPECT_GT(placeholders_split, 1000u) << "chunks must cut placeholders";
    std::printf("corpus: %zu prompts, %zu sensitive values, %zu leaks\n", prompts.size(), values, leaks);
}

TEST(PrivacyCorpus, KeepLocalPolicyKeepsEveryPromptLocal) {
    const auto prompts = corpus::make_corpus(1200, 20261205);
    auto scanner = Scanner::create(corpus_options());
    ASSERT_TRUE(scanner);
    const Policy policy; // everything keep-local
    size_t local = 0;
    for (const auto& prompt : prompts) {
        Verdict v;
        for (const std::string& m : prompt.messages)
            v.add(policy, *scanner->scan(m));
        local += v.keep_local ? 1 : 0;
    }
    EXPECT_EQ(local, prompts.size());
}

TEST(PrivacyCorpus, NumbersFailingTheirChecksumsAreNeverReported) {
    const auto lines = corpus::invalid_numbers(1600, 42);
    size_t reported = 0;
    for (const std::string& line : lines) {
        const auto found = test::scan(line);
        if (!found.empty()) {
            ++reported;
            ADD_FAILURE() << line << " -> " << test::describe(line, found);
        }
    }
    EXPECT_EQ(reported, 0u);
    // The same shapes with valid check digits are found (the generator makes what the detectors look for).
    corpus::Rng r(42);
    for (int i = 0; i < 200; ++i) {
        const std::string v = i % 2 ? corpus::card(r) : corpus::iban(r);
        EXPECT_EQ(test::scan("number " + v + " here").size(), 1u) << v;
    }
}

} // namespace
} // namespace hearth::privacy
