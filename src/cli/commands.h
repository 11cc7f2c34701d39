// cli/commands.h: one function per `hearth` subcommand. Each registers its options on the CLI11
// app and returns the exit code when run (0 ok, 1 runtime error, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hearth::cli {

using Runner = std::function<int()>;

// --device and --gpu-layers (--ngl; main.cpp turns llama.cpp's -ngl into --ngl): what computes a model
// (RuntimeOptions::device, gpu_layers). cli_engine.cpp.
void add_device_options(CLI::App* cmd, std::string* device, int32_t* gpu_layers);

// Adds `inspect` to `app`; the returned runner executes it after parsing.
Runner add_inspect_command(CLI::App& app);
Runner add_generate_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_tokenize_command(CLI::App& app);
// cmd_embed.cpp
Runner add_embed_command(CLI::App& app);
// cmd_perplexity.cpp
Runner add_perplexity_command(CLI::App& app);
// cmd_quantize.cpp
Runner add_quantize_command(CLI::App& app);
// cmd_convert.cpp
Runner add_convert_command(CLI::App& app);
// cmd_imatrix.cpp
Runner add_imatrix_command(CLI::App& app);
Runner add_detokenize_command(CLI::App& app);
Runner add_template_command(CLI::App& app);
// cmd_run.cpp
Runner add_run_command(CLI::App& app);
// cmd_store.cpp: the model store
Runner add_list_command(CLI::App& app);
Runner add_show_command(CLI::App& app);
Runner add_rm_command(CLI::App& app);
Runner add_cp_command(CLI::App& app);
Runner add_import_command(CLI::App& app);
Runner add_create_command(CLI::App& app);
Runner add_doctor_command(CLI::App& app);
// cmd_pull.cpp
Runner add_pull_command(CLI::App& app);
// cmd_serve.cpp
Runner add_serve_command(CLI::App& app);
// cmd_ps.cpp: `ps` and `stop`, clients of a running server
Runner add_ps_command(CLI::App& app);
Runner add_stop_command(CLI::App& app);
// cmd_router.cpp: `router` and its show/stats/audit/export subcommands; *router_out gets the `router` app so
// more subcommands can be added to it (eval, calibrate).
Runner add_router_command(CLI::App& app, CLI::App** router_out = nullptr);
// cmd_router_eval.cpp: `eval` and `calibrate` under the `router` subcommand; one runner each.
void add_router_eval_commands(CLI::App& router, std::vector<Runner>& runners);

} // namespace hearth::cli
