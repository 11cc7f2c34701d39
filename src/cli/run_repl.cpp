#include "cli/run_repl.h"

#include "store/store.h"

#include <cstdio>
#include <cstdlib>
#include <editline/readline.h>
#include <optional>
#include <sstream>

namespace hearth::cli {
namespace {

std::string trim(const std::string& s) {
    const size_t a = s.find_first_not_of(" \t\r\n");
    if (a == std::string::npos) return "";
    const size_t b = s.find_last_not_of(" \t\r\n");
    return s.substr(a, b - a + 1);
}

std::string unquote(std::string s) {
    s = trim(s);
    if (s.size() >= 6 && s.starts_with("\"\"\"") && s.ends_with("\"\"\"")) return s.substr(3, s.size() - 6);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
    return s;
}

void print_stats(const TurnStats& st, double load_s) {
    if (load_s > 0) std::fprintf(stderr, "load time:            %.3f s\n", load_s);
    std::fprintf(stderr, "prompt:               %d tokens (%d new) in %.3f s (%.2f tokens/s)\n", st.n_prompt, st.n_fed,
                 st.prompt_s, st.prompt_s > 0 ? st.n_fed / st.prompt_s : 0.0);
    std::fprintf(stderr, "time to first token:  %.3f s\n", st.first_token_s);
    std::fprintf(stderr, "generation:           %d tokens in %.3f s (%.2f tokens/s)\n", st.n_generated, st.generate_s,
                 st.n_generated > 1 && st.generate_s > 0 ? (st.n_generated - 1) / st.generate_s : 0.0);
    std::fprintf(stderr, "stopped by:           %s\n", finish_description(st.end));
}

// One turn; the answer goes to stdout as it comes. Returns the stats, or prints the error.
std::optional<TurnStats> turn(ReplContext& ctx, const std::string& user, bool& first_turn) {
    auto sampler = Sampler::create(ctx.params.sampling, ctx.tok.n_vocab());
    if (!sampler) {
        std::fprintf(stderr, "error: %s\n", sampler.message().c_str());
        return std::nullopt;
    }
    ctx.chat.options().n_predict = ctx.params.num_predict;
    ctx.chat.options().stop = ctx.params.stop;
    ctx.interrupted->store(false);
    bool wrote = false, ends_nl = false;
    auto st = ctx.chat.respond(
        user, *sampler,
        [&](const std::string& text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            wrote = true;
            ends_nl = text.back() == '\n';
            return true;
        },
        ctx.interrupted);
    if (!wrote || !ends_nl) std::printf("\n");
    std::fflush(stdout);
    if (!st) {
        std::fprintf(stderr, "error: %s\n", st.message().c_str());
        return std::nullopt;
    }
    if (st->n_dropped > 0)
        std::fprintf(stderr, "[dropped the %d oldest messages to fit the context of %d tokens]\n", st->n_dropped,
                     ctx.session.n_ctx());
    if (st->end == Finish::ContextFull)
        std::fprintf(stderr,
                     "[the context of %d tokens is full: the answer was cut; /clear or use a larger --ctx-size]\n",
                     ctx.session.n_ctx());
    if (ctx.verbose) print_stats(*st, first_turn ? ctx.load_s : 0);
    first_turn = false;
    return *st;
}

void show_info(const ReplContext& ctx) {
    const ModelInfo& info = ctx.engine.info();
    std::printf("  model          %s\n", ctx.src.display.c_str());
    std::printf("  file           %s\n", ctx.src.path.c_str());
    std::printf("  architecture   %s\n", info.arch.c_str());
    std::printf("  parameters     %.1fM\n", double(info.n_params) / 1e6);
    std::printf("  weights        %.1f MB\n", double(info.weight_bytes) / 1e6);
    std::printf("  context        %d tokens (trained on %d)\n", ctx.session.n_ctx(), info.n_ctx_train);
    std::printf("  layers         %d, embedding %d, vocabulary %d\n", info.n_layer, info.n_embd, info.n_vocab);
    std::printf("  kernels        %s, %d threads\n", ctx.engine.kernel_isa().c_str(), ctx.engine.n_threads());
}

const char* kHelp = "Available commands:\n"
                    "  /set parameter NAME VALUE   set a parameter (temperature, top_k, top_p, min_p, seed, stop,\n"
                    "                              num_predict, repeat_penalty, ...)\n"
                    "  /set system TEXT            set the system prompt (starts a new conversation)\n"
                    "  /set overflow error|drop-oldest   what to do when the conversation outgrows the context\n"
                    "  /set verbose | /set quiet   show or hide timings after each answer\n"
                    "  /show info|parameters|system|template|context\n"
                    "  /clear                      forget the conversation (the system prompt stays)\n"
                    "  /bye                        leave\n"
                    "Start and end a multi-line message with \"\"\". Ctrl-C stops an answer; Ctrl-D leaves.\n";

// Handles a /command; returns false to leave.
bool command(ReplContext& ctx, const std::string& line) {
    std::istringstream in(line);
    std::string cmd, what;
    in >> cmd >> what;
    std::string rest;
    std::getline(in, rest);
    rest = trim(rest);
    if (cmd == "/bye" || cmd == "/exit" || cmd == "/quit") return false;
    if (cmd == "/?" || cmd == "/help") {
        std::printf("%s", kHelp);
    } else if (cmd == "/clear") {
        ctx.chat.clear();
        std::printf("Cleared the conversation.\n");
    } else if (cmd == "/set" && what == "parameter") {
        std::istringstream r(rest);
        std::string name, value;
        r >> name;
        std::getline(r, value);
        value = unquote(value);
        if (name.empty() || value.empty()) {
            std::printf("Usage: /set parameter NAME VALUE\n");
        } else if (Status s = set_parameter(ctx.params, name, value); !s) {
            std::printf("error: %s\n", s.message().c_str());
        } else {
            std::printf("Set parameter '%s' to '%s'\n", name.c_str(), value.c_str());
            if (name == "num_ctx" || name == "num_thread")
                std::printf("(%s applies when a model is loaded: start hearth run again with %s)\n", name.c_str(),
                            name == "num_ctx" ? "--ctx-size" : "--threads");
        }
    } else if (cmd == "/set" && what == "system") {
        ctx.chat.set_system(unquote(rest));
        ctx.chat.clear();
        std::printf("Set system message.\n");
    } else if (cmd == "/set" && what == "overflow" && (rest == "error" || rest == "drop-oldest")) {
        ctx.chat.options().overflow = rest == "error" ? Overflow::Error : Overflow::DropOldest;
        std::printf("Set overflow to '%s'\n", rest.c_str());
    } else if (cmd == "/set" && (what == "verbose" || what == "quiet")) {
        ctx.verbose = what == "verbose";
        std::printf("Set '%s' mode.\n", what.c_str());
    } else if (cmd == "/show" && what == "info") {
        show_info(ctx);
    } else if (cmd == "/show" && what == "parameters") {
        std::printf("%s", describe_parameters(ctx.params).c_str());
    } else if (cmd == "/show" && what == "system") {
        const auto& m = ctx.chat.messages();
        std::printf("%s\n",
                    !m.empty() && m.front().role == "system" ? m.front().content.c_str() : "(no system prompt)");
    } else if (cmd == "/show" && what == "template") {
        // The format in use, whatever its origin.
        std::printf("%s\n", ctx.chat.format().source.c_str());
    } else if (cmd == "/show" && what == "context") {
        std::printf("%d of %d tokens in use (%zu messages)\n", ctx.session.n_past(), ctx.session.n_ctx(),
                    ctx.chat.messages().size());
    } else {
        std::printf("Unknown command '%s'. Type /? for help\n", line.c_str());
    }
    return true;
}

std::string history_path() {
    return (store::default_home() / "history").string();
}

} // namespace

int answer_once(ReplContext& ctx, const std::string& prompt) {
    bool first = true;
    auto st = turn(ctx, prompt, first);
    if (!st) return 1;
    return st->end == Finish::Cancelled ? 130 : 0;
}

int interactive(ReplContext& ctx) {
    rl_readline_name = "hearth";
    const std::string hist = history_path();
    using_history();
    stifle_history(1000);
    read_history(hist.c_str());
    std::printf("Chatting with %s (%s, context %d tokens). Type /? for help, /bye to leave.\n", ctx.src.display.c_str(),
                ctx.engine.info().arch.c_str(), ctx.session.n_ctx());
    bool first = true;
    for (;;) {
        ctx.interrupted->store(false);
        char* raw = readline(">>> ");
        if (!raw) {
            if (ctx.interrupted->exchange(false)) { // Ctrl-C at the prompt: a fresh line, not the end
                std::printf("\nUse Ctrl + d or /bye to exit.\n");
                continue;
            }
            std::printf("\n");
            break;
        }
        std::string line = raw;
        std::free(raw);
        if (trim(line).starts_with("\"\"\"")) { // multi-line message, up to a line ending in """
            std::string text = trim(line).substr(3);
            bool closed = text.ends_with("\"\"\"") && !text.empty();
            if (closed) text.resize(text.size() - 3);
            while (!closed) {
                char* more = readline("... ");
                if (!more) break;
                std::string m = more;
                std::free(more);
                if (trim(m).ends_with("\"\"\"")) {
                    m = m.substr(0, m.rfind("\"\"\""));
                    closed = true;
                }
                text += (text.empty() ? "" : "\n") + m;
            }
            if (!closed) continue; // Ctrl-C or Ctrl-D inside: drop it
            line = text;
            add_history(("\"\"\"" + text + "\"\"\"").c_str());
        } else if (!trim(line).empty()) {
            add_history(line.c_str());
        }
        if (trim(line).empty()) continue;
        if (trim(line).starts_with("/")) {
            if (!command(ctx, trim(line))) break;
            continue;
        }
        turn(ctx, line, first);
    }
    write_history(hist.c_str());
    return 0;
}

} // namespace hearth::cli
