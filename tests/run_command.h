// tests/run_command.h: runs a shell command line (the real `hearth` binary, as a user would) with a deadline.
#pragma once

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace hearth::test {

// `s` as one single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
    std::string r = "'";
    for (char c : s)
        r += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return r + "'";
}

struct CommandResult {
    int rc = -1; // exit status; 124 when the deadline killed it, -1 when it died of a signal
    std::string out;
};

// Runs `cmd` with /bin/sh and returns its exit status and standard output. The command is killed after
// `timeout_s` seconds (TERM, then KILL 5 s later), so a hung binary fails the test instead of hanging it.
inline CommandResult run_command(const std::string& cmd, int timeout_s = 300) {
    const std::string line = "timeout -k 5 " + std::to_string(timeout_s) + " sh -c " + shell_quote(cmd);
    CommandResult r;
    FILE* p = popen(line.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        r.out.append(buf, n);
    const int status = pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

} // namespace hearth::test
