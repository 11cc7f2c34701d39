// cli/cmd_router_eval.cpp: `hearth router eval` and `hearth router calibrate` (router/eval.h).
//
// Both let the local model answer the set's questions (greedy, top-K logprobs, --parallel requests batched by
// the engine), checkpointed one JSON line per question in --out/answers.jsonl so an interrupted run resumes;
// eval then prints the accuracy / cloud-share curves with PGR and APGR (learned routers cross-validated,
// never in-sample) and draws them as SVG; calibrate fits the decision model on every answered question and
// writes the [decision] table into the router config (other tables kept).
#include "cli/cli_engine.h"
#include "cli/commands.h"
#include "engine/local_engine.h"
#include "router/config.h"
#include "router/eval.h"
#include "store/store.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

namespace hearth::cli {
namespace {

struct AnswerArgs {
    std::string set, model, out;
    int limit = 0;
    int parallel = 4;
    int window = 64;      // the live router's default (DecisionModel::window)
    int keep_signals = 0; // 0: window
    int top_logprobs = 8;
    int max_tokens = 384;
    int ctx = 1024;
    int threads = 0;
    bool quiet = false;
};

void add_answer_options(CLI::App& cmd, AnswerArgs& a) {
    cmd.add_option("--set", a.set, "the question set (JSONL: id, question, answer, strong_correct)")->required();
    cmd.add_option("--model,-m", a.model, "the local model (store name or .gguf path)")->required();
    cmd.add_option("--limit", a.limit, "only the first N questions of the set")->check(CLI::NonNegativeNumber);
    cmd.add_option("--out", a.out, "checkpoint folder (default $HEARTH_HOME/router-eval/MODEL)");
    cmd.add_option("--parallel", a.parallel, "concurrent requests (batched by the engine)")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    cmd.add_option("--window", a.window, "generated tokens the cascade looks at")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    cmd.add_option("--keep-signals", a.keep_signals,
                   "per-token signals recorded per answer (default: --window); more lets later runs try longer "
                   "windows or the whole answer without answering again")
        ->check(CLI::Range(1, 4096));
    cmd.add_option("--top-logprobs", a.top_logprobs, "alternatives per token (K)")
        ->capture_default_str()
        ->check(CLI::Range(1, 20));
    cmd.add_option("--max-tokens", a.max_tokens, "answer length limit")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    cmd.add_option("--ctx", a.ctx, "context size")->capture_default_str()->check(CLI::Range(64, 32768));
    cmd.add_option("--threads,-t", a.threads, "compute threads (0: all cores)")->check(CLI::NonNegativeNumber);
    cmd.add_flag("--quiet,-q", a.quiet, "no progress lines");
}

std::string safe_name(const std::string& s) {
    std::string out;
    for (char c : std::filesystem::path(s).filename().string())
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
    return out.empty() ? "model" : out;
}

struct Answered {
    std::vector<router::Question> questions;
    std::vector<router::Record> records;
    std::string out_dir;
};

// Loads the set, resumes the checkpoint, answers what is missing; prints progress on stderr.
Result<Answered> answer_all(const AnswerArgs& a) {
    auto qs = router::read_question_set(a.set);
    if (!qs) return qs.status();
    if (a.limit > 0 && static_cast<size_t>(a.limit) < qs->size()) qs->resize(static_cast<size_t>(a.limit));
    auto src = store::find_model(a.model);
    if (!src) return src.status();
    Answered out;
    out.questions = std::move(*qs);
    out.out_dir = !a.out.empty() ? a.out : (store::default_home() / "router-eval" / safe_name(src->display)).string();
    std::error_code ec;
    std::filesystem::create_directories(out.out_dir, ec);
    if (ec) return error("cannot create " + out.out_dir + ": " + ec.message());
    const std::string path = (std::filesystem::path(out.out_dir) / "answers.jsonl").string();
    const std::string model_name = src->display;
    auto done = router::load_checkpoint(path, model_name);
    if (!done) return done.status();
    std::set<int64_t> ids;
    for (const auto& r : *done)
        ids.insert(r.id);
    std::vector<router::Question> todo;
    for (const auto& q : out.questions)
        if (!ids.contains(q.id)) todo.push_back(q);
    if (!a.quiet)
        std::fprintf(stderr, "hearth: %zu questions, %zu already answered in %s, %zu to go\n", out.questions.size(),
                     out.questions.size() - todo.size(), path.c_str(), todo.size());
    if (!todo.empty()) {
        const engine::ModelSpec spec = model_spec(*src);
        engine::LocalEngineOptions eo;
        eo.n_threads = a.threads;
        eo.max_active = a.parallel;
        eo.max_queue = a.parallel + 4;
        eo.max_default_ctx = a.ctx;
        engine::LocalEngine eng([spec](const std::string&) -> Result<engine::ModelSpec> { return spec; }, eo);
        router::AnswerOptions ao;
        ao.model = model_name;
        ao.window = std::max(a.window, a.keep_signals);
        ao.top_logprobs = a.top_logprobs;
        ao.max_tokens = a.max_tokens;
        ao.num_ctx = a.ctx;
        ao.parallel = a.parallel;
        size_t correct = 0;
        auto progress = [&](size_t n, size_t total, const router::Record& r) {
            correct += r.correct;
            if (!a.quiet)
                std::fprintf(stderr, "[%zu/%zu] id %lld: %s (%d tokens, %.1f s); this run %.1f%% correct\n", n, total,
                             static_cast<long long>(r.id), r.correct ? "correct" : "wrong", r.completion_tokens,
                             r.seconds, 100.0 * static_cast<double>(correct) / static_cast<double>(n));
        };
        if (Status st = router::answer_questions(eng, todo, ao, path, progress); !st) return st;
        done = router::load_checkpoint(path, model_name);
        if (!done) return done.status();
    }
    out.records = std::move(*done);
    return out;
}

int run_eval(const AnswerArgs& a, int folds, const std::string& svg) {
    auto ans = answer_all(a);
    if (!ans) {
        std::fprintf(stderr, "hearth: %s\n", ans.message().c_str());
        return 1;
    }
    auto rep = router::evaluate(ans->records, ans->questions, a.window, folds);
    if (!rep) {
        std::fprintf(stderr, "hearth: %s\n", rep.message().c_str());
        return 1;
    }
    const std::string text = router::format_report(*rep);
    std::fputs(text.c_str(), stdout);
    std::ofstream(std::filesystem::path(ans->out_dir) / "report.txt") << text;
    const std::string svg_path = !svg.empty() ? svg : (std::filesystem::path(ans->out_dir) / "curves.svg").string();
    std::ofstream f(svg_path);
    f << router::curves_svg(*rep);
    if (!f.flush()) {
        std::fprintf(stderr, "hearth: cannot write %s\n", svg_path.c_str());
        return 1;
    }
    std::printf("curves: %s\n", svg_path.c_str());
    return 0;
}

int run_calibrate(const AnswerArgs& a, double share, double pre_fraction, const std::string& config) {
    auto ans = answer_all(a);
    if (!ans) {
        std::fprintf(stderr, "hearth: %s\n", ans.message().c_str());
        return 1;
    }
    auto m = router::calibrate(ans->records, a.window, a.top_logprobs, share, pre_fraction);
    if (!m) {
        std::fprintf(stderr, "hearth: %s\n", m.message().c_str());
        return 1;
    }
    const std::string path = !config.empty() ? config : router::default_config_path(store::default_home().string());
    if (Status st = router::write_decision_file(path, *m); !st) {
        std::fprintf(stderr, "hearth: %s\n", st.message().c_str());
        return 1;
    }
    std::printf("calibrated on %zu questions for a cloud share of %.0f%% (%.0f%% of it before generation): "
                "pre threshold %.4f, cascade threshold %.4f at %d tokens\nwrote [decision] to %s\n",
                ans->records.size(), share * 100, pre_fraction * 100, m->pre.threshold, m->cascade.threshold, m->window,
                path.c_str());
    return 0;
}

} // namespace

void add_router_eval_commands(CLI::App& router, std::vector<Runner>& runners) {
    auto* eval = router.add_subcommand("eval", "measure routing on a labelled question set (accuracy vs cloud share)");
    auto ea = std::make_shared<AnswerArgs>();
    auto folds = std::make_shared<int>(5);
    auto svg = std::make_shared<std::string>();
    add_answer_options(*eval, *ea);
    eval->add_option("--folds", *folds, "cross-validation folds")->capture_default_str()->check(CLI::Range(2, 50));
    eval->add_option("--svg", *svg, "write the curves here (default --out/curves.svg)");
    runners.push_back([eval, ea, folds, svg]() -> int { return eval->parsed() ? run_eval(*ea, *folds, *svg) : -1; });

    auto* cal =
        router.add_subcommand("calibrate", "fit the routing decision on a labelled set and write it to the config");
    auto ca = std::make_shared<AnswerArgs>();
    auto share = std::make_shared<double>(0.3);
    auto pre_fraction = std::make_shared<double>(0.5);
    auto config = std::make_shared<std::string>();
    add_answer_options(*cal, *ca);
    cal->add_option("--target-share", *share, "share of requests to send to the cloud")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cal->add_option("--pre-fraction", *pre_fraction, "part of that share decided right after prefill")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cal->add_option("--config", *config, "router config to update (default $HEARTH_HOME/router.toml)");
    runners.push_back([cal, ca, share, pre_fraction, config]() -> int {
        return cal->parsed() ? run_calibrate(*ca, *share, *pre_fraction, *config) : -1;
    });
}

} // namespace hearth::cli
