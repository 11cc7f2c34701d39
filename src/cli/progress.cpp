#include "cli/progress.h"

#include <algorithm>
#include <cstdio>
#include <string>

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

} // namespace

void ProgressPrinter::update(const store::Progress& p) {
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
        std::fprintf(stderr, "%3d%%  %s  %.1f MB/s  ETA %s\n", static_cast<int>(frac * 100), amount.c_str(), rate_mb,
                     left.c_str());
    }
}
void ProgressPrinter::finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
}

} // namespace hearth::cli
