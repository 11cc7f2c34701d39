// base/utc_time.h: the current time as text, for logs and records.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace hearth {

// "2026-12-05T13:05:57.031Z": UTC, RFC 3339 with milliseconds.
inline std::string utc_now_millis() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
    return std::string(buf, n) + frac;
}

} // namespace hearth
