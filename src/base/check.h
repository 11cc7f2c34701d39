// base/check.h: HEARTH_CHECK for broken internal invariants (never for user or file input).
// It aborts with file:line in every build, debug or release.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace hearth::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* cond, const char* msg) {
    std::fprintf(stderr, "hearth: internal error at %s:%d: check failed: %s%s%s\n", file, line, cond,
                 msg[0] ? ": " : "", msg);
    std::abort();
}
} // namespace hearth::detail

#define HEARTH_CHECK(cond, ...)                                                                                        \
    do {                                                                                                               \
        if (!(cond)) ::hearth::detail::check_failed(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                        \
    } while (0)
