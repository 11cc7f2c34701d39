// `hearth generate`: feed prompt token ids, sample n tokens, print their ids (through engine::LocalEngine).
// `hearth bench`: prompt-processing and generation tokens/s, like llama-bench.
#include "cli/cli_engine.h"
#include "cli/commands.h"
#include "hearth/runtime.h"
#include "sampling/sampling.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

Result<std::vector<int32_t>> parse_tokens(const std::string& s) {
    std::vector<int32_t> out;
    std::string tok;
    std::istringstream in(s);
    while (in >> tok) {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(tok.c_str(), &end, 10);
        if (*end != '\0' || errno != 0 || v < 0 || v > INT32_MAX)
            return error("--prompt-tokens: '" + tok + "' is not a token id");
        out.push_back(static_cast<int32_t>(v));
    }
    if (out.empty()) return error("--prompt-tokens: no token ids given");
    return out;
}

} // namespace

Runner add_generate_command(CLI::App& app) {
    struct Opts {
        std::string model, prompt_tokens;
        int n_predict = 64, threads = 0, ctx = 0;
        std::string device;
        int32_t gpu_layers = -1;
        float temp = 0.8f, top_p = 0.95f, min_p = 0.05f, repeat_penalty = 1.0f;
        int top_k = 40;
        uint64_t seed = 0;
        bool verbose = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("generate", "Generate tokens from prompt token ids (prints token ids)");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model")->required();
    cmd->add_option("--prompt-tokens", o->prompt_tokens, "prompt as space-separated token ids")->required();
    cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->check(CLI::Range(0, 1 << 20));
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
    add_device_options(cmd, &o->device, &o->gpu_layers);
    cmd->add_option("-c,--ctx-size", o->ctx, "context size (0 = model's, at most 4096)")->check(CLI::Range(0, 1 << 24));
    cmd->add_option("--temp", o->temp, "temperature (0 = greedy)");
    cmd->add_option("--top-k", o->top_k, "top-k (0 = off)");
    cmd->add_option("--top-p", o->top_p, "top-p (1 = off)");
    cmd->add_option("--min-p", o->min_p, "min-p (0 = off)");
    cmd->add_option("--repeat-penalty", o->repeat_penalty, "repetition penalty (1 = off)");
    cmd->add_option("--seed", o->seed, "sampling seed");
    cmd->add_flag("--verbose", o->verbose, "print load time and tokens/s to stderr");
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        auto prompt = parse_tokens(o->prompt_tokens);
        if (!prompt) {
            std::fprintf(stderr, "hearth: error: %s\n", prompt.message().c_str());
            return 2;
        }
        SamplingParams sp;
        sp.temperature = o->temp;
        sp.top_k = o->top_k;
        sp.top_p = o->top_p;
        sp.min_p = o->min_p;
        sp.repeat_penalty = o->repeat_penalty;
        sp.seed = o->seed;
        if (Status s = validate(sp, INT32_MAX); !s) {
            std::fprintf(stderr, "hearth: error: %s\n", s.message().c_str());
            return 2;
        }
        auto log = std::make_shared<EngineLog>();
        engine::ModelSpec spec;
        spec.name = spec.path = o->model;
        engine::LocalEngineOptions eo = cli_engine_options(o->threads, log);
        eo.device = o->device;
        eo.gpu_layers = o->gpu_layers;
        engine::LocalEngine local(resolver_for(std::move(spec)), eo);
        engine::Request r;
        r.model = o->model;
        r.prompt_tokens = std::move(*prompt);
        r.end_at_eog = false; // token ids in, token ids out: an end-of-text token is just another token
        r.sampling = sp;
        r.seed_set = true;
        r.max_tokens = o->n_predict;
        r.num_ctx = o->ctx;
        int printed = 0;
        auto result = local.generate(
            r,
            [&](const engine::TokenEvent& ev) {
                if (ev.token < 0) return true; // held-back text at the end: no token
                std::printf("%s%d", printed++ ? " " : "", ev.token);
                std::fflush(stdout);
                return true;
            },
            nullptr);
        std::printf("\n");
        if (auto* f = std::get_if<Status>(&result)) {
            std::fprintf(stderr, "hearth: error: %s\n", failure_text(*f, *log).c_str());
            return 1;
        }
        const auto& c = std::get<engine::Completion>(result);
        if (o->verbose) {
            for (const auto& m : local.loaded())
                std::fprintf(stderr, "model: %s (%s), kernels: %s, threads: %d\n", m.info.arch.c_str(),
                             m.info.name.c_str(), m.kernels.c_str(), m.n_threads);
            std::fprintf(stderr, "load: %.3f s\n", c.load_s);
            std::fprintf(stderr, "prompt: %d tokens in %.3f s (%.2f tokens/s)\n", c.prompt_tokens, c.prompt_s,
                         c.prompt_s > 0 ? c.prompt_tokens / c.prompt_s : 0.0);
            // From the end of loading, as before the engine: load time is reported on its own.
            std::fprintf(stderr, "time to first token: %.3f s\n", std::max(0.0, c.first_token_s - c.load_s));
            std::fprintf(stderr, "generation: %d tokens in %.3f s (%.2f tokens/s)\n", c.completion_tokens, c.generate_s,
                         c.completion_tokens > 1 && c.generate_s > 0 ? (c.completion_tokens - 1) / c.generate_s : 0.0);
        }
        return 0;
    };
}

Runner add_bench_command(CLI::App& app) {
    struct Opts {
        std::string model;
        int n_prompt = 128, n_gen = 64, threads = 0, reps = 3;
        std::string device;
        int32_t gpu_layers = -1;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("bench", "Measure prompt-processing and generation speed (tokens/s)");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model")->required();
    cmd->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens")->check(CLI::Range(1, 8192));
    cmd->add_option("-n,--n-gen", o->n_gen, "generated tokens")->check(CLI::Range(1, 8192));
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
    add_device_options(cmd, &o->device, &o->gpu_layers);
    cmd->add_option("-r,--repetitions", o->reps, "runs; the median is reported")->check(CLI::Range(1, 100));
    cmd->add_flag("--json", o->json, "JSON output");
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        auto engine = Runtime::load(o->model, RuntimeOptions{o->threads, true, o->device, o->gpu_layers});
        if (!engine) {
            std::fprintf(stderr, "hearth: error: %s\n", engine.message().c_str());
            return 1;
        }
        const int32_t n_vocab = (*engine)->info().n_vocab;
        auto session = (*engine)->create_session(SessionOptions{o->n_prompt + o->n_gen + 1, 512});
        if (!session) {
            std::fprintf(stderr, "hearth: error: %s\n", session.message().c_str());
            return 1;
        }
        Session& s = **session;
        // Deterministic pseudo-random prompt tokens (like llama-bench, content does not matter for speed).
        std::vector<int32_t> prompt(static_cast<size_t>(o->n_prompt));
        uint64_t x = 88172645463325252ull;
        for (auto& t : prompt) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            t = static_cast<int32_t>(x % uint64_t(n_vocab));
        }
        std::vector<double> pp, tg;
        for (int r = 0; r < o->reps + 1; ++r) { // first run warms caches and is discarded
            s.reset();
            auto t0 = Clock::now();
            if (Status st = s.feed(prompt); !st) {
                std::fprintf(stderr, "hearth: error: %s\n", st.message().c_str());
                return 1;
            }
            const double t_pp = seconds_since(t0);
            t0 = Clock::now();
            int32_t tok = prompt.back();
            for (int i = 0; i < o->n_gen; ++i) {
                const int32_t one[1] = {tok};
                if (Status st = s.feed(one); !st) {
                    std::fprintf(stderr, "hearth: error: %s\n", st.message().c_str());
                    return 1;
                }
                auto l = s.logits();
                tok = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
            }
            const double t_tg = seconds_since(t0);
            if (r > 0) {
                pp.push_back(o->n_prompt / t_pp);
                tg.push_back(o->n_gen / t_tg);
            }
        }
        auto median = [](std::vector<double> v) {
            std::sort(v.begin(), v.end());
            return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
        };
        const auto& info = (*engine)->info();
        if (o->json) {
            std::printf("{\"model\": \"%s\", \"arch\": \"%s\", \"threads\": %d, \"kernels\": \"%s\", \"n_prompt\": %d, "
                        "\"n_gen\": %d, \"pp_tokens_per_s\": %.3f, \"tg_tokens_per_s\": %.3f}\n",
                        info.name.c_str(), info.arch.c_str(), (*engine)->n_threads(), (*engine)->kernel_isa().c_str(),
                        o->n_prompt, o->n_gen, median(pp), median(tg));
        } else {
            std::printf("| model | arch | threads | kernels | test | tokens/s |\n|---|---|---|---|---|---|\n");
            std::printf("| %s | %s | %d | %s | pp%d | %.2f |\n", info.name.c_str(), info.arch.c_str(),
                        (*engine)->n_threads(), (*engine)->kernel_isa().c_str(), o->n_prompt, median(pp));
            std::printf("| %s | %s | %d | %s | tg%d | %.2f |\n", info.name.c_str(), info.arch.c_str(),
                        (*engine)->n_threads(), (*engine)->kernel_isa().c_str(), o->n_gen, median(tg));
        }
        return 0;
    };
}

} // namespace hearth::cli
