// `hearth run` driven as a user drives it: one-shot prompts through a pipe, and the interactive chat
// through a pseudo-terminal (type a question, get an answer, /set, multi-line input, Ctrl-C in the
// middle of an answer, /bye). Each test has its own store ($HEARTH_HOME in a temp dir); the default
// model is imported from the fixture cache on first use.
#include "model_paths.h"
#include "run_command.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

struct TempHome {
    fs::path dir;
    TempHome() {
        char tmpl[] = "/tmp/hearth-run-test-XXXXXX";
        dir = mkdtemp(tmpl);
    }
    ~TempHome() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

using Ran = hearth::test::CommandResult;

Ran run(const TempHome& home, const std::string& args, const std::string& stdin_text = "") {
    const fs::path in = home.dir / "stdin.txt";
    std::ofstream(in) << stdin_text;
    return hearth::test::run_command(
        "HEARTH_HOME='" + home.dir.string() + "' " + HEARTH_BIN + " " + args + " <'" + in.string() + "'", true);
}

void expect_default_model() {
    const std::string path = hearth::test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(fs::exists(path)) << hearth::test::missing_model_message(path);
}

TEST(RunCommand, OneShotAnswersAndImportsTheDefaultModel) {
    expect_default_model();
    TempHome home;
    auto r = run(home, "run smollm2 --temp 0 -n 24 'What is the capital of France?'");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_GT(r.out.size(), 2u) << r.out;
    EXPECT_NE(r.err.find("importing smollm2:135m-q4_1"), std::string::npos) << r.err;
    // Imported once, content-addressed: one blob under its sha256, manifests for both names.
    EXPECT_TRUE(
        fs::exists(home.dir / "blobs" / "sha256-b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"));
    // The second run finds it in the store (no import) and, greedy, answers the same.
    auto r2 = run(home, "run smollm2 --temp 0 -n 24 'What is the capital of France?'");
    ASSERT_EQ(r2.rc, 0) << r2.err;
    EXPECT_EQ(r2.err.find("importing"), std::string::npos) << r2.err;
    EXPECT_EQ(r2.out, r.out);
}

TEST(RunCommand, SameSeedSameAnswer) {
    expect_default_model();
    TempHome home;
    auto a = run(home, "run smollm2 --temp 0.9 --seed 7 -n 24 'Tell me about cats.'");
    auto b = run(home, "run smollm2 --temp 0.9 --seed 7 -n 24 'Tell me about cats.'");
    auto c = run(home, "run smollm2 --temp 0.9 --seed 8 -n 24 'Tell me about cats.'");
    ASSERT_EQ(a.rc, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_NE(a.out, c.out); // 24 tokens at temperature 0.9: a different seed gives a different answer
}

TEST(RunCommand, PromptFromStdinAndVerboseTimings) {
    expect_default_model();
    TempHome home;
    auto r = run(home, "run smollm2 --temp 0 -n 8 --verbose", "Say hello.");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_FALSE(r.out.empty());
    for (const char* k : {"load time:", "prompt:", "tokens/s", "time to first token:", "generation:"})
        EXPECT_NE(r.err.find(k), std::string::npos) << k << "\n" << r.err;
}

TEST(RunCommand, ContextOverflowIsAnErrorWithTheNumbers) {
    expect_default_model();
    TempHome home;
    std::string long_prompt;
    for (int i = 0; i < 60; ++i)
        long_prompt += "The quick brown fox jumps over the lazy dog. ";
    auto r = run(home, "run smollm2 -c 64 '" + long_prompt + "'");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("context holds 64"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.find_first_not_of("\n") == std::string::npos) << r.out; // no answer at all
}

TEST(RunCommand, BadArgumentsAreClearErrors) {
    TempHome home;
    auto r1 = run(home, "run no-such-model 'hi'");
    EXPECT_EQ(r1.rc, 1);
    EXPECT_NE(r1.err.find("not in the store"), std::string::npos) << r1.err;
    // A path is loaded as a file (and a non-GGUF one is refused); a name that tries to climb out of the
    // store is refused by the name grammar before any path is built.
    auto r2 = run(home, "run /etc/passwd 'hi'");
    EXPECT_EQ(r2.rc, 1);
    EXPECT_NE(r2.err.find("gguf"), std::string::npos) << r2.err;
    auto r2b = run(home, "run 'library/../../secret' 'hi'");
    EXPECT_NE(r2b.rc, 0);
    EXPECT_NE(r2b.err.find("name"), std::string::npos) << r2b.err;
    EXPECT_FALSE(fs::exists(home.dir / "secret"));
    auto r3 = run(home, "run smollm2 --temp -1 'hi'");
    EXPECT_EQ(r3.rc, 2);
    EXPECT_NE(r3.err.find("temperature"), std::string::npos) << r3.err;
    auto r4 = run(home, "run /nonexistent/model.gguf 'hi'");
    EXPECT_EQ(r4.rc, 1);
    EXPECT_NE(r4.err.find("does not exist"), std::string::npos) << r4.err;
}

// A chat template past its rendering budget ends `hearth run` before the weights load, with a message
// that says so, in well under the 5 s allowed here (the budget is 1 s); the interactive chat never starts.
TEST(RunCommand, HostileTemplateFailsFast) {
    expect_default_model();
    TempHome home;
    const fs::path tmpl = home.dir / "expo.jinja";
    std::ofstream(tmpl) << "{% macro f(n) %}{% if n < 40 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}";
    for (const std::string prompt : {"'hi'", ""}) { // one-shot, and a chat read from a pipe
        const auto t0 = std::chrono::steady_clock::now();
        auto r = run(home, "run smollm2 --template '" + tmpl.string() + "' " + prompt, "hello\n");
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_EQ(r.rc, 1) << r.err;
        EXPECT_NE(r.err.find("hearth: error: template exceeds the rendering budget (5000000 steps / 1 s): "),
                  std::string::npos)
            << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
        EXPECT_LT(took, 5.0);
    }
}

TEST(RunCommand, ModelfileParametersSystemAndTemplateApply) {
    expect_default_model();
    TempHome home;
    // An Ollama Modelfile as found in the wild: Ollama-only parameters (ignored with a warning), seed -1
    // (random), a Go template, a system prompt, an inherited model.
    std::ofstream(home.dir / "Modelfile") << "FROM smollm2\n"
                                             "PARAMETER num_keep 24\n"
                                             "PARAMETER seed -1\n"
                                             "PARAMETER temperature 0\n"
                                             "PARAMETER num_predict 5\n"
                                             "SYSTEM \"\"\"You are a pirate.\"\"\"\n"
                                             "TEMPLATE \"\"\"{{- if .System }}<|im_start|>system\n{{ .System }}"
                                             "<|im_end|>\n{{ end }}{{ range .Messages }}<|im_start|>{{ .Role }}\n"
                                             "{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n\"\"\"\n";
    auto base = run(home, "run smollm2 --temp 0 -n 5 --verbose 'Hello'");
    ASSERT_EQ(base.rc, 0) << base.err;
    auto created = run(home, "create pirate -f '" + (home.dir / "Modelfile").string() + "'");
    ASSERT_EQ(created.rc, 0) << created.err;
    EXPECT_NE(created.err.find("num_keep is an Ollama parameter hearth does not use"), std::string::npos)
        << created.err;
    auto r = run(home, "run pirate --verbose 'Hello'");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.err.find("generation:           5 tokens"), std::string::npos) << r.err; // num_predict 5
    // The system prompt is in the prompt: "You are a pirate." instead of SmolLM2's default one.
    auto prompt_tokens = [](const std::string& err) {
        const size_t at = err.find("prompt:");
        return at == std::string::npos ? -1 : std::atoi(err.c_str() + at + 7);
    };
    EXPECT_GT(prompt_tokens(r.err), 0);
    EXPECT_NE(prompt_tokens(r.err), prompt_tokens(base.err));
    // Flags beat the model's PARAMETERs.
    auto r2 = run(home, "run pirate -n 3 --verbose 'Hello'");
    ASSERT_EQ(r2.rc, 0) << r2.err;
    EXPECT_NE(r2.err.find("generation:           3 tokens"), std::string::npos) << r2.err;
    // A value out of range is refused by create with the line number, never stored to fail at run time.
    std::ofstream(home.dir / "Bad") << "FROM smollm2\nPARAMETER top_p 7\n";
    auto bad = run(home, "create bad -f '" + (home.dir / "Bad").string() + "'");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.err.find(":2: PARAMETER top_p: 7 is outside [1e-06, 1]"), std::string::npos) << bad.err;
}

// ---- the interactive chat, through a pseudo-terminal -------------------------------------------

class Terminal {
public:
    Terminal(const TempHome& home, const std::vector<std::string>& args) {
        struct winsize ws {};
        ws.ws_row = 50;
        ws.ws_col = 200;
        pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
        if (pid_ == 0) {
            setenv("HEARTH_HOME", home.dir.c_str(), 1);
            setenv("TERM", "dumb", 1);
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(HEARTH_BIN));
            for (const auto& a : args)
                argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            execv(HEARTH_BIN, argv.data());
            _exit(127);
        }
    }
    ~Terminal() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) close(fd_);
    }
    bool ok() const { return pid_ > 0 && fd_ >= 0; }
    void type(const std::string& keys) { ASSERT_EQ(write(fd_, keys.data(), keys.size()), ssize_t(keys.size())); }
    // Reads until `needle` appears after offset `from`; returns its position or npos on timeout/exit.
    size_t wait_for(const std::string& needle, size_t from, double timeout_s = 120) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        for (;;) {
            if (size_t at = out_.find(needle, from); at != std::string::npos) return at;
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::string::npos;
            struct pollfd p {
                fd_, POLLIN, 0
            };
            if (poll(&p, 1, int(std::min<long>(left.count(), 1000))) <= 0) continue;
            char buf[4096];
            const ssize_t n = read(fd_, buf, sizeof buf);
            if (n <= 0) return out_.find(needle, from); // the program ended
            out_.append(buf, size_t(n));
        }
    }
    int wait_exit(double timeout_s = 30) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        while (std::chrono::steady_clock::now() < end) {
            wait_for("\x01never\x01", out_.size(), 0.2); // drain output so the child never blocks on it
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
        }
        return -1;
    }
    bool alive() { return waitpid(pid_, nullptr, WNOHANG) == 0; }
    // Waits until the chat shows its prompt (the output ends in ">>> " and nothing follows for a moment), so
    // typed text reaches the line editor rather than the terminal's own echo.
    bool wait_prompt(double timeout_s = 120) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        while (std::chrono::steady_clock::now() < end) {
            const size_t before = out_.size();
            wait_for("\x01never\x01", out_.size(), 0.1);
            if (out_.size() == before && out_.ends_with(">>> ")) return true;
            if (!alive()) return false;
        }
        return false;
    }
    // At the prompt, types `line` and Enter; returns the position just after the line editor's echo of it.
    size_t say(const std::string& line) {
        if (!wait_prompt()) return std::string::npos;
        const size_t from = out_.size();
        type(line + "\r");
        const size_t at = wait_for(line + "\r\n", from);
        return at == std::string::npos ? at : at + line.size() + 2;
    }
    const std::string& out() const { return out_; }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    bool exited_ = false;
    std::string out_;
};

TEST(RunCommand, InteractiveChatThroughATerminal) {
    expect_default_model();
    TempHome home;
    Terminal t(home, {"run", "smollm2", "--temp", "0", "-n", "48"});
    ASSERT_TRUE(t.ok());
    constexpr size_t npos = std::string::npos;

    // A question, an answer, and the prompt again.
    size_t at = t.say("What is the capital of France?");
    ASSERT_NE(at, npos) << t.out();
    ASSERT_TRUE(t.wait_prompt()) << t.out();
    const std::string answer = t.out().substr(at, t.out().size() - at - 4);
    EXPECT_NE(answer.find_first_not_of(" \r\n"), npos) << "empty answer: " << t.out();

    // /set parameter and /show.
    at = t.say("/set parameter temperature 0.2");
    ASSERT_NE(t.wait_for("Set parameter 'temperature' to '0.2'", at), npos) << t.out();
    at = t.say("/set parameter temperature hot");
    ASSERT_NE(t.wait_for("is not a number", at), npos) << t.out();
    at = t.say("/show info");
    ASSERT_NE(t.wait_for("architecture   llama", at), npos) << t.out();
    at = t.say("/show parameters");
    ASSERT_NE(t.wait_for("temperature       0.2", at), npos) << t.out();

    // A multi-line message.
    ASSERT_TRUE(t.wait_prompt()) << t.out();
    t.type("\"\"\"\rFirst line.\rSecond line.\"\"\"\r");
    ASSERT_NE(t.wait_for("Second line.", at), npos) << t.out();
    at = t.say("/show context");
    ASSERT_NE(t.wait_for("(4 messages)", at), npos) << t.out(); // two questions and their answers

    // Ctrl-C in the middle of a long answer stops the answer, not the program. Greedy (the temperature
    // was 0.2 above): this story runs past 600 tokens, so it is still being written when Ctrl-C comes.
    at = t.say("/set parameter temperature 0");
    ASSERT_NE(t.wait_for("Set parameter 'temperature' to '0'", at), npos) << t.out();
    at = t.say("/set parameter num_predict 4000");
    ASSERT_NE(t.wait_for("Set parameter 'num_predict'", at), npos) << t.out();
    at = t.say("/clear");
    ASSERT_NE(t.wait_for("Cleared", at), npos) << t.out();
    at = t.say("/set verbose");
    ASSERT_NE(t.wait_for("Set 'verbose' mode.", at), npos) << t.out();
    const size_t answer_start =
        t.say("Write a very long story about a dragon who learns to cook. Make it at least ten paragraphs.");
    ASSERT_NE(answer_start, npos) << t.out();
    while (t.out().size() < answer_start + 60 && t.alive())
        t.wait_for("\x01never\x01", 0, 0.2);
    ASSERT_GE(t.out().size(), answer_start + 60) << "no answer streamed: " << t.out();
    t.type("\x03");
    const size_t stopped = t.wait_for("stopped by:           ", answer_start, 30);
    ASSERT_NE(stopped, npos) << "no end of the answer after Ctrl-C: " << t.out();
    ASSERT_TRUE(t.wait_prompt(30)) << "no prompt after Ctrl-C: " << t.out();
    EXPECT_TRUE(t.alive());
    // The answer was cut by the interrupt, not ended by the model.
    EXPECT_EQ(t.out().compare(stopped + 22, 9, "cancelled"), 0) << t.out().substr(stopped);
    at = t.say("/show context");
    ASSERT_NE(t.wait_for("tokens in use", at), npos) << t.out();

    // /set system starts a new conversation with that system prompt; /set overflow.
    at = t.say("/set system You answer in one word.");
    ASSERT_NE(t.wait_for("Set system message.", at), npos) << t.out();
    at = t.say("/show system");
    ASSERT_NE(t.wait_for("You answer in one word.\r\n", at), npos) << t.out();
    at = t.say("/show context");
    ASSERT_NE(t.wait_for("(1 messages)", at), npos) << t.out();
    at = t.say("/set overflow drop-oldest");
    ASSERT_NE(t.wait_for("Set overflow to 'drop-oldest'", at), npos) << t.out();

    ASSERT_NE(t.say("/bye"), npos) << t.out();
    EXPECT_EQ(t.wait_exit(), 0) << t.out();
    EXPECT_TRUE(fs::exists(home.dir / "history"));
}

TEST(RunCommand, CtrlCAtThePromptDoesNotQuitAndCtrlDDoes) {
    expect_default_model();
    TempHome home;
    Terminal t(home, {"run", "smollm2"});
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t.wait_prompt()) << t.out();
    size_t at = t.out().size();
    t.type("\x03");
    at = t.wait_for("Use Ctrl + d or /bye to exit.", at, 30);
    ASSERT_NE(at, std::string::npos) << t.out();
    ASSERT_TRUE(t.wait_prompt()) << t.out();
    EXPECT_TRUE(t.alive());
    t.type("\x04"); // Ctrl-D on an empty line leaves
    EXPECT_EQ(t.wait_exit(), 0) << t.out();
}

} // namespace
