// runtime/chat: templates chosen per model, KV-cache reuse across turns (checked against a fresh
// session), the context budget (error with the numbers, or dropping the oldest turns), stop strings
// and cancellation. Uses the real fixture models.
#include "gguf/gguf.h"
#include "model_paths.h"
#include "runtime/chat.h"
#include "template/gotmpl.h"

#include <fstream>
#include <gtest/gtest.h>

namespace hearth {
namespace {

struct Loaded {
    std::unique_ptr<Runtime> engine;
    Tokenizer tok;
    std::optional<std::string> tmpl;
};

Loaded load(const char* file) {
    const std::string path = test::model_path(file);
    Loaded l;
    auto e = Runtime::load(path, RuntimeOptions{2});
    EXPECT_TRUE(e.is_ok()) << e.message() << "\n" << test::missing_model_message(path);
    if (!e) return l;
    l.engine = std::move(*e);
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f.is_ok());
    auto t = load_tokenizer(*f);
    EXPECT_TRUE(t.is_ok()) << t.message();
    l.tok = std::move(*t);
    if (f->find("tokenizer.chat_template")) l.tmpl = *f->get_string("tokenizer.chat_template");
    return l;
}

std::unique_ptr<Session> session(const Loaded& l, int32_t n_ctx) {
    auto s = l.engine->create_session(SessionOptions{n_ctx, 64});
    EXPECT_TRUE(s.is_ok()) << s.message();
    return s ? std::move(*s) : nullptr;
}

Sampler greedy(const Loaded& l) {
    SamplingParams p;
    p.temperature = 0;
    return std::move(*Sampler::create(p, l.tok.n_vocab()));
}

std::string answer(Chat& chat, Sampler& s, const std::string& q, TurnStats* stats = nullptr) {
    std::string out;
    auto st = chat.respond(q, s, [&](const std::string& t) {
        out += t;
        return true;
    });
    EXPECT_TRUE(st.is_ok()) << st.message();
    if (stats && st) *stats = *st;
    return out;
}

std::string read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(ChatFormat, ModelTemplateElseADefaultThatFitsTheVocabulary) {
    Loaded smol = load("SmolLM2-135M-Instruct.Q4_1.gguf");
    Loaded gemma = load("gemma-3-270m-q4_k_m.gguf");
    ASSERT_TRUE(smol.engine && gemma.engine);
    ASSERT_TRUE(smol.tmpl.has_value());
    EXPECT_EQ(chat_format_for(smol.tok, smol.tmpl).origin, "model");
    ASSERT_FALSE(gemma.tmpl.has_value()); // this GGUF ships no template
    const ChatFormat g = chat_format_for(gemma.tok, gemma.tmpl);
    EXPECT_NE(g.origin.find("Gemma"), std::string::npos);
    // Without a template and without Gemma's turn markers: ChatML.
    EXPECT_NE(chat_format_for(smol.tok, std::nullopt).origin.find("ChatML"), std::string::npos);
    // An override wins, and an Ollama Go template is recognized as one.
    const ChatFormat o = chat_format_for(smol.tok, smol.tmpl, std::string("{{ .Prompt }}"), "Modelfile");
    EXPECT_EQ(o.kind, ChatFormat::Kind::Go);
    EXPECT_EQ(o.origin, "Modelfile");
}

TEST(ChatFormat, GemmaDefaultRendersLikeGemmasOwnTemplate) {
    // Gemma 2's official template (fetched fixtures) has the same turn format; without a system prompt the
    // two must agree byte for byte.
    Loaded gemma = load("gemma-3-270m-q4_k_m.gguf");
    ASSERT_TRUE(gemma.engine);
    ChatFormat ours = chat_format_for(gemma.tok, std::nullopt);
    ChatFormat official = ours;
    official.source = read(test::fixtures_dir() + "/templates/google-gemma-2-2b-it.jinja");
    ASSERT_FALSE(official.source.empty()) << test::missing_fixture_message("google-gemma-2-2b-it.jinja");
    const std::vector<std::vector<ChatMessage>> convs = {
        {{"user", "Hello!"}},
        {{"user", "Hi"}, {"assistant", "Hello, how can I help?"}, {"user", "  Tell me a joke.  "}},
    };
    for (const auto& c : convs)
        for (bool gen : {true, false}) {
            auto a = render_chat(ours, c, gen), b = render_chat(official, c, gen);
            ASSERT_TRUE(a.is_ok() && b.is_ok()) << a.message() << b.message();
            EXPECT_EQ(*a, *b);
        }
    // A system prompt goes in front of the first user turn (as Gemma 3's template does).
    auto s = render_chat(ours, {{"system", "Be brief."}, {"user", "Hi"}}, true);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(*s, ours.bos_token + "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
}

TEST(Chat, SecondTurnReusesTheCacheAndAnswersAsAFreshSessionWould) {
    Loaded l = load("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(l.engine);
    auto s1 = session(l, 512);
    ChatOptions opts;
    opts.n_predict = 24;
    Chat chat(*s1, l.tok, chat_format_for(l.tok, l.tmpl), opts);
    Sampler g = greedy(l);
    TurnStats t1, t2;
    const std::string a1 = answer(chat, g, "What is the capital of France?", &t1);
    EXPECT_FALSE(a1.empty());
    EXPECT_EQ(t1.n_fed, t1.n_prompt);
    const std::string a2 = answer(chat, g, "And of Germany?", &t2);
    EXPECT_GT(t2.n_prompt, t1.n_prompt);
    EXPECT_LT(t2.n_fed, t2.n_prompt - t1.n_prompt / 2) << "the history was fed again";
    ASSERT_EQ(chat.messages().size(), 4u);
    EXPECT_EQ(chat.messages()[1].content, a1);

    // The same conversation in a new session, all fed at once, gives the same second answer.
    auto s2 = session(l, 512);
    Chat fresh(*s2, l.tok, chat_format_for(l.tok, l.tmpl), opts);
    fresh.add_history({"user", "What is the capital of France?"});
    fresh.add_history({"assistant", a1});
    TurnStats t3;
    EXPECT_EQ(answer(fresh, g, "And of Germany?", &t3), a2);
    EXPECT_EQ(t3.n_fed, t2.n_prompt);
}

TEST(Chat, OverflowIsAnErrorOrDropsTheOldestTurns) {
    Loaded l = load("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(l.engine);
    auto s = session(l, 128);
    ChatOptions opts;
    opts.n_predict = 8;
    Chat chat(*s, l.tok, chat_format_for(l.tok, l.tmpl), opts);
    chat.set_system("You are helpful.");
    for (int i = 0; i < 6; ++i) {
        chat.add_history({"user", "Question number " + std::to_string(i) + " about the weather today?"});
        chat.add_history({"assistant", "Answer number " + std::to_string(i) + ": it is sunny and warm."});
    }
    Sampler g = greedy(l);
    const size_t before = chat.messages().size();
    auto err = chat.respond("And tomorrow?", g, [](const std::string&) { return true; });
    ASSERT_FALSE(err.is_ok());
    EXPECT_NE(err.message().find("context holds 128"), std::string::npos) << err.message();
    EXPECT_EQ(chat.messages().size(), before); // nothing added
    EXPECT_EQ(s->n_past(), 0);                 // nothing fed

    chat.options().overflow = Overflow::DropOldest;
    TurnStats st;
    answer(chat, g, "And tomorrow?", &st);
    EXPECT_GT(st.n_dropped, 0);
    EXPECT_LE(st.n_prompt, 128 - opts.reserve);
    EXPECT_EQ(chat.messages().front().role, "system"); // the system prompt is never dropped
    EXPECT_EQ(chat.messages().back().role, "assistant");

    // A single message larger than the context is an error even when dropping.
    std::string huge;
    for (int i = 0; i < 100; ++i)
        huge += "lorem ipsum ";
    auto big = chat.respond(huge, g, [](const std::string&) { return true; });
    ASSERT_FALSE(big.is_ok());
    EXPECT_NE(big.message().find("the message alone"), std::string::npos) << big.message();
}

TEST(Chat, StopStringsAndCancel) {
    Loaded l = load("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(l.engine);
    auto s = session(l, 512);
    ChatOptions opts;
    opts.n_predict = 32;
    Chat chat(*s, l.tok, chat_format_for(l.tok, l.tmpl), opts);
    Sampler g = greedy(l);
    const std::string full = answer(chat, g, "Count from one to twenty in words.");
    ASSERT_GT(full.size(), 12u);
    // Stop at a piece of the known answer: the answer ends right before it.
    const std::string stop = full.substr(full.size() / 2, 4);
    const std::string expect = full.substr(0, full.find(stop));
    chat.clear();
    chat.options().stop = {stop};
    TurnStats st;
    EXPECT_EQ(answer(chat, g, "Count from one to twenty in words.", &st), expect);
    EXPECT_EQ(st.end, Finish::StopString);

    // A raised cancel flag: nothing answered and nothing added.
    chat.clear();
    std::atomic<bool> cancel{true};
    auto c = chat.respond(
        "Hi", g, [](const std::string&) { return true; }, &cancel);
    ASSERT_TRUE(c.is_ok()) << c.message();
    EXPECT_EQ(c->end, Finish::Cancelled);
    EXPECT_EQ(c->n_generated, 0);
    EXPECT_TRUE(chat.messages().empty());
}

TEST(Chat, OllamaGoTemplateRendersLikeTheEquivalentJinjaTemplate) {
    Loaded l = load("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(l.engine);
    const std::string go = "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
                           "<|im_start|>assistant\n";
    const ChatFormat gf = chat_format_for(l.tok, std::nullopt, go, "Modelfile");
    const ChatFormat jf = chat_format_for(l.tok, std::nullopt); // ChatML default
    const std::vector<ChatMessage> conv = {
        {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};
    auto a = render_chat(gf, conv, true), b = render_chat(jf, conv, true);
    ASSERT_TRUE(a.is_ok() && b.is_ok()) << a.message() << b.message();
    EXPECT_EQ(*a, *b);
    // The legacy form ({{ .System }} {{ .Prompt }} {{ .Response }}): one rendering per turn, the last one
    // cut where the response starts.
    const std::string legacy = "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
                               "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}"
                               "<|im_start|>assistant\n{{ .Response }}<|im_end|>\n";
    auto c = render_chat(chat_format_for(l.tok, std::nullopt, legacy, "Modelfile"), conv, true);
    ASSERT_TRUE(c.is_ok()) << c.message();
    EXPECT_EQ(*c, *b);
}

} // namespace
} // namespace hearth
