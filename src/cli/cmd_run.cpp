// `hearth run MODEL [PROMPT]`: with a prompt (or text on a non-terminal stdin), answer and exit; without,
// an interactive chat in the terminal (line editing and history, multi-line input with """, /commands,
// Ctrl-C stops the current answer).
#include "cli/cli_engine.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/run_params.h"
#include "cli/run_repl.h"
#include "gguf/gguf.h"
#include "router/router.h"
#include "runtime/chat.h"
#include "store/resolve.h"
#include "store/store.h"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>
#include <unistd.h>

namespace hearth::cli {
namespace {

// The only state a signal handler may touch: set by SIGINT, polled by the generation loop.
std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) {
    g_interrupted.store(true);
}

int fail(const std::string& msg, int code = 1) {
    std::fprintf(stderr, "hearth: error: %s\n", msg.c_str());
    return code;
}

struct Flags {
    std::string model, template_file, system, overflow = "error";
    std::string route, router_config; // the hybrid router (model "auto" or another alias in router.toml)
    std::string device;               // what computes (RuntimeOptions::device); empty: $HEARTH_DEVICE
    int32_t gpu_layers = -1;          // RuntimeOptions::gpu_layers
    std::vector<std::string> prompt, stop;
    bool verbose = false;
    // Command-line parameters (applied over the model's PARAMETERs); unset ones stay as they are.
    std::optional<float> temp, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
    std::optional<int> top_k, repeat_last_n, ctx, n_predict, threads;
    std::optional<uint64_t> seed;
};

Status apply_flags(RunParams& p, const Flags& f) {
    auto num = [](auto v) {
        std::ostringstream o;
        o.precision(9);
        o << v;
        return o.str();
    };
    auto set = [&](const char* name, const auto& opt) -> Status {
        return opt ? set_parameter(p, name, num(*opt)) : Status::ok();
    };
    HEARTH_TRY(set("temperature", f.temp));
    HEARTH_TRY(set("top_p", f.top_p));
    HEARTH_TRY(set("min_p", f.min_p));
    HEARTH_TRY(set("repeat_penalty", f.repeat_penalty));
    HEARTH_TRY(set("presence_penalty", f.presence_penalty));
    HEARTH_TRY(set("frequency_penalty", f.frequency_penalty));
    HEARTH_TRY(set("top_k", f.top_k));
    HEARTH_TRY(set("repeat_last_n", f.repeat_last_n));
    HEARTH_TRY(set("num_ctx", f.ctx));
    HEARTH_TRY(set("num_predict", f.n_predict));
    HEARTH_TRY(set("num_thread", f.threads));
    HEARTH_TRY(set("seed", f.seed));
    for (const auto& s : f.stop)
        HEARTH_TRY(set_parameter(p, "stop", s));
    return Status::ok();
}

std::string read_all(std::istream& in) {
    return std::string(std::istreambuf_iterator<char>(in), {});
}

int run(const Flags& f) {
    // A router alias ("auto") runs the router's local model behind the router (router/router.h). A broken
    // router.toml matters only when it is asked for.
    const std::string home = store::default_home().string();
    auto rcfg = router::load_config(f.router_config.empty() ? router::default_config_path(home) : f.router_config,
                                    !f.router_config.empty(), home);
    bool routed = rcfg && std::find(rcfg->aliases.begin(), rcfg->aliases.end(), f.model) != rcfg->aliases.end();
    if (!rcfg && (f.model == "auto" || !f.router_config.empty())) return fail(rcfg.message());
    if (routed && rcfg->local_model.empty())
        return fail("'" + f.model + "' is the router, and router.toml names no [router] local_model");
    const std::string model_arg = routed ? rcfg->local_model : f.model;

    ProgressPrinter progress(isatty(2));
    store::FindOptions fo;
    fo.note = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
    fo.on_progress = [&progress](const store::Progress& p) { progress.update(p); };
    auto src = store::find_model(model_arg, fo);
    progress.finish();
    if (!src) return fail(src.message());
    RunParams params;
    if (src->stored) {
        if (Status s = apply_parameters(params, src->stored->params); !s) return fail(s.message());
    }
    if (Status s = apply_flags(params, f); !s) return fail(s.message(), 2);
    if (!params.seed_set) params.sampling.seed = std::random_device{}();

    // The tokenizer and template here too (the engine loads its own), to check the template first.
    auto file = gguf::File::open(src->path);
    if (!file) return fail(file.message());
    auto tok = load_tokenizer(*file);
    if (!tok) return fail(tok.message());

    std::optional<std::string> model_tmpl, override_tmpl;
    std::string override_origin;
    if (file->find("tokenizer.chat_template")) {
        auto t = file->get_string("tokenizer.chat_template");
        if (!t) return fail(t.message());
        model_tmpl = *t;
    }
    if (!f.template_file.empty()) {
        std::ifstream in(f.template_file, std::ios::binary);
        if (!in) return fail("cannot read template file '" + f.template_file + "'", 2);
        override_tmpl = read_all(in);
        override_origin = f.template_file;
    } else if (src->stored && src->stored->template_text) {
        override_tmpl = src->stored->template_text;
        override_origin = "Modelfile TEMPLATE";
    }
    ChatFormat fmt = chat_format_for(*tok, model_tmpl, override_tmpl, override_origin);
    // Before the weights load: a template that runs past its budget (or a --template or TEMPLATE that
    // fails) ends the command at once.
    const bool own_template = !override_tmpl || override_tmpl->empty();
    if (Status s = validate_chat_template(fmt, /*budget_only=*/own_template); !s) return fail(s.message());

    RunSetup setup;
    setup.model = src->display;
    setup.display = src->display;
    setup.template_text = fmt.source;
    setup.system = f.system;
    if (setup.system.empty() && src->stored && src->stored->system) setup.system = *src->stored->system;
    if (src->stored)
        for (const auto& m : src->stored->messages)
            if (m.is_object() && m.value("role", "") != "" && m.contains("content") && m["content"].is_string())
                setup.history.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    setup.params = params;
    setup.overflow = f.overflow == "drop-oldest" ? Overflow::DropOldest : Overflow::Error;
    setup.verbose = f.verbose;
    setup.prompt = f.prompt;

    // The model's PARAMETERs are in `params` already; its template (or --template) goes in the spec.
    engine::ModelSpec spec;
    spec.name = src->display;
    spec.path = src->path;
    if (!own_template) spec.template_text = override_tmpl;
    auto log = std::make_shared<EngineLog>();
    engine::LocalEngineOptions eo = cli_engine_options(params.num_thread, log);
    eo.device = f.device;
    eo.gpu_layers = f.gpu_layers;
    engine::LocalEngine local(resolver_for(std::move(spec)), eo);
    setup.route = f.route;
    if (!routed) return run_with_engine(local, std::move(setup));
    router::RouterOptions ro;
    const char* offline = std::getenv("HEARTH_OFFLINE");
    ro.offline = offline && *offline && std::string(offline) != "0";
    ro.log = [](const std::string& m) { std::fprintf(stderr, "hearth: %s\n", m.c_str()); };
    auto router = router::Router::create(std::move(*rcfg), local, ro);
    if (!router) return fail(router.message());
    setup.model = f.model;
    setup.display = f.model + " (" + src->display + " here)";
    return run_with_engine(**router, std::move(setup));
}

} // namespace

int run_with_engine(engine::Engine& engine, RunSetup setup) {
    ReplContext ctx{engine,       setup.model,   setup.display, setup.template_text, setup.params, setup.params.num_ctx,
                    setup.system, setup.history, setup.route};
    ctx.overflow = setup.overflow;
    ctx.verbose = setup.verbose;
    ctx.interrupted = &g_interrupted;

    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: a blocked read returns, so the prompt can react to Ctrl-C
    struct sigaction old {};
    sigaction(SIGINT, &sa, &old);

    int rc;
    std::string prompt;
    for (size_t i = 0; i < setup.prompt.size(); ++i)
        prompt += (i ? " " : "") + setup.prompt[i];
    if (!prompt.empty() || !isatty(0)) {
        if (prompt.empty())
            prompt = read_all(std::cin);
        else if (!isatty(0)) {
            const std::string more = read_all(std::cin); // `cat file | hearth run m "summarize"` appends stdin
            if (!more.empty()) prompt += "\n\n" + more;
        }
        rc = answer_once(ctx, prompt);
    } else {
        rc = interactive(ctx);
    }
    sigaction(SIGINT, &old, nullptr);
    return rc;
}

Runner add_run_command(CLI::App& app) {
    auto f = std::make_shared<Flags>();
    CLI::App* cmd = app.add_subcommand("run", "Chat with a model, or answer one prompt and exit");
    cmd->add_option("model", f->model,
                    "a store name (smollm2, smollm2:135m-q4_1), a path to a .gguf, or a Hugging Face reference "
                    "(hf.co/ORG/REPO[:QUANT])")
        ->required();
    cmd->add_option("prompt", f->prompt, "the prompt; without one, an interactive chat starts");
    cmd->add_option("--system", f->system, "system prompt (overrides the model's SYSTEM)");
    cmd->add_option("--template", f->template_file, "a chat template file (Jinja2 or Ollama Go template)");
    cmd->add_option("-c,--ctx-size", f->ctx, "context size in tokens (0 = the model's, at most 4096)");
    cmd->add_option("-n,--num-predict", f->n_predict, "most tokens per answer (-1 = until the end of the turn)");
    cmd->add_option("-t,--threads", f->threads, "threads (0 = all cores)");
    add_device_options(cmd, &f->device, &f->gpu_layers);
    cmd->add_option("--temp,--temperature", f->temp, "temperature (0 = greedy)");
    cmd->add_option("--top-k", f->top_k, "top-k (0 = off)");
    cmd->add_option("--top-p", f->top_p, "top-p (1 = off)");
    cmd->add_option("--min-p", f->min_p, "min-p (0 = off)");
    cmd->add_option("--repeat-penalty", f->repeat_penalty, "repetition penalty (1 = off)");
    cmd->add_option("--repeat-last-n", f->repeat_last_n, "tokens the penalties look back on");
    cmd->add_option("--presence-penalty", f->presence_penalty, "presence penalty");
    cmd->add_option("--frequency-penalty", f->frequency_penalty, "frequency penalty");
    cmd->add_option("--seed", f->seed, "sampling seed (default: random)");
    cmd->add_option("--stop", f->stop, "stop string (repeatable)");
    cmd->add_option("--overflow", f->overflow,
                    "when the conversation outgrows the context: error (default) or drop-oldest")
        ->check(CLI::IsMember({"error", "drop-oldest"}));
    cmd->add_flag("--verbose", f->verbose, "print load time, prompt and generation tokens/s, time to first token");
    cmd->add_option("--route", f->route, "with the router (model auto): auto, local or cloud")
        ->check(CLI::IsMember({"auto", "local", "cloud"}));
    cmd->add_option("--router-config", f->router_config, "the router's TOML (default $HEARTH_HOME/router.toml)");
    return [cmd, f]() -> int {
        if (!cmd->parsed()) return -1;
        return run(*f);
    };
}

} // namespace hearth::cli
