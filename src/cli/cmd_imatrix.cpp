// `hearth imatrix -m MODEL -f TEXT -o FILE`: an importance matrix for `hearth quantize --imatrix` (quality/imatrix.h
// has the method: llama-imatrix's, and the file is its GGUF format, so either tool's files work in the other).
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "hearth/runtime.h"
#include "quality/imatrix.h"
#include "quality/perplexity.h"
#include "quantize/imatrix.h"
#include "tokenizer/tokenizer.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace hearth::cli {
namespace {

struct Opts {
    std::string model, text_file, out = "imatrix.gguf";
    int32_t n_ctx = 512, n_chunks = -1;
    int threads = 0;
    bool with_output = false, ppl = true;
};

int fail(const std::string& msg, int rc = 1) {
    std::fprintf(stderr, "hearth: error: %s\n", msg.c_str());
    return rc;
}

int run(const Opts& o) {
    std::ifstream in(o.text_file, std::ios::binary);
    if (!in) return fail("cannot open " + o.text_file);
    std::ostringstream text;
    text << in.rdbuf();
    auto file = gguf::File::open(o.model);
    if (!file) return fail(file.message());
    auto tok = load_tokenizer(*file);
    if (!tok) return fail(o.model + ": " + tok.message());
    std::vector<int32_t> tokens = tokenize(*tok, text.str(), true, false);
    auto plan = quality::plan_chunks(tokens.size(), o.n_ctx, o.n_chunks);
    if (!plan) return fail(o.text_file + ": " + plan.message(), 2);
    tokens.resize(size_t(plan->n_chunks) * size_t(plan->n_ctx));
    const int32_t bos = tok->add_bos ? tok->bos : -1;

    auto engine = Runtime::load(o.model, RuntimeOptions{o.threads});
    if (!engine) return fail(engine.message());
    // One pass per chunk: every matrix sees the whole chunk at once.
    auto session = (*engine)->create_session(SessionOptions{plan->n_ctx, plan->n_ctx});
    if (!session) return fail(session.message());
    std::fprintf(stderr, "imatrix: %zu tokens, %d chunks of %d, %d threads\n", tokens.size(), plan->n_chunks,
                 plan->n_ctx, (*engine)->n_threads());

    quality::ImatrixCollector collect(o.with_output);
    quality::PplStats ppl;
    // The output matrix sees the rows whose logits are computed: with --process-output every row (as llama-imatrix),
    // of which the perplexity still takes the second half of each chunk.
    quality::ChunkPlan run_plan = *plan;
    if (o.with_output) run_plan.first = 0;
    int64_t row = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const Status st = quality::score_chunks(
        **session, tokens, run_plan, bos,
        [&](std::span<const float> l, int32_t next) -> Status {
            const int64_t in_chunk = run_plan.first + row++ % run_plan.scored();
            if (o.ppl && in_chunk >= plan->first) ppl.add(-quality::score_row(l, next).logprob);
            return Status::ok();
        },
        [&](int32_t i) {
            if (o.ppl) std::printf("[%d]%.4f,", i + 1, ppl.ppl());
            std::fflush(stdout);
        },
        &collect.observer());
    if (!st) return fail(st.message());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.ppl) std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl.ppl(), ppl.ppl_se());
    const quantize::Imatrix m = collect.result({o.text_file}, uint32_t(plan->n_chunks), uint32_t(plan->n_ctx));
    if (Status w = quantize::write_imatrix(m, o.out); !w) return fail(w.message());
    std::fprintf(stderr, "imatrix: %zu entries from %d chunks written to %s in %.1f s\n", m.entries.size(),
                 plan->n_chunks, o.out.c_str(), seconds);
    return 0;
}

} // namespace

Runner add_imatrix_command(CLI::App& app) {
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "imatrix", "Importance matrix of a model over a text, for quantize --imatrix (llama-imatrix's GGUF format)");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model (full precision or Q8_0 is best)")->required();
    cmd->add_option("-f,--file", o->text_file, "calibration text (UTF-8)")->required();
    cmd->add_option("-o,--output", o->out, "the importance matrix to write")->capture_default_str();
    cmd->add_option("-c,--ctx-size", o->n_ctx, "tokens per chunk")
        ->check(CLI::Range(16, 1 << 20))
        ->capture_default_str();
    cmd->add_option("--chunks", o->n_chunks, "use at most this many chunks (default: all)")
        ->check(CLI::Range(1, 1 << 30));
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
    cmd->add_flag("--process-output", o->with_output, "also collect output.weight (llama-imatrix's flag)");
    cmd->add_flag("!--no-ppl", o->ppl, "do not print the perplexity as chunks finish");
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        return run(*o);
    };
}

} // namespace hearth::cli
