// Policy and verdict, placeholders, restore (whole and streamed), the egress check.
#include "privacy_test_util.h"

namespace hearth::privacy {
namespace {

using test::scan;

TEST(PrivacyPolicy, ActionsFallbackAndVerdict) {
    Policy policy;
    policy.actions[Entity::Email] = Action::Pseudonymize;
    policy.actions[Entity::IpAddress] = Action::Allow;
    EXPECT_EQ(policy.action(Entity::Email), Action::Pseudonymize);
    EXPECT_EQ(policy.action(Entity::Secret), Action::KeepLocal); // the fallback
    policy.fallback = Action::Allow;
    EXPECT_EQ(policy.action(Entity::Secret), Action::Allow);
    policy.fallback = Action::KeepLocal;

    const std::string a = "mail alice@example.com from 10.0.0.1", b = "and bob@example.com";
    Verdict v;
    v.add(policy, scan(a));
    v.add(policy, scan(b));
    EXPECT_FALSE(v.keep_local);
    EXPECT_EQ(v.counts[Entity::Email], 2);
    EXPECT_EQ(v.counts[Entity::IpAddress], 1);
    const auto fa = scan(a);
    const auto chosen = to_pseudonymize(policy, fa);
    ASSERT_EQ(chosen.size(), 1u);
    EXPECT_EQ(chosen[0].entity, Entity::Email);

    v.add(policy, scan("key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"));
    EXPECT_TRUE(v.keep_local);
    EXPECT_EQ(v.counts[Entity::Secret], 1);
}

TEST(PrivacyPseudonymize, ConsistentTypedPlaceholdersAcrossTexts) {
    Pseudonymizer p;
    const std::string a = "alice@example.com wrote to bob@example.com from 10.0.0.1";
    const std::string b = "ask bob@example.com; alice@example.com too";
    const std::string pa = p.apply(a, scan(a)), pb = p.apply(b, scan(b));
    EXPECT_EQ(pa, "<EMAIL_1> wrote to <EMAIL_2> from <IP_1>");
    EXPECT_EQ(pb, "ask <EMAIL_2>; <EMAIL_1> too");
    ASSERT_EQ(p.mapping().size(), 3u);
    EXPECT_EQ(p.mapping()[0], (std::pair<std::string, std::string>{"<EMAIL_1>", "alice@example.com"}));
    EXPECT_EQ(p.originals(), (std::vector<std::string>{"alice@example.com", "bob@example.com", "10.0.0.1"}));
    EXPECT_EQ(p.restore(pa), a);
    EXPECT_EQ(p.restore(pb), b);
    EXPECT_EQ(p.restore("<EMAIL_3> <EMAIL_1 <IP_1>> <<EMAIL_2>"), "<EMAIL_3> <EMAIL_1 10.0.0.1> <bob@example.com");
}

TEST(PrivacyPseudonymize, LiteralPlaceholdersInTheTextAreNeverHandedOut) {
    Pseudonymizer p;
    const std::string a = "template <EMAIL_1> and <EMAIL_2>, real: carol@example.com";
    const std::string pa = p.apply(a, scan(a));
    EXPECT_EQ(pa, "template <EMAIL_1> and <EMAIL_2>, real: <EMAIL_3>");
    EXPECT_EQ(p.restore(pa), a);
}

TEST(PrivacyStreamRestorer, PlaceholdersSplitAcrossChunks) {
    Pseudonymizer p;
    const std::string a = "alice@example.com and 4111 1111 1111 1111";
    ASSERT_EQ(p.apply(a, scan(a)), "<EMAIL_1> and <CARD_1>");
    StreamRestorer r(p);
    std::string out;
    out += r.feed("Hi <EMA");
    EXPECT_EQ(out, "Hi ") << "a possible placeholder prefix is held back";
    out += r.feed("IL_1>, x < y, <CA");
    EXPECT_EQ(out, "Hi alice@example.com, x < y, ");
    out += r.feed("RD_1");
    out += r.feed("> <EMAIL_9> <EM");
    EXPECT_EQ(out, "Hi alice@example.com, x < y, 4111 1111 1111 1111 <EMAIL_9> ");
    out += r.finish();
    EXPECT_EQ(out, "Hi alice@example.com, x < y, 4111 1111 1111 1111 <EMAIL_9> <EM");
    EXPECT_EQ(r.finish(), "");
}

TEST(PrivacyStreamRestorer, EveryTwoWaySplitRestoresExactly) {
    Pseudonymizer p;
    const std::string a = "<x> alice@example.com<IP_1>10.0.0.1 <EMAIL_1";
    const std::string pseudo = p.apply(a, scan(a));
    for (size_t cut = 0; cut <= pseudo.size(); ++cut) {
        StreamRestorer r(p);
        std::string got = r.feed(pseudo.substr(0, cut));
        got += r.feed(pseudo.substr(cut));
        got += r.finish();
        EXPECT_EQ(got, a) << "split at " << cut << " of " << pseudo;
    }
}

TEST(PrivacyEgress, RawAndJsonEscapedForms) {
    const std::vector<std::string> originals = {
        "alice@example.com", "he said \"hi\"", "http://u:p@h", "Müller", "line1\nline2", "😀x", ""};
    EXPECT_TRUE(egress_clean("{\"content\":\"nothing here\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"alice@example.com\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"alice\\u0040example.com\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"x he said \\\"hi\\\" y\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"http:\\/\\/u:p@h\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"M\\u00fcller\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"M\\u00FCller\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"line1\\nline2\"}", originals));
    EXPECT_FALSE(egress_clean("{\"c\":\"\\ud83d\\ude00x\"}", originals));
    EXPECT_TRUE(egress_clean("{\"c\":\"alice\\u0041example.com \\ud83d \\u12\"}", originals));
    EXPECT_TRUE(egress_clean("", originals));
    EXPECT_TRUE(egress_clean("anything", {}));
}

} // namespace
} // namespace hearth::privacy
