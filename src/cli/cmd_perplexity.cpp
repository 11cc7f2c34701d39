// `hearth perplexity`: a model's perplexity over a text, and the KL divergence of its next-token distributions from
// a reference model's (quality/perplexity.h has the method: llama.cpp's, so the figures compare with
// `llama-perplexity`'s).
//
//   hearth perplexity -m model.gguf -f text.txt [-c 512] [--chunks N]            PPL
//   hearth perplexity -m f16.gguf -f text.txt --kl-divergence-base base.kld      PPL, and the reference rows saved
//   hearth perplexity -m q4.gguf --kl-divergence-base base.kld --kl-divergence   KLD and friends against them
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "hearth/runtime.h"
#include "quality/perplexity.h"
#include "tokenizer/tokenizer.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hearth::cli {
namespace {

int fail(const std::string& msg, int rc = 1) {
    std::fprintf(stderr, "hearth: error: %s\n", msg.c_str());
    return rc;
}

struct Opts {
    std::string model, text_file, base_file;
    int32_t n_ctx = 512, n_chunks = -1, n_batch = 512, top_k = 128;
    int threads = 0;
    std::string device;
    int32_t gpu_layers = -1;
    bool kld = false, json = false;
    bool ctx_given = false; // -c on the command line (comparing: it must match the base file's)
};

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return error("cannot read " + path);
    return ss.str();
}

void print_kld(const quality::KldStats::Summary& s) {
    std::printf("====== Perplexity statistics ======\n");
    std::printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", s.ppl, s.ppl_se);
    std::printf("Mean PPL(base)                : %10.6f ± %10.6f\n", s.ppl_base, s.ppl_base_se);
    std::printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100 * s.cor);
    std::printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", s.ln_ratio, s.ln_ratio_se);
    std::printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", s.ppl_ratio, s.ppl_ratio_se);
    std::printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n\n", s.ppl_diff, s.ppl_diff_se);
    std::printf("====== KL divergence statistics ======\n");
    std::printf("Mean    KLD: %10.6f ± %10.6f\n", s.kld, s.kld_se);
    std::printf("Maximum KLD: %10.6f\n99.9%%   KLD: %10.6f\n99.0%%   KLD: %10.6f\n95.0%%   KLD: %10.6f\n", s.kld_max,
                s.kld_999, s.kld_99, s.kld_95);
    std::printf("90.0%%   KLD: %10.6f\nMedian  KLD: %10.6f\n10.0%%   KLD: %10.6f\n 5.0%%   KLD: %10.6f\n", s.kld_90,
                s.kld_median, s.kld_10, s.kld_5);
    std::printf(" 1.0%%   KLD: %10.6f\nMinimum KLD: %10.6f\n\n", s.kld_1, s.kld_min);
    std::printf("====== Token probability statistics ======\n");
    std::printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100 * s.dp_mean, 100 * s.dp_mean_se);
    std::printf("Maximum Δp: %6.3f%%\n99.0%%   Δp: %6.3f%%\n95.0%%   Δp: %6.3f%%\nMedian  Δp: %6.3f%%\n",
                100 * s.dp_max, 100 * s.dp_99, 100 * s.dp_95, 100 * s.dp_median);
    std::printf(" 5.0%%   Δp: %6.3f%%\n 1.0%%   Δp: %6.3f%%\nMinimum Δp: %6.3f%%\n", 100 * s.dp_5, 100 * s.dp_1,
                100 * s.dp_min);
    std::printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100 * s.rms_dp, 100 * s.rms_dp_se);
    std::printf("Same top p: %6.3f ± %5.3f %%\n", 100 * s.same_top, 100 * s.same_top_se);
}

nlohmann::json kld_json(const quality::KldStats::Summary& s) {
    return {{"count", s.count},
            {"ppl", s.ppl},
            {"ppl_se", s.ppl_se},
            {"ppl_base", s.ppl_base},
            {"ppl_base_se", s.ppl_base_se},
            {"ln_ppl_ratio", s.ln_ratio},
            {"ln_ppl_ratio_se", s.ln_ratio_se},
            {"ppl_ratio", s.ppl_ratio},
            {"ppl_ratio_se", s.ppl_ratio_se},
            {"ppl_diff", s.ppl_diff},
            {"ppl_diff_se", s.ppl_diff_se},
            {"ppl_correlation", s.cor},
            {"kld", s.kld},
            {"kld_se", s.kld_se},
            {"kld_max", s.kld_max},
            {"kld_99_9", s.kld_999},
            {"kld_99", s.kld_99},
            {"kld_95", s.kld_95},
            {"kld_90", s.kld_90},
            {"kld_median", s.kld_median},
            {"kld_10", s.kld_10},
            {"kld_5", s.kld_5},
            {"kld_1", s.kld_1},
            {"kld_min", s.kld_min},
            {"dp_mean", s.dp_mean},
            {"dp_mean_se", s.dp_mean_se},
            {"dp_max", s.dp_max},
            {"dp_99", s.dp_99},
            {"dp_95", s.dp_95},
            {"dp_median", s.dp_median},
            {"dp_5", s.dp_5},
            {"dp_1", s.dp_1},
            {"dp_min", s.dp_min},
            {"rms_dp", s.rms_dp},
            {"rms_dp_se", s.rms_dp_se},
            {"same_top", s.same_top},
            {"same_top_se", s.same_top_se}};
}

int run(const Opts& o) {
    const bool save_base = !o.base_file.empty() && !o.kld;
    if (o.kld && o.base_file.empty())
        return fail("--kl-divergence needs --kl-divergence-base FILE (made by a first run)", 2);
    if (!o.kld && o.text_file.empty()) return fail("-f FILE (the text) is required", 2);

    // The tokens: from the text, or (comparing) from the base file, which also sets the chunking.
    auto file = gguf::File::open(o.model);
    if (!file) return fail(file.message());
    auto tok = load_tokenizer(*file);
    if (!tok) return fail(o.model + ": " + tok.message());
    std::unique_ptr<quality::KldBaseReader> base;
    std::vector<int32_t> tokens;
    quality::ChunkPlan plan;
    if (o.kld) {
        auto r = quality::KldBaseReader::open(o.base_file, uint32_t(o.top_k));
        if (!r) return fail(r.message());
        base = std::move(*r);
        const quality::KldHeader& h = base->header();
        if (h.n_vocab != uint32_t(tok->n_vocab()))
            return fail(o.base_file + " was made with a vocabulary of " + std::to_string(h.n_vocab) + " tokens, " +
                        o.model + " has " + std::to_string(tok->n_vocab()));
        if (o.ctx_given && uint32_t(o.n_ctx) != h.n_ctx)
            return fail("-c " + std::to_string(o.n_ctx) + " differs from the context of " + o.base_file + " (" +
                            std::to_string(h.n_ctx) + "); leave -c out when comparing",
                        2);
        tokens = base->tokens();
        plan = quality::ChunkPlan{int32_t(h.n_ctx), int32_t(h.n_chunks), int32_t(h.first)};
        if (o.n_chunks > 0 && o.n_chunks < plan.n_chunks) { // the base's first chunks
            plan.n_chunks = o.n_chunks;
            tokens.resize(size_t(plan.n_chunks) * size_t(plan.n_ctx));
        }
        if (!o.text_file.empty()) { // the text given too: it must tokenize to the base's tokens
            auto text = read_file(o.text_file);
            if (!text) return fail(text.message());
            const auto mine = tokenize(*tok, *text, true, false);
            if (mine.size() < tokens.size() || !std::equal(tokens.begin(), tokens.end(), mine.begin()))
                return fail(o.text_file + " does not tokenize to the tokens of " + o.base_file +
                            " (another text, or another tokenizer)");
        }
    } else {
        auto text = read_file(o.text_file);
        if (!text) return fail(text.message());
        if (tok->add_eos)
            return fail(o.model + ": the vocabulary appends EOS to every text; perplexity needs it not to");
        tokens = tokenize(*tok, *text, true, false);
        auto p = quality::plan_chunks(tokens.size(), o.n_ctx, o.n_chunks);
        if (!p) return fail(p.message(), 2);
        plan = *p;
        tokens.resize(size_t(plan.n_chunks) * size_t(plan.n_ctx));
    }
    const int32_t bos = tok->add_bos ? tok->bos : -1;

    auto engine = Runtime::load(o.model, RuntimeOptions{o.threads, true, o.device, o.gpu_layers});
    if (!engine) return fail(engine.message());
    const int32_t n_vocab = (*engine)->info().n_vocab;
    if (n_vocab != tok->n_vocab()) return fail(o.model + ": the output layer and the vocabulary differ in size");
    auto session = (*engine)->create_session(SessionOptions{plan.n_ctx, std::min(o.n_batch, plan.n_ctx)});
    if (!session) return fail(session.message());

    std::unique_ptr<quality::KldBaseWriter> writer;
    if (save_base) {
        const quality::KldHeader h{uint32_t(n_vocab), uint32_t(plan.n_ctx), uint32_t(plan.n_chunks),
                                   uint32_t(plan.first), uint32_t(o.top_k)};
        auto w = quality::KldBaseWriter::create(o.base_file, h, tokens);
        if (!w) return fail(w.message());
        writer = std::move(*w);
    }
    if (!o.json)
        std::fprintf(stderr, "perplexity: %zu tokens, %d chunks of %d, scoring %d tokens per chunk, %d threads\n",
                     tokens.size(), plan.n_chunks, plan.n_ctx, plan.scored(), (*engine)->n_threads());

    quality::PplStats ppl;
    quality::KldStats kld;
    quality::BaseRow base_row;
    const auto t0 = std::chrono::steady_clock::now();
    const Status st = quality::score_chunks(
        **session, tokens, plan, bos,
        [&](std::span<const float> l, int32_t next) -> Status {
            ppl.add(-quality::score_row(l, next).logprob);
            if (writer) HEARTH_TRY(writer->add(l, next));
            if (base) {
                HEARTH_TRY(base->next(&base_row));
                kld.add(l, next, base_row);
            }
            return Status::ok();
        },
        [&](int32_t i) {
            if (o.json) return;
            std::printf("[%d]%.4f,", i + 1, ppl.ppl());
            std::fflush(stdout);
        });
    if (!st) return fail(st.message());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (writer)
        if (Status st = writer->finish(); !st) return fail(st.message());
    if (o.json) {
        nlohmann::json j = {{"model", o.model},           {"n_ctx", plan.n_ctx}, {"chunks", plan.n_chunks},
                            {"tokens_scored", ppl.count}, {"ppl", ppl.ppl()},    {"ppl_se", ppl.ppl_se()},
                            {"seconds", seconds}};
        if (base) j["kl_divergence"] = kld_json(kld.summary());
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl.ppl(), ppl.ppl_se());
    std::fprintf(stderr, "perplexity: %.1f s, %.1f tokens/s\n", seconds,
                 double(plan.n_chunks) * plan.n_ctx / std::max(seconds, 1e-9));
    if (writer) std::fprintf(stderr, "perplexity: reference rows saved to %s\n", o.base_file.c_str());
    if (base) {
        std::printf("\n");
        print_kld(kld.summary());
    }
    return 0;
}

} // namespace

Runner add_perplexity_command(CLI::App& app) {
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "perplexity", "Perplexity over a text, and KL divergence from a reference model (llama.cpp's method)");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model")->required();
    cmd->add_option("-f,--file", o->text_file, "the text (UTF-8)");
    CLI::Option* ctx = cmd->add_option("-c,--ctx-size", o->n_ctx, "tokens per chunk; the second half of each is scored")
                           ->check(CLI::Range(16, 1 << 20));
    cmd->add_option("--chunks", o->n_chunks, "score at most this many chunks (default: all)")
        ->check(CLI::Range(1, 1 << 30));
    cmd->add_option("-b,--batch-size", o->n_batch, "tokens per forward pass")->check(CLI::Range(1, 1 << 20));
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
    add_device_options(cmd, &o->device, &o->gpu_layers);
    cmd->add_option("--kl-divergence-base", o->base_file,
                    "without --kl-divergence: save this model's scored rows here (the reference); with it: compare "
                    "against them (the tokens and chunking come from the file; -f optional)");
    cmd->add_flag("--kl-divergence", o->kld, "compare against --kl-divergence-base (KLD, ΔPPL, Δp, same top token)");
    cmd->add_option("--kld-top-k", o->top_k, "log-probabilities saved per scored token in the base file")
        ->check(CLI::Range(1, 4096));
    cmd->add_flag("--json", o->json, "one JSON object instead of text");
    return [cmd, o, ctx]() -> int {
        if (!cmd->parsed()) return -1;
        o->ctx_given = ctx->count() > 0;
        return run(*o);
    };
}

} // namespace hearth::cli
