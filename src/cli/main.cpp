// hearth: run small language models on your own machine. One binary, one subcommand per job.
#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    CLI::App app{"hearth: run small language models locally (GGUF, CPU)", "hearth"};
    app.set_version_flag("--version", HEARTH_VERSION);
    app.require_subcommand(1);
    std::vector<hearth::cli::Runner> runners;
    runners.push_back(hearth::cli::add_inspect_command(app));
    runners.push_back(hearth::cli::add_generate_command(app));
    runners.push_back(hearth::cli::add_bench_command(app));
    runners.push_back(hearth::cli::add_tokenize_command(app));
    runners.push_back(hearth::cli::add_embed_command(app));
    runners.push_back(hearth::cli::add_perplexity_command(app));
    runners.push_back(hearth::cli::add_quantize_command(app));
    runners.push_back(hearth::cli::add_convert_command(app));
    runners.push_back(hearth::cli::add_imatrix_command(app));
    runners.push_back(hearth::cli::add_detokenize_command(app));
    runners.push_back(hearth::cli::add_template_command(app));
    runners.push_back(hearth::cli::add_run_command(app));
    runners.push_back(hearth::cli::add_pull_command(app));
    runners.push_back(hearth::cli::add_list_command(app));
    runners.push_back(hearth::cli::add_show_command(app));
    runners.push_back(hearth::cli::add_rm_command(app));
    runners.push_back(hearth::cli::add_cp_command(app));
    runners.push_back(hearth::cli::add_import_command(app));
    runners.push_back(hearth::cli::add_create_command(app));
    runners.push_back(hearth::cli::add_doctor_command(app));
    runners.push_back(hearth::cli::add_serve_command(app));
    runners.push_back(hearth::cli::add_ps_command(app));
    runners.push_back(hearth::cli::add_stop_command(app));
    CLI::App* router = nullptr;
    runners.push_back(hearth::cli::add_router_command(app, &router));
    hearth::cli::add_router_eval_commands(*router, runners);
    // llama.cpp's spelling `-ngl N` (CLI11 takes one-letter short options only) is `--ngl N` here.
    std::vector<char*> args(argv, argv + argc);
    char ngl[] = "--ngl";
    for (char*& arg : args)
        if (std::string(arg) == "-ngl") arg = ngl;
    try {
        app.parse(int(args.size()), args.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e); // prints usage or the parse error; 0 for --help, nonzero otherwise
    }
    for (auto& run : runners) {
        const int rc = run();
        if (rc >= 0) return rc;
    }
    return 2;
}
