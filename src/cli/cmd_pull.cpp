// cli/cmd_pull.cpp: `hearth pull REF`: downloads a GGUF from Hugging Face or an https:// URL into the
// model store, with a progress bar on a terminal (plain lines otherwise). An interrupted pull (Ctrl-C,
// a lost connection) leaves its partial file in the store's tmp/; pulling again resumes it.
#include "cli/commands.h"
#include "store/pull/pull.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <unistd.h>

namespace hearth::cli {
namespace {

std::string mb(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / 1e6);
    return buf;
}

std::string eta(double seconds) {
    if (seconds < 0 || seconds > 99 * 3600) return "--:--";
    const auto s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

// Draws progress on stderr: a bar redrawn in place on a terminal, else a line every 10% or 5 s.
class ProgressPrinter {
public:
    explicit ProgressPrinter(bool tty) : tty_(tty) {}

    void update(const store::Progress& p) {
        const double frac = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0;
        const double rate_mb = p.rate / 1e6;
        const std::string amount = p.total ? mb(p.done) + "/" + mb(p.total) + " MB" : mb(p.done) + " MB";
        const std::string left =
            p.total && p.rate > 0 ? eta(static_cast<double>(p.total - std::min(p.done, p.total)) / p.rate) : "--:--";
        if (tty_) {
            constexpr int width = 30;
            const int filled = static_cast<int>(frac * width);
            std::string bar(static_cast<size_t>(filled), '=');
            if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
            std::fprintf(stderr, "\r%s%3d%% [%s] %s  %.1f MB/s  ETA %s\x1b[K", p.resumed ? "(resumed) " : "",
                         static_cast<int>(frac * 100), bar.c_str(), amount.c_str(), rate_mb, left.c_str());
            std::fflush(stderr);
            drawn_ = true;
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        const int decile = static_cast<int>(frac * 10);
        if (decile > last_decile_ || now - last_line_ > std::chrono::seconds(5)) {
            last_decile_ = std::max(decile, last_decile_);
            last_line_ = now;
            std::fprintf(stderr, "%3d%%  %s  %.1f MB/s  ETA %s\n", static_cast<int>(frac * 100), amount.c_str(),
                         rate_mb, left.c_str());
        }
    }
    // Ends the in-place line so later messages start on their own line.
    void finish() {
        if (drawn_) std::fputc('\n', stderr);
        drawn_ = false;
    }

private:
    bool tty_;
    bool drawn_ = false;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point last_line_{};
};

} // namespace

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
