// cli/commands.h: one function per `hearth` subcommand. Each registers its options on the CLI11
// app and returns the exit code when run (0 ok, 1 runtime error, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace hearth::cli {

using Runner = std::function<int()>;

// Adds `inspect` to `app`; the returned runner executes it after parsing.
Runner add_inspect_command(CLI::App& app);
Runner add_generate_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_tokenize_command(CLI::App& app);
Runner add_detokenize_command(CLI::App& app);
Runner add_template_command(CLI::App& app);

} // namespace hearth::cli
