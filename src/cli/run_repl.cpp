#include "cli/run_repl.h"

#include "store/store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <editline/readline.h>
#include <iterator>
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

void print_stats(const engine::Completion& c, double load_s) {
    if (load_s > 0) std::fprintf(stderr, "load time:            %.3f s\n", load_s);
    const int32_t n_new = c.prompt_tokens - c.cached_tokens;
    std::fprintf(stderr, "prompt:               %d tokens (%d new) in %.3f s (%.2f tokens/s)\n", c.prompt_tokens, n_new,
                 c.prompt_s, c.prompt_s > 0 ? n_new / c.prompt_s : 0.0);
    // From the request to its first token, less the model's loading (reported on its own).
    std::fprintf(stderr, "time to first token:  %.3f s\n", std::max(0.0, c.first_token_s - c.load_s));
    std::fprintf(stderr, "generation:           %d tokens in %.3f s (%.2f tokens/s)\n", c.completion_tokens,
                 c.generate_s,
                 c.completion_tokens > 1 && c.generate_s > 0 ? (c.completion_tokens - 1) / c.generate_s : 0.0);
    std::fprintf(stderr, "stopped by:           %s\n", finish_description(c.finish));
}

engine::Request make_request(const ReplContext& ctx, std::vector<engine::Message> messages) {
    engine::Request r;
    r.model = ctx.model;
    r.messages = std::move(messages);
    r.system = ctx.system; // set even when empty: the conversation's system prompt, not the model's
    r.sampling = ctx.params.sampling;
    r.seed_set = true; // drawn once per run when not given
    r.max_tokens = ctx.params.num_predict;
    r.stop = ctx.params.stop;
    r.num_ctx = ctx.num_ctx;
    r.route = ctx.route;
    r.stream = true; // printed as it comes
    r.sampling_set.assign(std::begin(kSamplingParameterNames), std::end(kSamplingParameterNames));
    return r;
}

std::optional<engine::LoadedModel> loaded_model(const ReplContext& ctx) {
    for (auto& m : ctx.engine.loaded())
        if (m.name == ctx.model) return m;
    return std::nullopt;
}

// One turn; the answer goes to stdout as it comes. Returns the summary, or prints the error.
std::optional<engine::Completion> turn(ReplContext& ctx, const std::string& user) {
    std::vector<engine::Message> msgs = ctx.messages;
    msgs.push_back({"user", user});
    ctx.interrupted->store(false);
    bool wrote = false, ends_nl = false;
    auto on_event = [&](const engine::TokenEvent& ev) {
        if (ev.text.empty()) return true;
        std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
        std::fflush(stdout);
        wrote = true;
        ends_nl = ev.text.back() == '\n';
        return true;
    };
    int n_dropped = 0;
    std::variant<engine::Completion, Status> result;
    for (;;) {
        result = ctx.engine.generate(make_request(ctx, msgs), on_event, ctx.interrupted);
        const auto* f = std::get_if<Status>(&result);
        if (!f || f->code() != Code::ContextFull || ctx.overflow != Overflow::DropOldest || msgs.size() < 2) break;
        // Drop the oldest message (a user turn, and the answer that followed it) and try again.
        auto first = msgs.begin(), last = first + 1;
        if (first->role == "user" && last != msgs.end() - 1 && last->role == "assistant") ++last;
        n_dropped += int(last - first);
        msgs.erase(first, last);
    }
    if (!wrote || !ends_nl) std::printf("\n");
    std::fflush(stdout);
    if (const auto* f = std::get_if<Status>(&result)) {
        std::string hint;
        if (f->code() == Code::ContextFull)
            hint = msgs.size() < 2 ? " (the message alone does not fit: shorten it or use a larger --ctx-size)"
                   : ctx.overflow == Overflow::Error ? " (use /clear, a larger --ctx-size, or --overflow drop-oldest)"
                                                     : "";
        std::fprintf(stderr, "error: %s%s\n", f->message().c_str(), hint.c_str());
        return std::nullopt;
    }
    const auto& c = std::get<engine::Completion>(result);
    if (c.context_tokens > 0) ctx.n_ctx = c.context_tokens;
    ctx.n_in_use = c.prompt_tokens + c.completion_tokens;
    if (c.finish != Finish::Cancelled || c.completion_tokens > 0) { // cancelled before answering: nothing added
        ctx.messages = std::move(msgs);
        ctx.messages.push_back({"assistant", c.text});
    }
    if (n_dropped > 0)
        std::fprintf(stderr, "[dropped the %d oldest messages to fit the context of %d tokens]\n", n_dropped,
                     ctx.n_ctx);
    if (c.finish == Finish::ContextFull)
        std::fprintf(stderr,
                     "[the context of %d tokens is full: the answer was cut; /clear or use a larger --ctx-size]\n",
                     ctx.n_ctx);
    if (c.route)
        std::fprintf(stderr, "[%s%s%s: %s]\n", c.route->route == "cloud" ? "answered by " : "answered ",
                     c.route->route == "cloud" ? c.route->upstream.c_str() : "locally",
                     c.route->route == "cloud" ? " (cloud)" : "", c.route->reason.c_str());
    if (ctx.verbose) print_stats(c, ctx.pending_load_s + c.load_s);
    ctx.pending_load_s = 0;
    return c;
}

void show_info(const ReplContext& ctx) {
    std::printf("  model          %s\n", ctx.display.c_str());
    const auto m = loaded_model(ctx);
    if (!m) {
        std::printf("  (not loaded on this machine)\n");
        return;
    }
    const ModelInfo& info = m->info;
    std::printf("  file           %s\n", m->path.c_str());
    std::printf("  architecture   %s\n", info.arch.c_str());
    std::printf("  parameters     %.1fM\n", double(info.n_params) / 1e6);
    std::printf("  weights        %.1f MB\n", double(info.weight_bytes) / 1e6);
    std::printf("  context        %d tokens (trained on %d)\n", ctx.n_ctx, info.n_ctx_train);
    std::printf("  layers         %d, embedding %d, vocabulary %d\n", info.n_layer, info.n_embd, info.n_vocab);
    std::printf("  kernels        %s, %d threads\n", m->kernels.c_str(), m->n_threads);
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
        ctx.messages.clear();
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
        ctx.system = unquote(rest);
        ctx.messages.clear();
        std::printf("Set system message.\n");
    } else if (cmd == "/set" && what == "overflow" && (rest == "error" || rest == "drop-oldest")) {
        ctx.overflow = rest == "error" ? Overflow::Error : Overflow::DropOldest;
        std::printf("Set overflow to '%s'\n", rest.c_str());
    } else if (cmd == "/set" && (what == "verbose" || what == "quiet")) {
        ctx.verbose = what == "verbose";
        std::printf("Set '%s' mode.\n", what.c_str());
    } else if (cmd == "/show" && what == "info") {
        show_info(ctx);
    } else if (cmd == "/show" && what == "parameters") {
        std::printf("%s", describe_parameters(ctx.params).c_str());
    } else if (cmd == "/show" && what == "system") {
        std::printf("%s\n", !ctx.system.empty() ? ctx.system.c_str() : "(no system prompt)");
    } else if (cmd == "/show" && what == "template") {
        // The format in use, whatever its origin.
        std::printf("%s\n", ctx.template_text.c_str());
    } else if (cmd == "/show" && what == "context") {
        std::printf("%d of %d tokens in use (%zu messages)\n", ctx.n_in_use, ctx.n_ctx,
                    ctx.messages.size() + (ctx.system.empty() ? 0 : 1));
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
    auto c = turn(ctx, prompt);
    if (!c) return 1;
    return c->finish == Finish::Cancelled ? 130 : 0;
}

int interactive(ReplContext& ctx) {
    rl_readline_name = "hearth";
    const std::string hist = history_path();
    using_history();
    stifle_history(1000);
    read_history(hist.c_str());
    // Load the model now, not at the first question: a request that generates nothing. A load error ends the
    // chat; anything else (an outgrown context, say) is for the first turn to report.
    engine::Request warm = make_request(ctx, {{"user", ""}});
    warm.max_tokens = 0;
    warm.route = "local"; // a router must not send the warm-up anywhere
    auto loaded = ctx.engine.generate(
        warm, [](const engine::TokenEvent&) { return true; }, ctx.interrupted);
    if (const auto* f = std::get_if<Status>(&loaded)) {
        if (f->code() == Code::NotFound || f->code() == Code::Internal || f->code() == Code::TooLarge) {
            std::fprintf(stderr, "hearth: error: %s\n", f->message().c_str());
            return 1;
        }
    } else {
        const auto& c = std::get<engine::Completion>(loaded);
        ctx.n_ctx = c.context_tokens;
        ctx.pending_load_s = c.load_s;
    }
    const auto m = loaded_model(ctx);
    const std::string arch = m ? m->info.arch : "remote";
    std::printf("Chatting with %s (%s, context %d tokens). Type /? for help, /bye to leave.\n", ctx.display.c_str(),
                arch.c_str(), ctx.n_ctx);
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
        turn(ctx, line);
    }
    write_history(hist.c_str());
    return 0;
}

} // namespace hearth::cli
