// tests/run_command.h: runs a shell command line (the real `hearth` binary, as a user would) with a deadline.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

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
    std::string err; // with capture_stderr
};

// Runs `cmd` with /bin/sh and returns its exit status and standard output (and standard error when
// `capture_stderr`; otherwise it goes where the command line sends it). The command is killed after `timeout_s`
// seconds (TERM, then KILL 5 s later), so a hung binary fails the test instead of hanging it.
inline CommandResult run_command(const std::string& cmd, bool capture_stderr = false, int timeout_s = 300) {
    CommandResult r;
    std::string err_path;
    if (capture_stderr) {
        char tmpl[] = "/tmp/hearth-test-stderr-XXXXXX";
        const int fd = mkstemp(tmpl);
        if (fd < 0) return r;
        close(fd);
        err_path = tmpl;
    }
    std::string line = "timeout -k 5 " + std::to_string(timeout_s) + " sh -c " + shell_quote(cmd);
    if (capture_stderr) line += " 2>" + shell_quote(err_path);
    FILE* p = popen(line.c_str(), "r");
    if (p) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0)
            r.out.append(buf, n);
        const int status = pclose(p);
        r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (capture_stderr) {
        std::ifstream e(err_path, std::ios::binary);
        r.err.assign(std::istreambuf_iterator<char>(e), {});
        std::remove(err_path.c_str());
    }
    return r;
}

} // namespace hearth::test
