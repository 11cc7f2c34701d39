// Each built-in detector, positive and negative; overlap resolution; user terms and regexes.
#include "privacy_test_util.h"

#include <thread>

namespace hearth::privacy {
namespace {

using test::describe;
using test::scan;

struct Case {
    const char* text;
    const char* value; // the one finding expected, or nullptr for none
    Entity entity;
    const char* detector = nullptr; // checked when set
};

void check(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        const std::string_view text = c.text;
        const auto found = scan(text);
        if (c.value == nullptr) {
            EXPECT_TRUE(found.empty()) << "\"" << c.text << "\": " << describe(text, found);
            continue;
        }
        ASSERT_EQ(found.size(), 1u) << "\"" << c.text << "\": " << describe(text, found);
        EXPECT_EQ(text.substr(found[0].begin, found[0].end - found[0].begin), c.value) << c.text;
        EXPECT_EQ(found[0].entity, c.entity) << c.text << ": " << describe(text, found);
        if (c.detector) {
            EXPECT_EQ(found[0].detector, c.detector) << c.text;
        }
    }
}

TEST(PrivacyDetect, Email) {
    check({
        {"Contact jane.doe+news@example.co.uk today.", "jane.doe+news@example.co.uk", Entity::Email},
        {"<bob_smith@mail.example.org>", "bob_smith@mail.example.org", Entity::Email},
        {"mailto:alice@example.com", "alice@example.com", Entity::Email},
        {"@property\ndef x(self): ...", nullptr, Entity::Email},
        {"y = a@b.T", nullptr, Entity::Email},
        {"see icon@2x.png", nullptr, Entity::Email},
        {"npm i left-pad@1.3.0", nullptr, Entity::Email},
        {"git clone git@github.com:ggml-org/llama.cpp", nullptr, Entity::Email},
        {"root@localhost", nullptr, Entity::Email},
    });
}

TEST(PrivacyDetect, Phone) {
    check({
        {"call +44 20 7946 0958 now", "+44 20 7946 0958", Entity::Phone, "phone_e164"},
        {"call +1 (415) 555-2671.", "+1 (415) 555-2671", Entity::Phone, "phone_e164"},
        {"+4915112345678", "+4915112345678", Entity::Phone},
        {"+33 1 23 45 67 89", "+33 1 23 45 67 89", Entity::Phone},
        {"office (415) 555-2671", "(415) 555-2671", Entity::Phone, "phone_nanp"},
        {"office 415-555-2671", "415-555-2671", Entity::Phone, "phone_nanp"},
        {"office 415.555.2671", "415.555.2671", Entity::Phone},
        {"office 1-415-555-2671", "1-415-555-2671", Entity::Phone},
        {"UK 020 7946 0958", "020 7946 0958", Entity::Phone, "phone_national"},
        {"mobile 07700 900123", "07700 900123", Entity::Phone},
        {"Berlin 030 12345678", "030 12345678", Entity::Phone},
        {"Handy 0171-1234567", "0171-1234567", Entity::Phone},
        {"Paris 01 23 45 67 89", "01 23 45 67 89", Entity::Phone},
        {"portable 06.12.34.56.78", "06.12.34.56.78", Entity::Phone},
        {"released 2023-01-02 at 10:20:30", nullptr, Entity::Phone},
        {"2024-05-17T10:20:30.123Z", nullptr, Entity::Phone},
        {"version 1.2.3 and 10.2.11", nullptr, Entity::Phone},
        {"id 12345678901 and 4155552671", nullptr, Entity::Phone},
        {"(123) 456-7890", nullptr, Entity::Phone},
        {"pi = 3.14159265358979", nullptr, Entity::Phone},
        {"x = 1 + 23456789", nullptr, Entity::Phone},
        {"weights 0.5 0.25 0.125 0.0625", nullptr, Entity::Phone},
        {"00 00 00 00 00", nullptr, Entity::Phone},
    });
}

TEST(PrivacyDetect, PaymentCard) {
    check({
        {"card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111", Entity::PaymentCard, "luhn_card"},
        {"4111-1111-1111-1111", "4111-1111-1111-1111", Entity::PaymentCard},
        {"pan=4111111111111111;", "4111111111111111", Entity::PaymentCard},
        {"amex 378282246310005", "378282246310005", Entity::PaymentCard},
        {"amex 3782 822463 10005", "3782 822463 10005", Entity::PaymentCard},
        {"mc 5555555555554444", "5555555555554444", Entity::PaymentCard},
        {"discover 6011111111111117", "6011111111111117", Entity::PaymentCard},
        {"card 4111 1111 1111 1111 2024", "4111 1111 1111 1111", Entity::PaymentCard},
        {"card 4111 1111 1111 1112", nullptr, Entity::PaymentCard}, // Luhn fails
        {"n = 1234567812345670", nullptr, Entity::PaymentCard},     // Luhn ok, no network starts with 1
        {"0000000000000000", nullptr, Entity::PaymentCard},
        {"k = 4111111111111111ULL;", nullptr, Entity::PaymentCard}, // a literal glued to its suffix
        {"4111-1111-1111 1111", nullptr, Entity::PaymentCard},      // mixed separators
    });
}

TEST(PrivacyDetect, Iban) {
    check({
        {"IBAN GB82WEST12345698765432.", "GB82WEST12345698765432", Entity::Iban, "iban"},
        {"GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32", Entity::Iban},
        {"DE89370400440532013000", "DE89370400440532013000", Entity::Iban},
        {"DE89 3704 0044 0532 0130 00 is mine", "DE89 3704 0044 0532 0130 00", Entity::Iban},
        {"NL91ABNA0417164300", "NL91ABNA0417164300", Entity::Iban},
        {"FR1420041010050500013M02606", "FR1420041010050500013M02606", Entity::Iban},
        {"GB82WEST12345698765433", nullptr, Entity::Iban}, // mod 97 fails
        {"GB82WEST1234569876543", nullptr, Entity::Iban},  // too short for GB
        {"XX82WEST12345698765432", nullptr, Entity::Iban}, // no such country
    });
}

TEST(PrivacyDetect, NationalIds) {
    check({
        {"SSN 123-45-6789.", "123-45-6789", Entity::NationalId, "us_ssn"},
        {"ssn: 123456789", "123456789", Entity::NationalId, "us_ssn"},
        {"Social Security 123 45 6789", "123 45 6789", Entity::NationalId, "us_ssn"},
        {"000-12-3456", nullptr, Entity::NationalId},
        {"666-12-3456", nullptr, Entity::NationalId},
        {"900-12-3456", nullptr, Entity::NationalId},
        {"123-00-4567", nullptr, Entity::NationalId},
        {"123-45-0000", nullptr, Entity::NationalId},
        {"078-05-1120", nullptr, Entity::NationalId},
        {"order 123456789 shipped", nullptr, Entity::NationalId}, // bare 9 digits need a label
        {"NINO AB123456C", "AB123456C", Entity::NationalId, "uk_nino"},
        {"NI: AB 12 34 56 C", "AB 12 34 56 C", Entity::NationalId, "uk_nino"},
        {"BG123456C", nullptr, Entity::NationalId},
        {"DA123456C", nullptr, Entity::NationalId},
        {"AB123456E", nullptr, Entity::NationalId},
        {"DNI 12345678Z", "12345678Z", Entity::NationalId, "es_dni"},
        {"NIE X1234567L", "X1234567L", Entity::NationalId, "es_nie"},
        {"DNI 12345678A", nullptr, Entity::NationalId},
        {"hetu 131052-308T", "131052-308T", Entity::NationalId, "fi_hetu"},
        {"hetu 131052-308U", nullptr, Entity::NationalId},
        {"Aadhaar 2341 2341 2346", "2341 2341 2346", Entity::NationalId, "in_aadhaar"},
        {"aadhaar no 234123412346", "234123412346", Entity::NationalId, "in_aadhaar"},
        {"2341 2341 2345", nullptr, Entity::NationalId},
        {"234123412346", nullptr, Entity::NationalId}, // bare 12 digits need a label
        {"BSN: 111222333", "111222333", Entity::NationalId, "nl_bsn"},
        {"BSN: 111222334", nullptr, Entity::NationalId},
        {"111222333", nullptr, Entity::NationalId},
    });
}

TEST(PrivacyDetect, IpAndMac) {
    check({
        {"host 192.168.1.20 is up", "192.168.1.20", Entity::IpAddress, "ipv4"},
        {"ping 10.0.0.1.", "10.0.0.1", Entity::IpAddress},
        {"256.1.1.1", nullptr, Entity::IpAddress},
        {"1.2.3", nullptr, Entity::IpAddress},
        {"01.2.3.4", nullptr, Entity::IpAddress},
        {"version 1.2.3.4.5", nullptr, Entity::IpAddress},
        {"see http://10.1.2.3/x", "10.1.2.3", Entity::IpAddress},
        {"HEXAGON_SDK_ROOT=/opt/hexagon/6.6.0.0 and ?version=6.6.0.0", nullptr, Entity::IpAddress},
        {"addr 2001:db8::1 ok", "2001:db8::1", Entity::IpAddress, "ipv6"},
        {"fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a", Entity::IpAddress},
        {"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", Entity::IpAddress},
        {"mapped ::ffff:192.0.2.128", "::ffff:192.0.2.128", Entity::IpAddress},
        {"http://[2001:db8::1]:8080/", "2001:db8::1", Entity::IpAddress},
        {"std::vector<int> v; a::b::c", nullptr, Entity::IpAddress},
        {"x = a[1::2] + b[::1]", nullptr, Entity::IpAddress},
        {"at 12:34:56", nullptr, Entity::IpAddress},
        {"1:2:3:4:5:6:7:8:9", nullptr, Entity::IpAddress},
        {"mac 00:1A:2B:3C:4D:5E", "00:1A:2B:3C:4D:5E", Entity::MacAddress, "mac"},
        {"mac aa-bb-cc-dd-ee-ff", "aa-bb-cc-dd-ee-ff", Entity::MacAddress},
        {"cisco 0011.2233.4455", "0011.2233.4455", Entity::MacAddress},
        {"00:1A:2B:3C:4D", nullptr, Entity::MacAddress},
        {"00:1A:2B-3C:4D:5E", nullptr, Entity::MacAddress},
    });
}

TEST(PrivacyDetect, Secrets) {
    check({
        {"OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
         Entity::Secret, "openai_key"},
        {"token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", Entity::Secret,
         "github_token"},
        {"aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", Entity::Secret, "aws_access_key"},
        {"AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", Entity::Secret,
         "google_api_key"},
        {"glpat-xY7zAb3cDe9fGh1iJk2L", "glpat-xY7zAb3cDe9fGh1iJk2L", Entity::Secret, "gitlab_token"},
        {"hf_AbCdEfGh1JkLmNoPqRsTuVwXyZ0123456", "hf_AbCdEfGh1JkLmNoPqRsTuVwXyZ0123456", Entity::Secret,
         "huggingface_token"},
        {"xoxb-12345678901-123456789012-AbCdEf", "xoxb-12345678901-123456789012-AbCdEf", Entity::Secret, "slack_token"},
        {"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", Entity::Secret, "stripe_key"},
        {"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
         "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
         "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIy"
         "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
         Entity::Secret, "jwt"},
        {"x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- y",
         "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", Entity::Secret, "pem_private_key"},
        {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk (truncated",
         "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk (truncated", Entity::Secret, "pem_private_key"},
        {"use Zx8Kq2Lm9Pw4Rt7Yv3Bn6Hj1Df5Gs0Ae for it", "Zx8Kq2Lm9Pw4Rt7Yv3Bn6Hj1Df5Gs0Ae", Entity::Secret,
         "high_entropy"},
        {"api_key = \"d41d8cd98f00b204e9800998ecf8427e\"", "d41d8cd98f00b204e9800998ecf8427e", Entity::Secret,
         "keyword_secret"},
        {"pip install sk-learn-is-not-a-real-package", nullptr, Entity::Secret},
        {"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nullptr, Entity::Secret},
        {"uuid 123e4567-e89b-12d3-a456-426614174000", nullptr, Entity::Secret},
        {"class Qwen2VLForConditionalGeneration", nullptr, Entity::Secret},
        {"LLAMA_ARG_N_GPU_LAYERS_DRAFT_2 and ggml_backend_sched_graph_compute_async", nullptr, Entity::Secret},
        {"eyJub3QiOiJhIn0.eyJ4IjoxfQ.c2ln", nullptr, Entity::Secret}, // header {"not":"a"}: no "alg"
        {"-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", nullptr, Entity::Secret},
        {"cache_key = \"layer_12_attention_output\"", nullptr, Entity::Secret},
    });
}

TEST(PrivacyDetect, UrlCredentials) {
    check({
        {"DATABASE_URL=postgres://admin:s3cret@db.example.com:5432/app", "postgres://admin:s3cret@db.example.com:5432",
         Entity::UrlCredentials, "url_credentials"},
        {"redis://:hunter2@cache:6379/0", "redis://:hunter2@cache:6379", Entity::UrlCredentials},
        {"https://user:pw@[2001:db8::1]:8443/x", "https://user:pw@[2001:db8::1]:8443", Entity::UrlCredentials},
        {"https://user@example.com/path", "user@example.com", Entity::Email}, // no password: an email shape
        {"https://example.com/a:b@c", nullptr, Entity::UrlCredentials},
        {"https://host:8080/x", nullptr, Entity::UrlCredentials},
    });
}

TEST(PrivacyDetect, OverlapsKeepTheLongestMostSpecific) {
    check({
        // The email's local part is a phone number; the URL's password@host is an email.
        {"text 4155552671@vtext.com", "4155552671@vtext.com", Entity::Email},
        {"postgres://bob:pw@mail.example.com", "postgres://bob:pw@mail.example.com", Entity::UrlCredentials},
    });
    const std::string text = "a 4111 1111 1111 1111, b alice@example.com, c 10.1.2.3";
    const auto found = scan(text);
    ASSERT_EQ(found.size(), 3u) << describe(text, found);
    for (size_t i = 1; i < found.size(); ++i)
        EXPECT_LE(found[i - 1].end, found[i].begin);
}

TEST(PrivacyDetect, GroupedNumbersAreNotSplitIntoSmallerOnes) {
    // The tail of an IBAN or card that fails its checksum is not a phone, card or Aadhaar of its own...
    check({
        {"IBAN GB06 DLJR 0237 5820 6356 62 please", nullptr, Entity::Iban},
        {"IBAN ES02 6438 9741 0233 9376 1940 please", nullptr, Entity::Iban},
        {"card 3530 9366 5770 4319 declined", nullptr, Entity::PaymentCard},
        {"CALL 020 7946 0958", "020 7946 0958", Entity::Phone},
    });
    // ...but two valid cards in a row are two cards.
    const std::string text = "4111 1111 1111 1111 5555 5555 5555 4444";
    const auto found = scan(text);
    ASSERT_EQ(found.size(), 2u) << describe(text, found);
    EXPECT_EQ(found[1].begin, 20u);
}

TEST(PrivacyDetect, UserTermsAndRegexes) {
    ScannerOptions opt;
    opt.terms = {"Bluebird", "Project Nightjar", "a.b"};
    opt.regexes = {"ACME-\\d{4}", "(?i)café\\s+\\w+"};
    const std::string text = "bluebird, BLUEBIRD. bluebirds project nightjar ACME-1234 axb a.b CAFÉ Noir";
    const auto found = scan(text, opt);
    std::vector<std::string> got;
    for (const Finding& f : found) {
        EXPECT_EQ(f.entity, Entity::Custom);
        got.push_back(text.substr(f.begin, f.end - f.begin));
    }
    EXPECT_EQ(got,
              (std::vector<std::string>{"bluebird", "BLUEBIRD", "project nightjar", "ACME-1234", "a.b", "CAFÉ Noir"}))
        << describe(text, found);
    EXPECT_EQ(found[3].detector, "regex_0");
    EXPECT_EQ(found[0].detector, "term");
}

TEST(PrivacyDetect, BadRegexIsABadFieldNamingIt) {
    ScannerOptions opt;
    opt.regexes = {"ok\\d+", "broken(["};
    auto s = Scanner::create(opt);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.code(), Code::BadField);
    EXPECT_NE(s.message().find("regex 1"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("broken(["), std::string::npos) << s.message();
}

TEST(PrivacyDetect, RegexOverItsMatchLimitFailsTheScan) {
    ScannerOptions opt;
    opt.regexes = {"^(\\w+\\s?)*$"};
    auto s = Scanner::create(opt);
    ASSERT_TRUE(s) << s.message();
    const auto r = s->scan(std::string(40, 'a') + "!");
    EXPECT_FALSE(r) << "a catastrophic pattern must fail the scan (fail-closed), not pass it";
}

TEST(PrivacyDetect, DisabledEntitiesAreNotReported) {
    ScannerOptions opt;
    opt.disabled = {Entity::Email, Entity::IpAddress};
    const std::string text = "alice@example.com 10.0.0.1 4111111111111111";
    const auto found = scan(text, opt);
    ASSERT_EQ(found.size(), 1u) << describe(text, found);
    EXPECT_EQ(found[0].entity, Entity::PaymentCard);
}

TEST(PrivacyDetect, ScanIsThreadSafe) {
    ScannerOptions opt;
    opt.terms = {"Bluebird"};
    opt.regexes = {"ACME-\\d+"};
    auto s = Scanner::create(opt);
    ASSERT_TRUE(s);
    const std::string text = "mail alice@example.com, card 4111111111111111, Bluebird ACME-77, ip 10.0.0.1\n";
    std::string big;
    for (int i = 0; i < 200; ++i)
        big += text;
    std::vector<size_t> counts(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < counts.size(); ++t)
        threads.emplace_back([&, t] {
            auto r = s->scan(big);
            counts[t] = r ? r->size() : 0;
        });
    for (auto& t : threads)
        t.join();
    for (size_t c : counts)
        EXPECT_EQ(c, 200u * 5);
}

TEST(PrivacyNames, RoundTrip) {
    for (int i = 0; i < kEntityCount; ++i) {
        const auto e = static_cast<Entity>(i);
        EXPECT_EQ(parse_entity(entity_name(e)), e);
        EXPECT_NE(std::string(placeholder_tag(e)), "");
    }
    EXPECT_EQ(parse_entity("nope"), std::nullopt);
    EXPECT_EQ(std::string(placeholder_tag(Entity::PaymentCard)), "CARD");
    for (Action a : {Action::KeepLocal, Action::Pseudonymize, Action::Allow})
        EXPECT_EQ(parse_action(action_name(a)), a);
    EXPECT_EQ(parse_action("keep_local"), std::nullopt);
}

} // namespace
} // namespace hearth::privacy
