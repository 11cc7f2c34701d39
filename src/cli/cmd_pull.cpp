// cli/cmd_pull.cpp: `hearth pull REF`: downloads a GGUF from Hugging Face or an https:// URL into the
// model store, with a progress bar on a terminal (plain lines otherwise). An interrupted pull (Ctrl-C,
// a lost connection) leaves its partial file in the store's tmp/; pulling again resumes it.
#include "cli/commands.h"
#include "cli/progress.h"
#include "store/pull/pull.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <unistd.h>

namespace hearth::cli {

Runner add_pull_command(CLI::App& app) {
    struct Opts {
        std::string ref, name;
        bool insecure = false;
        bool allow_private = false;
    };
    auto opts = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "pull", "Download a model into the store: ORG/REPO[:QUANT] or hf.co/ORG/REPO[:QUANT] from Hugging Face, "
                "or an https:// URL to a .gguf (resumes an interrupted pull)");
    cmd->add_option("ref", opts->ref, "ORG/REPO[:QUANT], hf.co/ORG/REPO[:QUANT] or https://.../file.gguf")->required();
    cmd->add_option("--name", opts->name, "store the model under this name instead");
    cmd->add_flag("--insecure", opts->insecure, "allow plain http:// (a trusted local mirror)");
    cmd->add_flag("--allow-private", opts->allow_private,
                  "allow loopback/private/link-local addresses (a trusted local mirror)");
    return [cmd, opts]() -> int {
        if (!cmd->parsed()) return -1;
        std::optional<store::ModelName> name;
        if (!opts->name.empty()) {
            auto n = store::parse_name(opts->name);
            if (!n) {
                std::fprintf(stderr, "hearth: error: --name: %s\n", n.message().c_str());
                return 2;
            }
            name = *n;
        }
        store::PullOptions po;
        po.allow_insecure = opts->insecure;
        po.allow_private = opts->allow_private;
        auto ref = store::parse_pull_ref(opts->ref, po);
        if (!ref) {
            std::fprintf(stderr, "hearth: error: %s\n", ref.message().c_str());
            return 2;
        }
        auto st = store::open_store();
        if (!st) {
            std::fprintf(stderr, "hearth: error: %s\n", st.message().c_str());
            return 1;
        }
        auto printer = std::make_shared<ProgressPrinter>(isatty(2) != 0);
        po.on_progress = [printer](const store::Progress& p) { printer->update(p); };
        std::fprintf(stderr, "pulling %s\n", opts->ref.c_str());
        auto pulled = store::pull(*st, opts->ref, po, name);
        printer->finish();
        if (!pulled) {
            std::fprintf(stderr, "hearth: error: %s\n", pulled.message().c_str());
            return 1;
        }
        std::printf("%s\n", pulled->display().c_str());
        return 0;
    };
}

} // namespace hearth::cli
