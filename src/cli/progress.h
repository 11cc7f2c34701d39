// cli/progress.h: download progress on stderr for `hearth pull` and for `hearth run` when it pulls:
// a bar redrawn in place on a terminal (percent, MB done/total, MB/s, ETA), else a plain line every 10%
// or 5 s.
#pragma once

#include "store/pull/pull.h"

#include <chrono>

namespace hearth::cli {

// Draws progress on stderr: a bar redrawn in place on a terminal, else a line every 10% or 5 s.
class ProgressPrinter {
public:
    explicit ProgressPrinter(bool tty) : tty_(tty) {}

    void update(const store::Progress& p);
    // Ends the in-place line so later messages start on their own line.
    void finish();

private:
    bool tty_;
    bool drawn_ = false;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point last_line_{};
};

} // namespace hearth::cli
