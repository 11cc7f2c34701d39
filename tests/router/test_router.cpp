// tests/router/test_router.cpp: the router's config, audit log and decisions, with a scripted local engine
// (tests/server/fake_engine.h) and a fault-injecting upstream on loopback (tests/upstream/fake_upstream.h).
#include "../privacy/corpus.h"
#include "../server/fake_engine.h"
#include "../upstream/fake_upstream.h"
#include "base/sha256.h"
#include "privacy/privacy.h"
#include "router/audit.h"
#include "router/config.h"
#include "router/router.h"
#include "router/signals.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <toml++/toml.h>

namespace hearth::router {
namespace {

using json = nlohmann::json;
using server::testing::FakeEngine;
using test::FakeConfig;
using test::FakeMode;
using test::FakeUpstream;

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/hearth-router-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

const char* no_env(const char*) {
    return nullptr;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---- config -----------------------------------------------------------------------------------------

TEST(RouterConfig, ParsesAFullConfigAndMasksTheKey) {
    const std::string text = R"(
[router]
local_model = "qwen2.5-coder:1.5b"
aliases = ["auto", "smart"]
default_route = "auto"

[[upstream]]
name = "cluster"
base_url = "http://10.0.0.5:8000/v1"
model = "Qwen2.5-72B"
api_key_env = "MY_KEY"
allow_insecure = true
price_input_per_mtok = 0.5
price_output_per_mtok = 1.5
daily_budget = 2
total_timeout_s = 30

[privacy]
default = "keep-local"
email = "pseudonymize"
ip_address = "allow"
terms = ["Project Falcon"]
regexes = ['ACME-\d{6}']
)";
    auto c = parse_config(text, "router.toml", "/home/x/.hearth",
                          [](const char* n) { return std::string(n) == "MY_KEY" ? "sk-secret-value-123" : nullptr; });
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->local_model, "qwen2.5-coder:1.5b");
    EXPECT_EQ(c->aliases, (std::vector<std::string>{"auto", "smart"}));
    ASSERT_EQ(c->upstreams.size(), 1u);
    EXPECT_EQ(c->upstreams[0].endpoint.api_key, "sk-secret-value-123");
    EXPECT_TRUE(c->upstreams[0].endpoint.allow_insecure);
    EXPECT_DOUBLE_EQ(c->upstreams[0].daily_budget, 2);
    EXPECT_EQ(c->policy.action(privacy::Entity::Email), privacy::Action::Pseudonymize);
    EXPECT_EQ(c->policy.action(privacy::Entity::IpAddress), privacy::Action::Allow);
    EXPECT_EQ(c->policy.action(privacy::Entity::PaymentCard), privacy::Action::KeepLocal);
    EXPECT_EQ(c->audit_log, "/home/x/.hearth/router/audit.jsonl");
    const std::string shown = dump(*c);
    EXPECT_EQ(shown.find("sk-secret-value-123"), std::string::npos) << shown;
    EXPECT_NE(shown.find("env:MY_KEY"), std::string::npos) << shown;
    // What dump() prints is itself a valid config (the key aside).
    auto again = parse_config(shown, "dump", "/home/x/.hearth",
                              [](const char* n) { return std::string(n) == "MY_KEY" ? "k" : nullptr; });
    EXPECT_TRUE(again) << again.message();
}

TEST(RouterConfig, RefusesWhatWouldSilentlyWeakenThePolicy) {
    struct Case {
        const char* toml;
        const char* expect; // in the message
    };
    const Case cases[] = {
        {"[router]\nlocal_modle = \"x\"\n", "router.local_modle: unknown key"},
        {"[privacy]\nemial = \"allow\"\n", "privacy.emial: unknown key"},
        {"[privacy]\nemail = \"send\"\n", "must be keep-local, pseudonymize or allow"},
        {"[privacy]\nregexes = ['(unclosed']\n", "privacy"},
        {"[[upstream]]\nbase_url = \"https://a.example/v1\"\nmodel = \"m\"\napi_key = \"sk-123\"\n",
         "keys are not stored in the config"},
        {"[[upstream]]\nbase_url = \"https://a.example/v1\"\nmodel = \"m\"\napi_key_env = \"NOPE\"\n",
         "NOPE is not set"},
        {"[[upstream]]\nbase_url = \"http://a.example/v1\"\nmodel = \"m\"\n", "upstream[0]"},
        {"[[upstream]]\nbase_url = \"https://user:pw@a.example/v1\"\nmodel = \"m\"\n", "upstream[0]"},
        {"[[upstream]]\nmodel = \"m\"\n", "base_url: is required"},
        {"[router]\ndefault_route = \"sometimes\"\n", "default_route"},
        {"[router]\nwindow = 0\n", "router.window"},
        {"[router]\nwindow = \"whole\"\n", "router.window"},
        {"[router\n", "line 1"},
    };
    for (const auto& c : cases) {
        auto r = parse_config(c.toml, "t.toml", "/h", no_env);
        ASSERT_FALSE(r) << c.toml;
        EXPECT_NE(r.message().find(c.expect), std::string::npos) << c.toml << " -> " << r.message();
        EXPECT_EQ(r.message().find("sk-123"), std::string::npos) << r.message();
    }
}

TEST(RouterConfig, WindowIsHonouredAndMustAgreeWithACalibratedModel) {
    auto plain = parse_config("", "t.toml", "/h", no_env);
    ASSERT_TRUE(plain) << plain.message();
    EXPECT_EQ(plain->decision.window, 64);
    auto set = parse_config("[router]\nwindow = 128\n", "t.toml", "/h", no_env);
    ASSERT_TRUE(set) << set.message();
    EXPECT_EQ(set->decision.window, 128);
    // With a [decision] table (as `hearth router calibrate` writes it), the two windows must be the same.
    DecisionModel m = default_decision_model();
    m.window = 32;
    toml::table t;
    decision_to_toml(m, t);
    std::ostringstream decision;
    decision << t;
    auto same = parse_config("[router]\nwindow = 32\n" + decision.str(), "t.toml", "/h", no_env);
    ASSERT_TRUE(same) << same.message();
    EXPECT_EQ(same->decision.window, 32);
    auto differ = parse_config("[router]\nwindow = 128\n" + decision.str(), "t.toml", "/h", no_env);
    ASSERT_FALSE(differ);
    EXPECT_NE(differ.message().find("calibrate --window 128"), std::string::npos) << differ.message();
}

TEST(RouterConfig, KeyFromAFileAndMissingDefaultFileIsFine) {
    TempDir d;
    std::ofstream(d.file("key")) << "sk-from-file\n";
    const std::string text =
        "[[upstream]]\nbase_url = \"https://api.example.com/v1\"\nmodel = \"m\"\napi_key_file = \"" + d.file("key") +
        "\"\n";
    auto c = parse_config(text, "t", "/h", no_env);
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->upstreams[0].endpoint.api_key, "sk-from-file");
    auto none = load_config(d.file("router.toml"), false, d.path.string());
    ASSERT_TRUE(none) << none.message();
    EXPECT_TRUE(none->upstreams.empty());
    EXPECT_FALSE(load_config(d.file("router.toml"), true, d.path.string()));
}

// ---- audit log ---------------------------------------------------------------------------------------

TEST(RouterAudit, ChainVerifiesAndShowsTampering) {
    TempDir d;
    const std::string path = d.file("sub/audit.jsonl");
    {
        auto log = AuditLog::open(path);
        ASSERT_TRUE(log) << log.message();
        for (int i = 0; i < 3; ++i)
            ASSERT_TRUE(log->append({{"kind", "egress"}, {"upstream", "u"}, {"bytes", 100 + i}}));
        ASSERT_TRUE(log->append({{"kind", "result"}, {"upstream", "u"}, {"cost_usd", 0.25}}));
    }
    // Reopened, the chain goes on from the file's last record.
    {
        auto log = AuditLog::open(path);
        ASSERT_TRUE(log);
        ASSERT_TRUE(log->append({{"kind", "result"}, {"upstream", "u"}, {"cost_usd", 0.5}}));
    }
    auto v = verify_audit(path);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok) << v->problem;
    EXPECT_EQ(v->records, 5u);
    auto spend = spend_today(path);
    ASSERT_EQ(spend.size(), 1u);
    EXPECT_DOUBLE_EQ(spend[0].second, 0.75);

    const std::string good = slurp(path);
    // Edit one value in record 2.
    std::string edited = good;
    const size_t at = edited.find("\"bytes\":101");
    ASSERT_NE(at, std::string::npos);
    edited.replace(at, 11, "\"bytes\":999");
    std::ofstream(path, std::ios::trunc) << edited;
    v = verify_audit(path);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->ok);
    EXPECT_EQ(v->bad_line, 2u);
    // Remove record 3.
    std::vector<std::string> lines;
    std::istringstream in(good);
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    std::ofstream out(path, std::ios::trunc);
    for (size_t i = 0; i < lines.size(); ++i)
        if (i != 2) out << lines[i] << "\n";
    out.close();
    v = verify_audit(path);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->ok);
    EXPECT_EQ(v->bad_line, 3u);
}

// ---- the router --------------------------------------------------------------------------------------

struct Harness {
    TempDir dir;
    FakeEngine local;
    std::unique_ptr<FakeUpstream> up;
    std::unique_ptr<Router> router;

    explicit Harness(FakeConfig fc = {}, const std::string& privacy = "", double total_timeout_s = 2,
                     RouterOptions ro = {}, double budget = 0) {
        local.tokens = {"local", " answer"};
        up = std::make_unique<FakeUpstream>(std::move(fc));
        std::string toml =
            "[router]\nlocal_model = \"small\"\naudit_log = \"" + dir.file("audit.jsonl") +
            "\"\n[[upstream]]\nname = \"fake\"\nbase_url = \"" + up->base_url() +
            "\"\nmodel = \"big\"\nallow_insecure = true\nconnect_timeout_s = 1\nfirst_byte_timeout_s = " +
            std::to_string(total_timeout_s) + "\nidle_timeout_s = " + std::to_string(total_timeout_s) +
            "\ntotal_timeout_s = " + std::to_string(total_timeout_s) +
            "\nmax_response_bytes = 65536\nprice_input_per_mtok = 1000\nprice_output_per_mtok = 1000\n" +
            "daily_budget = " + std::to_string(budget) + "\n[privacy]\n" + privacy;
        auto cfg = parse_config(toml, "test", dir.path.string(), no_env);
        EXPECT_TRUE(cfg) << cfg.message();
        auto r = Router::create(std::move(*cfg), local, std::move(ro));
        EXPECT_TRUE(r) << r.message();
        router = std::move(*r);
    }

    struct Answer {
        std::string text; // what the client saw
        std::optional<engine::RouteInfo> first_route;
        std::variant<engine::Completion, Status> result;
        double seconds = 0;
    };
    Answer ask(engine::Request req) {
        Answer a;
        const auto t0 = std::chrono::steady_clock::now();
        a.result = router->generate(
            req,
            [&](const engine::TokenEvent& ev) {
                if (!a.first_route && ev.route) a.first_route = ev.route;
                a.text += ev.text;
                return true;
            },
            nullptr);
        a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return a;
    }
};

engine::Request chat(const std::string& user, const std::string& route = "", bool stream = false) {
    engine::Request r;
    r.model = "auto";
    r.messages = {{"user", user}};
    r.route = route;
    r.stream = stream;
    return r;
}

const engine::Completion& completion(const Harness::Answer& a) {
    EXPECT_TRUE(std::holds_alternative<engine::Completion>(a.result))
        << (std::holds_alternative<Status>(a.result) ? std::get<Status>(a.result).message() : "");
    static const engine::Completion none;
    return std::holds_alternative<engine::Completion>(a.result) ? std::get<engine::Completion>(a.result) : none;
}

TEST(Router, OtherModelsPassStraightThrough) {
    Harness h;
    engine::Request r = chat("hi");
    r.model = "small";
    auto a = h.ask(r);
    EXPECT_EQ(a.text, "local answer");
    EXPECT_FALSE(a.first_route);
    EXPECT_EQ(h.up->connections(), 0);
    ASSERT_EQ(h.local.requests.size(), 1u);
    EXPECT_EQ(h.local.requests[0].model, "small");
}

TEST(Router, PinnedCloudGoesUpAndTheAuditHashIsOfTheBytesReceived) {
    Harness h;
    auto a = h.ask(chat("What is the capital of France?", "cloud", true));
    const auto& c = completion(a);
    EXPECT_EQ(a.text, "Hello, world");
    ASSERT_TRUE(c.route);
    EXPECT_EQ(c.route->route, "cloud");
    EXPECT_EQ(c.route->upstream, "fake");
    ASSERT_TRUE(a.first_route);
    EXPECT_EQ(a.first_route->route, "cloud");
    EXPECT_TRUE(h.local.requests.empty());
    auto reqs = h.up->requests();
    ASSERT_EQ(reqs.size(), 1u);
    const json body = json::parse(reqs[0].body);
    EXPECT_EQ(body["model"], "big");
    EXPECT_EQ(body["messages"][0]["content"], "What is the capital of France?");
    // The audit record's hash is the hash of exactly what the upstream received.
    std::ifstream in(h.dir.file("audit.jsonl"));
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    const json rec = json::parse(line);
    Sha256 sha;
    sha.update(reqs[0].body.data(), reqs[0].body.size());
    EXPECT_EQ(rec["sha256"], sha.hex());
    EXPECT_EQ(rec["bytes"], reqs[0].body.size());
    EXPECT_EQ(line.find("capital of France"), std::string::npos) << "the payload must not be in the audit log";
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(json::parse(line)["kind"], "result");
    auto v = verify_audit(h.dir.file("audit.jsonl"));
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok);
    EXPECT_EQ(h.router->router_stats().requests_cloud, 1u);
}

TEST(Router, OfflineAndPinnedLocalNeverConnect) {
    RouterOptions ro;
    ro.offline = true;
    Harness h({}, "", 2, ro);
    auto a = h.ask(chat("hello", "cloud"));
    EXPECT_EQ(a.text, "local answer");
    ASSERT_TRUE(completion(a).route);
    EXPECT_EQ(completion(a).route->route, "local");
    EXPECT_NE(completion(a).route->reason.find("offline"), std::string::npos);
    Harness h2;
    auto b = h2.ask(chat("hello", "local"));
    EXPECT_EQ(b.text, "local answer");
    EXPECT_EQ(h.up->connections() + h2.up->connections(), 0);
}

TEST(Router, KeepLocalEntityNeverLeaves) {
    Harness h({}, "email = \"keep-local\"\n");
    auto a = h.ask(chat("Write to jane.doe@example.com about it", "cloud"));
    EXPECT_EQ(a.text, "local answer");
    ASSERT_TRUE(completion(a).route);
    EXPECT_EQ(completion(a).route->route, "local");
    EXPECT_NE(completion(a).route->reason.find("email"), std::string::npos) << completion(a).route->reason;
    EXPECT_EQ(h.up->connections(), 0);
    EXPECT_FALSE(std::filesystem::exists(h.dir.file("audit.jsonl")) &&
                 std::filesystem::file_size(h.dir.file("audit.jsonl")) > 0);
}

TEST(Router, PseudonymizedValuesAreRestoredAcrossChunks) {
    FakeConfig fc;
    fc.chunks = {"I will write to <EMA", "IL_1> and to <EMAIL", "_2>; <EMAIL_1> again."};
    fc.write_size = 7;
    for (bool stream : {false, true}) {
        Harness h(fc, "email = \"pseudonymize\"\n");
        auto a = h.ask(chat("Mail jane.doe@example.com and bob@corp.example.org please", "cloud", stream));
        EXPECT_EQ(a.text,
                  "I will write to jane.doe@example.com and to bob@corp.example.org; jane.doe@example.com again.");
        EXPECT_EQ(completion(a).text, a.text);
        const std::string got = h.up->received();
        EXPECT_EQ(got.find("jane.doe@example.com"), std::string::npos);
        EXPECT_EQ(got.find("bob@corp.example.org"), std::string::npos);
        EXPECT_NE(got.find("<EMAIL_1>"), std::string::npos);
        std::ifstream in(h.dir.file("audit.jsonl"));
        std::string line;
        ASSERT_TRUE(std::getline(in, line));
        EXPECT_EQ(json::parse(line)["pseudonymized"]["email"], 2);
    }
}

TEST(Router, EveryUpstreamFaultIsAnsweredLocally) {
    struct Case {
        const char* name;
        FakeMode mode;
    };
    const Case cases[] = {{"hang", FakeMode::Hang},           {"500", FakeMode::Http500},
                          {"malformed", FakeMode::Malformed}, {"endless", FakeMode::Endless},
                          {"trickle", FakeMode::Trickle},     {"oversized", FakeMode::Oversized},
                          {"redirect", FakeMode::Redirect}};
    const double timeout_s = 0.6;
    for (const auto& c : cases) {
        FakeConfig fc;
        fc.mode = c.mode;
        fc.trickle_ms = 100;
        fc.oversized_bytes = 1 << 20;
        Harness h(fc, "", timeout_s);
        auto a = h.ask(chat("hello", "cloud"));
        EXPECT_EQ(a.text, "local answer") << c.name;
        ASSERT_TRUE(completion(a).route) << c.name;
        EXPECT_EQ(completion(a).route->route, "local") << c.name;
        EXPECT_NE(completion(a).route->reason.find("upstream fake failed"), std::string::npos)
            << c.name << ": " << completion(a).route->reason;
        EXPECT_LT(a.seconds, timeout_s + 5) << c.name; // a deadline, not a speed check
        EXPECT_EQ(h.router->router_stats().fallbacks, 1u) << c.name;
    }
    // Down: nothing listens.
    TempDir d;
    FakeEngine local;
    local.tokens = {"local", " answer"};
    auto cfg =
        parse_config("[router]\nlocal_model = \"s\"\naudit_log = \"" + d.file("a.jsonl") +
                         "\"\n[[upstream]]\nname = \"down\"\nbase_url = \"http://127.0.0.1:" +
                         std::to_string(FakeUpstream::refused_port()) + "/v1\"\nmodel = \"m\"\nallow_insecure = true\n",
                     "t", d.path.string(), no_env);
    ASSERT_TRUE(cfg) << cfg.message();
    auto r = Router::create(std::move(*cfg), local);
    ASSERT_TRUE(r);
    std::string text;
    auto res = (*r)->generate(
        chat("hi", "cloud"), [&](const engine::TokenEvent& ev) { return text += ev.text, true; }, nullptr);
    EXPECT_EQ(text, "local answer");
    ASSERT_TRUE(std::holds_alternative<engine::Completion>(res));
    EXPECT_EQ(std::get<engine::Completion>(res).route->route, "local");
}

TEST(Router, CascadeEscalatesBeforeTheClientSeesLocalText) {
    // FakeEngine's logprobs fall with every token (-0.5, -1.0, ...): set the thresholds so the default
    // model escalates (threshold 0) or never does (1), and check what the client saw.
    for (bool escalate : {true, false}) {
        Harness h;
        h.local.tokens = {"a", "b", "c", "d"};
        Config cfg = h.router->config();
        cfg.decision.window = 3;
        cfg.decision.pre.threshold = 1;
        cfg.decision.cascade.threshold = escalate ? 0 : 1;
        auto r = Router::create(cfg, h.local);
        ASSERT_TRUE(r) << r.message();
        h.router = std::move(*r);
        auto a = h.ask(chat("hello"));
        ASSERT_TRUE(completion(a).route);
        if (escalate) {
            EXPECT_EQ(a.text, "Hello, world");
            EXPECT_EQ(completion(a).route->route, "cloud");
            EXPECT_NE(completion(a).route->reason.find("cascade"), std::string::npos);
            EXPECT_TRUE(h.local.saw_stop) << "the local answer is cut at the window";
            EXPECT_EQ(h.router->router_stats().escalations_cascade, 1u);
        } else {
            EXPECT_EQ(a.text, "abcd");
            EXPECT_EQ(completion(a).route->route, "local");
            EXPECT_EQ(h.up->connections(), 0);
        }
        EXPECT_GE(completion(a).route->score, 0);
        ASSERT_FALSE(h.local.requests.empty());
        EXPECT_TRUE(h.local.requests[0].sampling.logprobs) << "the router asks for the signal it decides on";
        EXPECT_EQ(h.router->router_stats().decisions, 1u);
    }
}

TEST(Router, CaptureRecordsThePseudonymizedPairOnly) {
    FakeConfig fc;
    fc.mode = FakeMode::Echo;
    TempDir cap;
    RouterOptions ro;
    ro.capture_dir = cap.file("capture");
    Harness h(fc, "email = \"pseudonymize\"\n", 2, ro);
    auto a = h.ask(chat("Mail jane.doe@example.com today", "cloud"));
    EXPECT_EQ(a.text, "Mail jane.doe@example.com today");
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(cap.file("capture")))
        files.push_back(e.path().string());
    ASSERT_EQ(files.size(), 1u);
    const std::string text = slurp(files[0]);
    EXPECT_EQ(text.find("jane.doe@example.com"), std::string::npos) << text;
    const json line = json::parse(text.substr(0, text.find('\n')));
    ASSERT_EQ(line["messages"].size(), 2u);
    EXPECT_EQ(line["messages"][0]["content"], "Mail <EMAIL_1> today");
    EXPECT_EQ(line["messages"][1]["role"], "assistant");
    EXPECT_EQ(line["messages"][1]["content"], "Mail <EMAIL_1> today");
    // Local answers are not captured.
    h.ask(chat("hello", "local"));
    EXPECT_EQ(slurp(files[0]), text);
}

TEST(Router, DailyBudgetKeepsRequestsLocal) {
    Harness h({}, "", 2, {}, /*budget USD=*/0.001);
    auto first = h.ask(chat("hello", "cloud"));
    EXPECT_EQ(completion(first).route->route, "cloud");
    auto second = h.ask(chat("hello", "cloud"));
    EXPECT_EQ(completion(second).route->route, "local");
    EXPECT_NE(completion(second).route->reason.find("budget"), std::string::npos);
    EXPECT_GT(h.router->router_stats().cloud_spend_usd, 0.001);
    // A restarted router reads today's spend from the audit log.
    auto cfg = h.router->config();
    auto r = Router::create(cfg, h.local);
    ASSERT_TRUE(r);
    std::string text;
    auto res = (*r)->generate(
        chat("hi", "cloud"), [&](const engine::TokenEvent& ev) { return text += ev.text, true; }, nullptr);
    EXPECT_EQ(std::get<engine::Completion>(res).route->route, "local");
}

TEST(Router, WhatOnlyTheLocalEngineHonoursStaysLocal) {
    Harness h;
    engine::Request r = chat("hi", "cloud");
    r.sampling.top_k = 5;
    auto a = h.ask(r);
    EXPECT_EQ(completion(a).route->route, "local");
    EXPECT_NE(completion(a).route->reason.find("top_k"), std::string::npos);
    r = chat("hi", "cloud");
    r.sampling.logprobs = true;
    EXPECT_EQ(completion(h.ask(r)).route->route, "local");
    r = chat("hi", "sometimes");
    auto bad = h.ask(r);
    ASSERT_TRUE(std::holds_alternative<Status>(bad.result));
    EXPECT_EQ(std::get<Status>(bad.result).code(), Code::BadField);
    EXPECT_EQ(std::get<Status>(bad.result).field(), "route");
    EXPECT_EQ(h.up->connections(), 0);
}

// ---- the leak corpus ---------------------------------------------------------------------------------

namespace corpus_test {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i)
        s += (i ? "\n" : "") + v[i];
    return s;
}

std::string terms_toml() {
    std::string t = "terms = [";
    for (size_t i = 0; i < privacy::corpus::kTerms.size(); ++i)
        t += (i ? ", \"" : "\"") + privacy::corpus::kTerms[i] + "\"";
    return t + "]\n";
}

} // namespace corpus_test

// 1,000 prompts carrying every kind of sensitive value (valid checksums; prose, JSON, code; spread over
// messages). Pseudonymized: the upstream, which records every byte it receives and echoes the messages back
// in 5-byte pieces (placeholders split across chunks), never sees an original, and the client gets the
// originals back. Keep-local: the upstream gets no connection at all.
TEST(RouterCorpus, PseudonymizeLeaksNothingAndRestoresKeepLocalSendsNothing) {
    const auto prompts = privacy::corpus::make_corpus(1000, 20261205);
    FakeConfig fc;
    fc.mode = FakeMode::Echo;
    fc.echo_piece = 5;
    Harness h(fc, "default = \"pseudonymize\"\n" + corpus_test::terms_toml(), 10);
    size_t wrong = 0, not_cloud = 0;
    std::vector<std::string> originals;
    for (size_t i = 0; i < prompts.size(); ++i) {
        engine::Request r = chat("", "cloud", i % 2 == 0);
        r.messages.clear();
        for (const auto& m : prompts[i].messages)
            r.messages.push_back({"user", m});
        auto a = h.ask(r);
        const auto* c = std::get_if<engine::Completion>(&a.result);
        if (!c || !c->route || c->route->route != "cloud") {
            ++not_cloud;
            continue;
        }
        if (a.text != corpus_test::join(prompts[i].messages)) ++wrong;
        for (const auto& o : prompts[i].originals)
            originals.push_back(o);
    }
    EXPECT_EQ(not_cloud, 0u);
    EXPECT_EQ(wrong, 0u) << "answers with the placeholders not restored exactly";
    ASSERT_GE(originals.size(), 1000u);
    const std::string received = h.up->received();
    size_t leaked = 0;
    for (const auto& o : originals)
        if (!privacy::egress_clean(received, std::span<const std::string>(&o, 1))) ++leaked;
    EXPECT_EQ(leaked, 0u) << "original values that reached the upstream";
    EXPECT_EQ(h.up->requests().size(), prompts.size());

    Harness kept({}, "default = \"keep-local\"\n" + corpus_test::terms_toml());
    for (const auto& p : prompts) {
        engine::Request r = chat("", "cloud");
        r.messages.clear();
        for (const auto& m : p.messages)
            r.messages.push_back({"user", m});
        auto a = kept.ask(r);
        EXPECT_EQ(completion(a).route->route, "local");
    }
    EXPECT_EQ(kept.up->connections(), 0);
    EXPECT_EQ(kept.router->router_stats().kept_local_privacy, prompts.size());
}

} // namespace
} // namespace hearth::router

namespace hearth::router {
namespace {

// Structured output goes upstream as OpenAI's response_format, the schema in the client's key order; a GBNF
// grammar has no upstream equivalent (the router answers it locally).
TEST(RouterUpstreamBody, CarriesResponseFormat) {
    engine::Request r;
    r.messages = {{"user", "x"}};
    r.format = engine::OutputFormat::JsonSchema;
    r.format_spec = R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}}})";
    const std::string body = upstream_body(r, "big");
    EXPECT_NE(
        body.find(R"("response_format":{"type":"json_schema","json_schema":{"name":"response","strict":true,)"
                  R"("schema":{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}}}}})"),
        std::string::npos)
        << body;
    r.format = engine::OutputFormat::JsonObject;
    EXPECT_NE(upstream_body(r, "big").find(R"("response_format":{"type":"json_object"})"), std::string::npos);
    r.format = engine::OutputFormat::Text;
    EXPECT_EQ(upstream_body(r, "big").find("response_format"), std::string::npos);
}

} // namespace
} // namespace hearth::router

namespace hearth::router {
namespace {

// Tools go upstream in OpenAI's shape (the offered tools, tool_choice, earlier calls and their results), the
// upstream's streamed calls come back as the Completion's tool_calls, and a sensitive value in an earlier call's
// arguments is scanned like any text: a keep-local one keeps the whole request here.
TEST(Router, ToolCallsGoUpstreamAndComeBack) {
    auto chunk = [](json delta, json finish = nullptr) {
        json c = {{"model", "big"}, {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
        return "data: " + c.dump() + "\r\n\r\n";
    };
    const json call = {{{"index", 0}, {"id", "call_up"}, {"function", {{"name", "get_weather"}, {"arguments", ""}}}}};
    const json args = {{{"index", 0}, {"function", {{"arguments", "{\"city\":\"Oslo\"}"}}}}};
    FakeConfig fc;
    fc.mode = FakeMode::Raw;
    fc.raw = FakeUpstream::http(200, "text/event-stream",
                                chunk({{"tool_calls", call}}) + chunk({{"tool_calls", args}}) +
                                    chunk(json::object(), "tool_calls") + "data: [DONE]\r\n\r\n");
    Harness h(fc, "payment_card = \"keep-local\"\n");
    engine::Request r = chat("And the weather in Oslo?", "cloud");
    r.tools =
        R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])";
    r.tool_choice = engine::ToolChoice::Required;
    r.messages.insert(r.messages.begin(), {{"user", "Weather in Paris?"},
                                           {"assistant", "", {{"call_1", "get_weather", R"({"city":"Paris"})"}}},
                                           {"tool", "18C", {}, "call_1", "get_weather"}});
    const auto a = h.ask(r);
    const auto& c = completion(a);
    ASSERT_TRUE(c.route);
    EXPECT_EQ(c.route->route, "cloud") << c.route->reason;
    ASSERT_EQ(c.tool_calls.size(), 1u);
    EXPECT_EQ(c.tool_calls[0].id, "call_up");
    EXPECT_EQ(c.tool_calls[0].name, "get_weather");
    EXPECT_EQ(c.tool_calls[0].arguments, R"({"city":"Oslo"})");
    auto reqs = h.up->requests();
    ASSERT_EQ(reqs.size(), 1u);
    const json body = json::parse(reqs[0].body);
    EXPECT_EQ(body["tools"][0]["function"]["name"], "get_weather");
    EXPECT_EQ(body["tool_choice"], "required");
    EXPECT_TRUE(body["messages"][1]["content"].is_null());
    EXPECT_EQ(body["messages"][1]["tool_calls"][0]["function"]["arguments"], R"({"city":"Paris"})");
    EXPECT_EQ(body["messages"][2]["role"], "tool");
    EXPECT_EQ(body["messages"][2]["tool_call_id"], "call_1");

    // A card number in an earlier call's arguments must stay local: nothing more goes up.
    engine::Request secret = r;
    secret.messages[1].tool_calls[0].arguments = R"({"card":"4111 1111 1111 1111"})";
    const auto b = h.ask(secret);
    EXPECT_EQ(completion(b).route->route, "local") << completion(b).route->reason;
    EXPECT_EQ(h.up->requests().size(), 1u);
}

} // namespace
} // namespace hearth::router
