// `hearth convert DIR OUT.gguf [--type T]`: a Hugging Face model directory as a GGUF file (convert/convert.h).
#include "cli/commands.h"
#include "cli/progress.h"
#include "convert/convert.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <unistd.h>

namespace hearth::cli {
namespace {

struct ConvertOpts {
    std::string dir, out;
    convert::Options opt;
};

int run_convert(const ConvertOpts& o) {
    if (!convert::is_known_type(o.opt.type)) {
        std::fprintf(stderr, "hearth: error: unknown type '%s'; one of: %s\n", o.opt.type.c_str(),
                     convert::type_names().c_str());
        return 2;
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "convert: %s -> %s (%s)\n", o.dir.c_str(), o.out.c_str(), o.opt.type.c_str());
    ProgressPrinter bar(isatty(STDERR_FILENO) != 0);
    Status st = convert::convert_model(o.dir, o.out, o.opt, [&](uint64_t done, uint64_t total) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        bar.update(store::Progress{done, total, s > 0 ? double(done) / s : 0, false});
    });
    bar.finish();
    if (!st) {
        std::fprintf(stderr, "hearth: error: %s\n", st.message().c_str());
        return 1;
    }
    std::fprintf(stderr, "convert: wrote %s in %.1f s\n", o.out.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
}

} // namespace

Runner add_convert_command(CLI::App& app) {
    auto o = std::make_shared<ConvertOpts>();
    CLI::App* cmd = app.add_subcommand("convert", "Write a Hugging Face model directory (safetensors) as a GGUF file");
    cmd->add_option("dir", o->dir, "model directory: config.json, *.safetensors, tokenizer.json")->required();
    cmd->add_option("output", o->out, "the .gguf to write")->required();
    cmd->add_option(
        "--type", o->opt.type,
        "F32, F16, BF16, Q8_0, or any hearth quantize type (default auto: BF16 for a BF16 model, else F16)");
    cmd->add_option("-t,--threads", o->opt.n_threads, "threads for a quantized type (0 = all cores)")
        ->check(CLI::Range(0, 1024));
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        return run_convert(*o);
    };
}

} // namespace hearth::cli
