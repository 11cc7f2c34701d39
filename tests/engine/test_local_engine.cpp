// tests/engine/test_local_engine.cpp: LocalEngine end to end on the SmolLM2 and Gemma fixture models:
// chat and completion, determinism under concurrency, cancellation, the queue limit, request errors,
// keep-alive, several models and LRU eviction under a memory budget, stop strings, logprobs, drain, a
// hostile chat template next to another model's request, load errors without the server's paths.
#include "engine/local_engine.h"
#include "engine/prompt.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "model/sim_gpu.h"
#include "model_paths.h"
#include "tokenizer/tokenizer.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <limits>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace hearth::engine {
namespace {

const std::string kSmol = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
const std::string kGemma = test::model_path("gemma-3-270m-q4_k_m.gguf");

Resolver fixture_resolver() {
    return [](const std::string& name) -> Result<ModelSpec> {
        ModelSpec s;
        s.name = name;
        if (name == "smollm2" || name == "smollm2-params") {
            s.path = kSmol;
            if (name == "smollm2-params") {
                s.params_json = R"({"num_predict": 3, "temperature": 0, "top_k": 1})";
                s.system = "You answer in French.";
            }
        } else if (name == "gemma") {
            s.path = kGemma;
        } else {
            return error("model '" + name + "' not found; pull it first");
        }
        return s;
    };
}

LocalEngineOptions small_options() {
    LocalEngineOptions o;
    o.n_threads = 1; // the CI machine is small and shared: a second compute thread only adds waiting
    o.max_active = 4;
    return o;
}

Request greedy_chat(const std::string& model, const std::string& text, int32_t max_tokens) {
    Request r;
    r.model = model;
    r.messages = {{"user", text}};
    r.sampling.temperature = 0;
    r.seed_set = true;
    r.max_tokens = max_tokens;
    r.num_ctx = 512;
    return r;
}

struct Outcome {
    std::variant<Completion, Status> result;
    std::vector<TokenEvent> events;
    const Completion& done() const {
        if (const auto* f = std::get_if<Status>(&result)) ADD_FAILURE() << "failed: " << f->message();
        static const Completion none;
        const auto* c = std::get_if<Completion>(&result);
        return c ? *c : none;
    }
    const Status& failed() const {
        static const Status none = error("(it succeeded)");
        const auto* f = std::get_if<Status>(&result);
        EXPECT_NE(f, nullptr) << "the request succeeded";
        return f ? *f : none;
    }
    std::vector<int32_t> tokens() const {
        std::vector<int32_t> t;
        for (const auto& e : events)
            if (e.token >= 0) t.push_back(e.token);
        return t;
    }
};

Outcome run(Engine& e, const Request& r, const std::function<bool(const TokenEvent&)>& each = nullptr,
            const std::atomic<bool>* cancel = nullptr) {
    Outcome out;
    out.result = e.generate(
        r,
        [&](const TokenEvent& ev) {
            out.events.push_back(ev);
            return each ? each(ev) : true;
        },
        cancel);
    return out;
}

void require_models() {
    ASSERT_TRUE(std::filesystem::exists(kSmol)) << test::missing_model_message(kSmol);
    ASSERT_TRUE(std::filesystem::exists(kGemma)) << test::missing_model_message(kGemma);
}

// Bans every end-of-generation token, so a request runs until its limit or a cancel.
void ban_eog(Request& r) {
    auto file = gguf::File::open(kSmol);
    ASSERT_TRUE(file) << file.message();
    auto tok = load_tokenizer(*file);
    ASSERT_TRUE(tok) << tok.message();
    for (int32_t id : tok->eog)
        r.sampling.logit_bias.emplace_back(id, -std::numeric_limits<float>::infinity());
}

TEST(LocalEngine, ChatAndCompletionProduceText) {
    require_models();
    LocalEngine e(fixture_resolver(), small_options());
    Outcome chat = run(e, greedy_chat("smollm2", "What is the capital of France?", 8));
    const Completion& c = chat.done();
    EXPECT_FALSE(c.text.empty());
    EXPECT_GT(c.prompt_tokens, 10); // the template and default system prompt around the question
    EXPECT_GE(c.completion_tokens, 1);
    EXPECT_LE(c.completion_tokens, 8);
    std::string streamed;
    for (const auto& ev : chat.events)
        streamed += ev.text;
    EXPECT_EQ(streamed, c.text);
    EXPECT_TRUE(c.finish == Finish::Length || c.finish == Finish::Stop);
    // Fewer tokens than the limit: only an end of turn stops it. At the limit either can: an end-of-turn token as
    // the 8th is counted and reported as a stop, as llama-server does (its EOS check comes after the budget check).
    if (c.completion_tokens < 8) {
        EXPECT_EQ(c.finish, Finish::Stop);
    }

    Request raw = greedy_chat("smollm2", "", 6);
    raw.messages.clear();
    raw.prompt = "The capital of France is";
    raw.raw = true;
    Outcome r1 = run(e, raw);
    EXPECT_FALSE(r1.done().text.empty());
    EXPECT_EQ(r1.done().completion_tokens, 6);
    EXPECT_EQ(r1.done().finish, Finish::Length);
    EXPECT_GT(r1.done().prompt_tokens, 3);
    EXPECT_LT(r1.done().prompt_tokens, 10);

    Request templated = raw;
    templated.raw = false;
    Outcome r2 = run(e, templated);
    EXPECT_GT(r2.done().prompt_tokens, r1.done().prompt_tokens + 5); // turn markers, system prompt

    const Stats st = e.stats();
    EXPECT_EQ(st.requests, 3u);
    EXPECT_EQ(st.failures, 0u);
    EXPECT_EQ(st.active, 0);
    EXPECT_EQ(st.completion_tokens, uint64_t(c.completion_tokens + 6 + r2.done().completion_tokens));
    EXPECT_EQ(st.ttft_count, 3u);
    EXPECT_EQ(st.ttft_counts.back(), 3u);
    EXPECT_GT(st.memory_bytes, 0u);
}

TEST(LocalEngine, GreedyIsTheSameAloneAndWithConcurrentRequests) {
    require_models();
    const std::vector<std::string> prompts = {
        "Name a color.",    "What is 2 + 2?",        "Say hello.",      "Name a fruit.",
        "What is the sun?", "Write one word: blue.", "Count to three.", "What do cats eat?",
    };
    std::vector<Outcome> alone;
    {
        LocalEngine e(fixture_resolver(), small_options());
        for (const auto& p : prompts)
            alone.push_back(run(e, greedy_chat("smollm2", p, 10)));
    }
    LocalEngine e(fixture_resolver(), small_options());
    std::vector<Outcome> together(prompts.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < prompts.size(); ++i)
        threads.emplace_back([&, i] { together[i] = run(e, greedy_chat("smollm2", prompts[i], 10)); });
    for (auto& t : threads)
        t.join();
    for (size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(together[i].done().text, alone[i].done().text) << prompts[i];
        EXPECT_EQ(together[i].tokens(), alone[i].tokens()) << prompts[i];
        EXPECT_EQ(together[i].done().completion_tokens, alone[i].done().completion_tokens);
    }
    // ... and they really shared forward passes (continuous batching), at most max_active at a time.
    const Stats st = e.stats();
    EXPECT_GE(st.max_batch_sequences, 2);
    EXPECT_LE(st.max_batch_sequences, small_options().max_active);
    EXPECT_GT(st.forward_sequences, st.forward_passes);
    // A seeded sampled request is reproducible too, next to others or not.
    Request seeded = greedy_chat("smollm2", "Tell me a story.", 12);
    seeded.sampling.temperature = 0.9f;
    seeded.sampling.seed = 42;
    const Outcome a = run(e, seeded);
    Outcome b;
    std::thread other([&] { run(e, greedy_chat("smollm2", "Name a fruit.", 12)); });
    b = run(e, seeded);
    other.join();
    EXPECT_EQ(a.tokens(), b.tokens());
    EXPECT_EQ(e.stats().active, 0);
}

TEST(LocalEngine, CancelFreesTheSlot) {
    require_models();
    LocalEngineOptions o = small_options();
    o.max_active = 1;
    LocalEngine e(fixture_resolver(), o);
    Request r = greedy_chat("smollm2", "Tell me a long story.", 400);
    ban_eog(r);
    int seen = 0;
    Outcome stopped = run(e, r, [&](const TokenEvent&) { return ++seen < 3; });
    EXPECT_EQ(stopped.done().finish, Finish::Cancelled);
    EXPECT_LT(stopped.done().completion_tokens, 400);
    EXPECT_EQ(seen, 3); // no events after the one that said stop
    EXPECT_EQ(e.stats().active, 0);

    std::atomic<bool> cancel{false};
    Outcome flagged = run(
        e, r,
        [&](const TokenEvent& ev) {
            if (!ev.text.empty()) cancel.store(true);
            return true;
        },
        &cancel);
    EXPECT_EQ(flagged.done().finish, Finish::Cancelled);
    EXPECT_LT(flagged.done().completion_tokens, 400);

    Outcome next = run(e, greedy_chat("smollm2", "Say hello.", 4)); // the only slot is free again
    EXPECT_GE(next.done().completion_tokens, 1);
    EXPECT_EQ(e.stats().active, 0);
    EXPECT_EQ(e.stats().queue_depth, 0);
}

TEST(LocalEngine, FullQueueIsBusy) {
    require_models();
    LocalEngineOptions o = small_options();
    o.max_active = 1;
    o.max_queue = 1;
    LocalEngine e(fixture_resolver(), o);
    Request endless = greedy_chat("smollm2", "Tell me a long story.", -1);
    endless.num_ctx = 2048;
    ban_eog(endless);
    std::atomic<bool> cancel_a{false}, a_started{false};
    Outcome a;
    std::thread ta([&] {
        a = run(
            e, endless, [&](const TokenEvent&) { return a_started = true; }, &cancel_a);
    });
    while (!a_started.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Outcome b;
    std::thread tb([&] { b = run(e, greedy_chat("smollm2", "Say hello.", 3)); });
    while (e.stats().queue_depth != 1)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Outcome c = run(e, greedy_chat("smollm2", "Say hi.", 3));
    EXPECT_EQ(c.failed().code(), Code::Busy);
    EXPECT_EQ(e.stats().rejected_busy, 1u);
    cancel_a = true;
    ta.join();
    tb.join();
    EXPECT_EQ(a.done().finish, Finish::Cancelled);
    EXPECT_GE(b.done().completion_tokens, 1);
}

TEST(LocalEngine, BadRequestsNameTheField) {
    require_models();
    LocalEngine e(fixture_resolver(), small_options());
    auto field_of = [&](Request r) {
        const Outcome x = run(e, r);
        EXPECT_EQ(x.failed().code(), Code::BadField) << x.failed().message();
        return x.failed().field();
    };
    Request r = greedy_chat("smollm2", "Hi", 4);
    r.sampling.temperature = -1;
    EXPECT_EQ(field_of(r), "temperature");
    r = greedy_chat("smollm2", "Hi", 4);
    r.sampling.top_p = 2;
    EXPECT_EQ(field_of(r), "top_p");
    r = greedy_chat("smollm2", "Hi", 4);
    r.sampling.logprobs = true;
    r.sampling.top_logprobs = 50;
    EXPECT_EQ(field_of(r), "top_logprobs");
    r = greedy_chat("smollm2", "Hi", 4);
    r.stop.assign(kMaxStop + 1, "x");
    EXPECT_EQ(field_of(r), "stop");
    r = greedy_chat("smollm2", "Hi", 4);
    r.messages.clear();
    EXPECT_EQ(field_of(r), "messages");
    r = greedy_chat("smollm2", "Hi", 4);
    r.messages[0].role = "wizard";
    EXPECT_EQ(field_of(r), "messages");
    r = greedy_chat("smollm2", "Hi", 4);
    r.sampling.logit_bias = {{1 << 30, 1.0f}}; // checked against the vocabulary once the model is loaded
    EXPECT_EQ(field_of(r), "logit_bias");
    r = greedy_chat("smollm2", "Hi", 4);
    r.num_ctx = 1 << 24;
    EXPECT_EQ(field_of(r), "num_ctx");

    // A prompt longer than the context is refused with the numbers, not truncated.
    r = greedy_chat("smollm2", "", 4);
    r.messages.clear();
    r.prompt = std::string(400, 'a') + " and more words to go past the small context";
    for (int i = 0; i < 4; ++i)
        *r.prompt += *r.prompt;
    r.num_ctx = 64;
    const Outcome longp = run(e, r);
    EXPECT_EQ(longp.failed().code(), Code::ContextFull);
    EXPECT_EQ(longp.failed().field(), "prompt");
    EXPECT_NE(longp.failed().message().find("64"), std::string::npos) << longp.failed().message();

    const Outcome missing = run(e, greedy_chat("no-such-model", "Hi", 4));
    EXPECT_EQ(missing.failed().code(), Code::NotFound);
    EXPECT_NE(missing.failed().message().find("no-such-model"), std::string::npos);

    EXPECT_EQ(e.stats().failures, 10u);
    EXPECT_EQ(e.stats().active, 0);
    Outcome ok = run(e, greedy_chat("smollm2", "Hi", 2)); // still serving
    EXPECT_GE(ok.done().completion_tokens, 1);
}

TEST(LocalEngine, KeepAliveAndUnload) {
    require_models();
    LocalEngine e(fixture_resolver(), small_options());
    Outcome a = run(e, greedy_chat("smollm2", "Hi", 2));
    a.done();
    auto l = e.loaded();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].name, "smollm2");
    EXPECT_EQ(l[0].path, kSmol);
    EXPECT_GT(l[0].size_bytes, 50u << 20);
    EXPECT_GT(l[0].expires_in_s, 200); // the default keep-alive of 300 s
    EXPECT_LE(l[0].expires_in_s, 300);
    e.unload("smollm2");
    EXPECT_TRUE(e.loaded().empty());

    Request once = greedy_chat("smollm2", "Hi", 2);
    once.keep_alive_s = 0;
    run(e, once).done();
    EXPECT_TRUE(e.loaded().empty());
    EXPECT_EQ(e.stats().memory_bytes, 0u);
}

TEST(LocalEngine, TwoModelsAndLruEvictionUnderABudget) {
    require_models();
    uint64_t smol = 0, gemma = 0;
    {
        LocalEngine e(fixture_resolver(), small_options());
        run(e, greedy_chat("smollm2", "Hi", 2)).done();
        run(e, greedy_chat("gemma", "Hi", 2)).done();
        auto l = e.loaded();
        ASSERT_EQ(l.size(), 2u);
        for (const auto& m : l)
            (m.name == "gemma" ? gemma : smol) = m.size_bytes;
        ASSERT_GT(smol, 0u);
        ASSERT_GT(gemma, 0u);
        EXPECT_EQ(e.stats().memory_bytes, smol + gemma);
    }
    LocalEngineOptions o = small_options();
    o.memory_budget_bytes = std::max(smol, gemma) + std::min(smol, gemma) / 2; // one fits, not both
    LocalEngine e(fixture_resolver(), o);
    run(e, greedy_chat("smollm2", "Hi", 2)).done();
    ASSERT_EQ(e.loaded().size(), 1u);
    run(e, greedy_chat("gemma", "Hi", 2)).done();
    auto l = e.loaded();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].name, "gemma");
    run(e, greedy_chat("smollm2", "Hi", 2)).done();
    l = e.loaded();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].name, "smollm2");

    o.memory_budget_bytes = 1 << 20; // nothing fits
    LocalEngine tiny(fixture_resolver(), o);
    const Outcome x = run(tiny, greedy_chat("smollm2", "Hi", 2));
    EXPECT_EQ(x.failed().code(), Code::TooLarge);
    EXPECT_NE(x.failed().message().find("MiB"), std::string::npos) << x.failed().message();
    EXPECT_TRUE(tiny.loaded().empty());
}

TEST(LocalEngine, StopStringsAreNotEmitted) {
    require_models();
    LocalEngine e(fixture_resolver(), small_options());
    Request r = greedy_chat("smollm2", "Write a sentence about the sea.", 16);
    const Outcome full = run(e, r);
    const std::string text = full.done().text;
    ASSERT_GE(text.size(), 12u) << text;
    const std::string stop = text.substr(6, 4);
    r.stop = {stop, "never-seen-stop-string"};
    const Outcome cut = run(e, r);
    EXPECT_EQ(cut.done().finish, Finish::StopString);
    EXPECT_EQ(cut.done().text, text.substr(0, text.find(stop)));
    std::string streamed;
    for (const auto& ev : cut.events)
        streamed += ev.text;
    EXPECT_EQ(streamed, cut.done().text);
}

TEST(LocalEngine, LogprobsAndModelParameters) {
    require_models();
    LocalEngine e(fixture_resolver(), small_options());
    Request r = greedy_chat("smollm2", "Name a color.", 4);
    r.sampling.logprobs = true;
    r.sampling.top_logprobs = 3;
    const Outcome x = run(e, r);
    ASSERT_FALSE(x.tokens().empty());
    for (const auto& ev : x.events) {
        if (ev.token < 0) continue;
        ASSERT_EQ(ev.top.size(), 3u);
        EXPECT_EQ(ev.top[0].token, ev.token); // greedy picks the most likely token
        EXPECT_LE(ev.logprob, 0.0f);
        EXPECT_FLOAT_EQ(ev.logprob, ev.top[0].logprob);
        EXPECT_GE(ev.top[0].logprob, ev.top[1].logprob);
    }

    // The model's PARAMETER num_predict 3 applies when the request gives no max_tokens; its SYSTEM is used.
    Request p = greedy_chat("smollm2-params", "Tell me a long story.", -1);
    ban_eog(p);
    const Outcome withp = run(e, p);
    EXPECT_EQ(withp.done().completion_tokens, 3);
    Request plain = p;
    plain.model = "smollm2";
    plain.max_tokens = 3;
    EXPECT_GT(withp.done().prompt_tokens, 0);
    EXPECT_NE(withp.done().prompt_tokens, run(e, plain).done().prompt_tokens); // a different system prompt
    p.max_tokens = 5;                                                          // the request wins
    EXPECT_EQ(run(e, p).done().completion_tokens, 5);
}

TEST(LocalEngine, DrainRefusesNewRequests) {
    require_models();
    LocalEngine e(fixture_resolver(), small_options());
    run(e, greedy_chat("smollm2", "Hi", 2)).done();
    e.drain(5);
    const Outcome x = run(e, greedy_chat("smollm2", "Hi", 2));
    EXPECT_EQ(x.failed().code(), Code::Busy);
    EXPECT_EQ(x.failed().message(), "shutting down");
    EXPECT_TRUE(e.loaded().empty());
}

// Models on one simulated GPU (model/sim_gpu.h: the CPU kernels, its own account of device memory): a model whose
// weights do not fit next to an idle one gets the room by unloading it (the load is retried), and a session that
// does not fit next to an idle model on the same device gets it the same way (make_room's device branch).
struct SimGpuEngine {
    std::shared_ptr<test::SimGpuMemory> mem;
    LocalEngine engine;
    explicit SimGpuEngine(uint64_t capacity)
        : mem(std::make_shared<test::SimGpuMemory>(capacity)), engine(fixture_resolver(), options(mem)) {}
    static LocalEngineOptions options(const std::shared_ptr<test::SimGpuMemory>& mem) {
        LocalEngineOptions o = small_options();
        o.make_backend = [mem](const std::string&) { return std::make_unique<test::SimGpu>(mem); };
        return o;
    }
    std::vector<std::string> loaded() const {
        std::vector<std::string> names;
        for (const LoadedModel& m : engine.loaded())
            names.push_back(m.name);
        return names;
    }
};

// What a request at num_ctx leaves on the device: the model's weights and its pooled session.
uint64_t device_use(const std::string& model, int32_t num_ctx) {
    SimGpuEngine g(uint64_t{1} << 40);
    Request r = greedy_chat(model, "Hi", 2);
    r.num_ctx = num_ctx;
    run(g.engine, r).done();
    const auto loaded = g.engine.loaded();
    EXPECT_EQ(loaded.size(), 1u);
    if (!loaded.empty()) {
        EXPECT_EQ(loaded[0].vram_bytes, g.mem->used.load()) << "size_vram is what is on the device";
    }
    return g.mem->used.load();
}

TEST(LocalEngine, IdleModelsLeaveTheGpuForAnotherModel) {
    require_models();
    const uint64_t smol = device_use("smollm2", 512), smol_long = device_use("smollm2", 4096),
                   gemma = device_use("gemma", 512);
    // Headroom over what a request leaves behind: a session's estimate is an upper bound (its scratch, rounding).
    const uint64_t slack = uint64_t{32} << 20;
    ASSERT_GT(smol_long, smol + 2 * slack) << "a 4096-token cache takes more device memory";

    { // Weights: room for either model, not both.
        const uint64_t cap = std::max(smol, gemma) + slack;
        ASSERT_LT(cap, smol + gemma);
        SimGpuEngine g(cap);
        run(g.engine, greedy_chat("smollm2", "Hi", 2)).done();
        EXPECT_EQ(g.loaded(), std::vector<std::string>{"smollm2"});
        run(g.engine, greedy_chat("gemma", "Hi", 2)).done();
        EXPECT_EQ(g.loaded(), std::vector<std::string>{"gemma"}) << "the idle smollm2 was unloaded for gemma";
        EXPECT_LE(g.mem->used.load(), cap);
    }
    { // A session: both models fit with short contexts, not smollm2's long one next to gemma.
        const uint64_t cap = gemma + smol + slack;
        ASSERT_LT(cap, gemma + smol_long);
        ASSERT_GE(cap, smol_long);
        SimGpuEngine g(cap);
        run(g.engine, greedy_chat("gemma", "Hi", 2)).done();
        run(g.engine, greedy_chat("smollm2", "Hi", 2)).done();
        EXPECT_EQ(g.loaded().size(), 2u) << "both fit with 512-token sessions";
        Request long_ctx = greedy_chat("smollm2", "Hi", 2);
        long_ctx.num_ctx = 4096;
        run(g.engine, long_ctx).done();
        EXPECT_EQ(g.loaded(), std::vector<std::string>{"smollm2"}) << "the idle gemma was unloaded for the session";
        EXPECT_LE(g.mem->used.load(), cap);
    }
}

TEST(LocalEngine, DrainCancelsWhatOutlastsTheTimeout) {
    require_models();
    LocalEngineOptions o = small_options();
    o.max_active = 1;
    LocalEngine e(fixture_resolver(), o);
    Request endless = greedy_chat("smollm2", "Tell me a long story.", -1);
    endless.num_ctx = 2048;
    ban_eog(endless);
    std::atomic<bool> started{false};
    Outcome a, b;
    std::thread ta([&] { a = run(e, endless, [&](const TokenEvent&) { return started = true; }); });
    while (!started.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::thread tb([&] { b = run(e, endless); }); // queued behind a
    while (e.stats().queue_depth != 1)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    e.drain(0);
    ta.join();
    tb.join();
    EXPECT_EQ(a.done().finish, Finish::Cancelled);
    EXPECT_EQ(b.done().finish, Finish::Cancelled);
    EXPECT_EQ(b.done().completion_tokens, 0);
    EXPECT_TRUE(e.loaded().empty());
}

// A chat template that runs until the 1 s rendering deadline whatever the machine: each of its steps walks
// a megabyte, and no other limit is reached first.
constexpr const char* kSlowTemplate =
    "{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{% set n = s|length %}{% endfor %}";

// Rendering happens on the caller's thread: while requests for a model with a hostile template each burn
// their second, a request for another model keeps getting tokens (before, each render held the inference
// thread, so the other request got about one token per hostile request).
TEST(LocalEngine, HostileTemplateDelaysOnlyItsOwnRequest) {
    require_models();
    const Resolver fixtures = fixture_resolver();
    LocalEngine e(
        [&](const std::string& name) -> Result<ModelSpec> {
            if (name != "hostile") return fixtures(name);
            ModelSpec s;
            s.name = name;
            s.path = kGemma;
            s.template_text = kSlowTemplate;
            return s;
        },
        small_options());
    run(e, greedy_chat("smollm2", "Hi", 1)).done(); // loaded before the clock starts

    Request story = greedy_chat("smollm2", "Tell me a long story.", 2000);
    story.num_ctx = 2048;
    ban_eog(story);
    std::mutex mu;
    std::vector<std::chrono::steady_clock::time_point> token_times;
    std::atomic<bool> stop{false}, started{false};
    Outcome told;
    std::thread teller([&] {
        told = run(
            e, story,
            [&](const TokenEvent&) {
                std::lock_guard lk(mu);
                token_times.push_back(std::chrono::steady_clock::now());
                started = true;
                return true;
            },
            &stop);
    });
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!started.load() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(started.load()) << "the story never started";

    constexpr int kHostile = 5;
    const auto t_first = std::chrono::steady_clock::now();
    for (int i = 0; i < kHostile; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const Outcome h = run(e, greedy_chat("hostile", "Hi", 4));
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_EQ(h.failed().code(), Code::BadField);
        EXPECT_EQ(h.failed().field(), "messages");
        EXPECT_NE(h.failed().message().find("LimitError"), std::string::npos) << h.failed().message();
        EXPECT_LT(took, 5.0) << h.failed().message();
    }
    const auto t_last = std::chrono::steady_clock::now();
    stop = true;
    teller.join();
    EXPECT_EQ(told.done().finish, Finish::Cancelled);
    size_t during = 0;
    for (auto t : token_times)
        during += t > t_first && t < t_last;
    const double window = std::chrono::duration<double>(t_last - t_first).count();
    std::printf("%zu tokens of the other model during %.2f s of %d hostile renders\n", during, window, kHostile);
    EXPECT_GT(during, size_t(2 * kHostile))
        << during << " tokens of the other model in " << window << " s of " << kHostile << " hostile renders";
    // The hostile model was never loaded: its requests ended before reaching the inference thread.
    for (const auto& m : e.loaded())
        EXPECT_NE(m.path, kGemma);
}

// A model that cannot be loaded: the client's message names the model, never the file (a store's blob
// path names the server's $HEARTH_HOME); the operator's log gets the full message with the path.
TEST(LocalEngine, LoadErrorsDoNotShowTheServersPaths) {
    require_models();
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("hearth-engine-load-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string corrupt = (dir / "sha256-corrupt").string(), weightless = (dir / "sha256-weightless").string(),
                      missing = (dir / "sha256-missing").string();
    {
        std::ofstream(corrupt, std::ios::binary) << "XXXX and then nothing a GGUF reader wants";
        // Metadata that loads (tokenizer and all), tensors that do not: the weights fail on the inference thread.
        auto tiny = gguf::File::open(std::string(HEARTH_TEST_DATA) + "/tiny/tiny-llama3.gguf");
        ASSERT_TRUE(tiny) << tiny.message();
        gguf::Writer w;
        for (const auto& kv : tiny->metadata())
            w.set(kv.key, kv.value);
        ASSERT_TRUE(w.write(weightless).is_ok());
    }
    std::mutex mu;
    std::string log;
    LocalEngineOptions o = small_options();
    o.log = [&](const std::string& line) {
        std::lock_guard lk(mu);
        log += line + "\n";
    };
    LocalEngine e(
        [&](const std::string& name) -> Result<ModelSpec> {
            ModelSpec s;
            s.name = name;
            s.path = name == "corrupt" ? corrupt : name == "weightless" ? weightless : missing;
            return s;
        },
        o);
    for (const std::string name : {"corrupt", "weightless", "missing"}) {
        const Outcome x = run(e, greedy_chat(name, "Hi", 2));
        const Status& f = x.failed();
        EXPECT_EQ(f.code(), name == "missing" ? Code::NotFound : Code::Internal) << f.message();
        EXPECT_EQ(f.message().rfind("model '" + name + "' could not be loaded: ", 0), 0u) << f.message();
        EXPECT_EQ(f.message().find(dir.string()), std::string::npos) << f.message();
        EXPECT_EQ(f.message().find("sha256-"), std::string::npos) << f.message();
        std::lock_guard lk(mu);
        EXPECT_NE(log.find("sha256-" + name), std::string::npos) << log;
    }
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace hearth::engine

namespace hearth::engine {
namespace {

// Fill-in-the-middle: [BOS] <fim_prefix> prefix <fim_suffix> suffix <fim_middle>, with the model's own FIM
// tokens; special-token text inside the code stays text; a model without FIM tokens refuses, naming suffix.
TEST(FillInTheMiddle, PromptIsFramedByTheModelsFimTokens) {
    const std::string qwen = test::model_path("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    ASSERT_TRUE(std::filesystem::exists(qwen)) << test::missing_model_message(qwen);
    ModelTextCache cache;
    auto text = cache.get({}, "qwen", qwen);
    ASSERT_TRUE(text) << text.message();
    const Tokenizer& tok = (*text)->tok;
    Request r;
    r.model = "qwen";
    r.prompt = "def add(a, b):\n    ";
    r.suffix = "\n<|im_end|>print(add(2, 3))\n";
    auto toks = prompt_tokens(**text, r, ModelSpec{});
    ASSERT_TRUE(toks) << toks.message();
    const auto prefix = tokenize(tok, *r.prompt, false, false);
    const auto suffix = tokenize(tok, *r.suffix, false, false);
    std::vector<int32_t> want = {tok.fim_pre};
    want.insert(want.end(), prefix.begin(), prefix.end());
    want.push_back(tok.fim_suf);
    want.insert(want.end(), suffix.begin(), suffix.end());
    want.push_back(tok.fim_mid);
    EXPECT_EQ(*toks, want);
    EXPECT_EQ(token_to_piece(tok, tok.fim_pre, true), "<|fim_prefix|>");
    EXPECT_EQ(token_to_piece(tok, tok.fim_suf, true), "<|fim_suffix|>");
    EXPECT_EQ(token_to_piece(tok, tok.fim_mid, true), "<|fim_middle|>");
    const auto im_end = tok.piece_to_id.find("<|im_end|>");
    ASSERT_NE(im_end, tok.piece_to_id.end());
    EXPECT_EQ(std::count(toks->begin(), toks->end(), im_end->second), 0); // "<|im_end|>" in the code stayed text

    const std::string smol = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    auto smol_text = cache.get({}, "smol", smol);
    ASSERT_TRUE(smol_text) << smol_text.message();
    r.model = "smol";
    auto refused = prompt_tokens(**smol_text, r, ModelSpec{});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.status().field(), "suffix");
}

} // namespace
} // namespace hearth::engine

namespace hearth::engine {
namespace {

// Thinking models, with SmolLM2's weights under two thinking templates: one that opens the <think> block in the
// generation prompt and has no switch (as DeepSeek-R1 distills'), one with Qwen3's enable_thinking switch.
constexpr const char* kAlwaysThinks =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}";
constexpr const char* kSwitchable =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}";

Resolver thinking_resolver() {
    return [](const std::string& name) -> Result<ModelSpec> {
        ModelSpec s;
        s.name = name;
        s.path = kSmol;
        if (name == "always") s.template_text = kAlwaysThinks;
        if (name == "switchable") s.template_text = kSwitchable;
        return s;
    };
}

TEST(LocalEngine, ThinkingIsSplitFromTheAnswer) {
    require_models();
    LocalEngine e(thinking_resolver(), small_options());
    // The prompt opened the block and the model never closes it in 6 tokens: all of it is reasoning.
    Request r = greedy_chat("always", "What is 2+2?", 6);
    ban_eog(r);
    const Outcome a = run(e, r);
    const Completion& c = a.done();
    std::string streamed_reasoning, streamed_text;
    for (const auto& ev : a.events) {
        streamed_reasoning += ev.reasoning;
        streamed_text += ev.text;
    }
    EXPECT_FALSE(c.reasoning.empty());
    EXPECT_EQ(c.text, "");
    EXPECT_EQ(streamed_reasoning, c.reasoning);
    EXPECT_EQ(streamed_text, "");
    EXPECT_EQ(c.completion_tokens, 6);

    // The same weights without a thinking template: the same tokens are the answer.
    Request plain = r;
    plain.model = "plain";
    const Outcome po = run(e, plain);
    const Completion& p = po.done();
    EXPECT_TRUE(p.reasoning.empty());
    EXPECT_FALSE(p.text.empty());

    // Qwen3's switch: off renders the empty block (a longer prompt) and nothing is read as reasoning.
    Request on = greedy_chat("switchable", "What is 2+2?", 4), off = on;
    off.think = false;
    const Outcome oon = run(e, on), ooff = run(e, off);
    const Completion &con = oon.done(), &coff = ooff.done();
    EXPECT_GT(coff.prompt_tokens, con.prompt_tokens);
    EXPECT_TRUE(coff.reasoning.empty());
}

TEST(LocalEngine, ThinkThatTheModelCannotDoIsRefused) {
    require_models();
    LocalEngine e(thinking_resolver(), small_options());
    auto refused = [&](Request r, const std::string& why) {
        const Outcome o = run(e, r);
        const Status& s = o.failed();
        EXPECT_EQ(s.field(), "think") << s.message();
        EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
    };
    Request r = greedy_chat("plain", "Hi", 2);
    r.think = true;
    refused(r, "has no thinking mode");
    r.think = false;
    run(e, r).done(); // not thinking is what it does anyway
    r.model = "always";
    refused(r, "always thinks");
    r.model = "switchable";
    r.think = true;
    r.format = OutputFormat::JsonObject;
    refused(r, "cannot think before a constrained answer");
    r.think.reset(); // a constrained answer turns the thinking off by default
    run(e, r).done();
}

} // namespace
} // namespace hearth::engine

namespace hearth::engine {
namespace {

// A grammar whose parse stacks multiply with every "a" (each may close with "b" or "c"): the matcher's limit
// ends the answer with TooLarge naming the request's field, not an internal error. The model is pushed to
// write "a" by logit_bias.
TEST(LocalEngine, GrammarPastItsLimitsMidAnswerIsTheRequests) {
    require_models();
    LocalEngine e(fixture_resolver(), small_options());
    Request r = greedy_chat("smollm2", "Write letters.", 64);
    r.format = OutputFormat::Grammar;
    r.format_spec = R"(root ::= "a" root "b" | "a" root "c" | "")";
    r.format_field = "grammar";
    auto file = gguf::File::open(kSmol);
    ASSERT_TRUE(file) << file.message();
    auto tok = load_tokenizer(*file);
    ASSERT_TRUE(tok) << tok.message();
    const auto a = tokenize(*tok, "a", false, false);
    ASSERT_EQ(a.size(), 1u);
    r.sampling.logit_bias.emplace_back(a[0], 100.0f);
    const Outcome o = run(e, r);
    const Status& s = o.failed();
    EXPECT_EQ(s.code(), Code::TooLarge) << s.message();
    EXPECT_EQ(s.field(), "grammar") << s.message();
    EXPECT_NE(s.message().find("parse stacks"), std::string::npos) << s.message();
}

} // namespace
} // namespace hearth::engine
