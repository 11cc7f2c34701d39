// `hearth quantize IN OUT TYPE`: a smaller copy of a GGUF model (quantize/quantize.h has the rules).
#include "cli/commands.h"
#include "cli/progress.h"
#include "gguf/gguf.h"
#include "quantize/imatrix.h"
#include "quantize/quantize.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <unistd.h>

namespace hearth::cli {
namespace {

int fail(const std::string& msg, int rc = 1) {
    std::fprintf(stderr, "hearth: error: %s\n", msg.c_str());
    return rc;
}

std::string join_mixes() {
    std::string s;
    for (std::string_view m : quantize::mix_names())
        s += (s.empty() ? "" : ", ") + std::string(m);
    return s;
}

struct Opts {
    std::string in, out, type, imatrix;
    bool allow_requantize = false, dry_run = false;
    int threads = 0;
};

int run(const Opts& o) {
    const auto mix = quantize::find_mix(o.type);
    if (!mix) return fail("unknown type '" + o.type + "'; one of: " + join_mixes(), 2);
    auto f = gguf::File::open(o.in);
    if (!f) return fail(o.in + ": " + f.message());
    std::unique_ptr<quantize::ImatrixInput> im;
    if (!o.imatrix.empty()) {
        auto m = quantize::read_imatrix(o.imatrix);
        if (!m) return fail(m.message());
        im = std::make_unique<quantize::ImatrixInput>();
        im->weights = quantize::imatrix_weights(*m);
        im->file = o.imatrix;
        im->dataset = m->datasets.empty() ? "" : m->datasets[0];
        im->chunk_count = m->chunk_count;
        std::fprintf(stderr, "quantize: importance matrix %s: %zu entries, %u chunks%s%s\n", o.imatrix.c_str(),
                     im->weights.size(), m->chunk_count, im->dataset.empty() ? "" : " of ", im->dataset.c_str());
    }
    auto plan = quantize::make_plan(*f, *mix, o.allow_requantize, im.get());
    if (!plan) return fail(plan.message());
    if (im && plan->n_without_imatrix > 0)
        std::fprintf(stderr, "quantize: %d quantized tensors have no importance matrix entry (quantized without)\n",
                     plan->n_without_imatrix);
    std::map<std::string, std::pair<int, uint64_t>> by_type; // type -> tensors, bytes
    for (const auto& t : plan->tensors) {
        auto& e = by_type[std::string(dtype_name(t.to))];
        ++e.first;
        e.second += t.bytes_out;
    }
    auto mib = [](uint64_t b) { return double(b) / (1024.0 * 1024.0); };
    const double ratio = plan->bytes_in ? double(plan->bytes_out) / double(plan->bytes_in) : 0;
    if (o.dry_run) {
        std::printf("%-40s %-8s %-8s %12s\n", "tensor", "from", "to", "MiB");
        for (const auto& t : plan->tensors)
            std::printf("%-40s %-8s %-8s %12.2f%s\n", t.name.c_str(), std::string(dtype_name(t.from)).c_str(),
                        std::string(dtype_name(t.to)).c_str(), mib(t.bytes_out),
                        t.copy                 ? "  (copied)"
                        : t.imatrix != nullptr ? "  (imatrix)"
                                               : "");
    }
    std::fprintf(stderr, "quantize: %s -> %s: %zu tensors, %.1f MiB -> %.1f MiB (%.1f%% of the source)", o.in.c_str(),
                 std::string(mix->name).c_str(), plan->tensors.size(), mib(plan->bytes_in), mib(plan->bytes_out),
                 100 * ratio);
    for (const auto& [type, e] : by_type)
        std::fprintf(stderr, "%s %s x%d", type == by_type.begin()->first ? ";" : ",", type.c_str(), e.first);
    std::fprintf(stderr, "\n");
    if (plan->n_fallback > 0)
        std::fprintf(stderr,
                     "quantize: %d tensors whose rows the chosen type's block does not divide took a "
                     "fallback type\n",
                     plan->n_fallback);
    if (o.dry_run) return 0;
    const auto t0 = std::chrono::steady_clock::now();
    ProgressPrinter bar(isatty(STDERR_FILENO) != 0);
    Status st = quantize::run(*f, *plan, o.out, o.threads, [&](uint64_t done, uint64_t total) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        bar.update(store::Progress{done, total, s > 0 ? double(done) / s : 0, false});
    });
    bar.finish();
    if (!st) return fail(st.message());
    std::fprintf(stderr, "quantize: wrote %s in %.1f s\n", o.out.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
}

} // namespace

Runner add_quantize_command(CLI::App& app) {
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("quantize", "Write a smaller copy of a GGUF model (llama-quantize's mixes)");
    cmd->add_option("input", o->in, "source .gguf (F32/F16/BF16, or quantized with --allow-requantize)")->required();
    cmd->add_option("output", o->out, "the .gguf to write")->required();
    cmd->add_option("type", o->type, "target: " + join_mixes())->required();
    cmd->add_flag("--allow-requantize", o->allow_requantize, "accept a quantized source (dequantized first)");
    cmd->add_option("--imatrix", o->imatrix,
                    "importance matrix (hearth imatrix or llama-imatrix; GGUF or legacy .dat) to weigh columns by");
    cmd->add_flag("--dry-run", o->dry_run, "print each tensor's type and the resulting size; write nothing");
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        return run(*o);
    };
}

} // namespace hearth::cli
