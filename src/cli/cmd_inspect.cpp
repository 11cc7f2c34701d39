#include "cli/commands.h"
#include "cli/inspect.h"

#include <cstdio>
#include <memory>

namespace hearth::cli {

Runner add_inspect_command(CLI::App& app) {
    struct Opts {
        std::string path;
        bool tensors = false;
        bool json = false;
    };
    auto opts = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("inspect", "Describe a GGUF model: architecture, size, quant mix, tokenizer");
    cmd->add_option("file", opts->path, "path to a .gguf file")->required();
    cmd->add_flag("--tensors", opts->tensors, "list every tensor (name, type, shape, size)");
    cmd->add_flag("--json", opts->json, "machine-readable JSON output");
    return [cmd, opts]() -> int {
        if (!cmd->parsed()) return -1;
        auto file = gguf::File::open(opts->path);
        if (!file) {
            std::fprintf(stderr, "hearth: error: %s\n", file.message().c_str());
            return 1;
        }
        auto report = inspect(*file, opts->path);
        if (!report) {
            std::fprintf(stderr, "hearth: error: %s: %s\n", opts->path.c_str(), report.message().c_str());
            return 1;
        }
        if (opts->json) {
            const std::string s =
                to_json(*report, opts->tensors).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fputc('\n', stdout);
        } else {
            const std::string s = to_text(*report, opts->tensors);
            std::fwrite(s.data(), 1, s.size(), stdout);
        }
        return 0;
    };
}

} // namespace hearth::cli
