// store/human.cpp: human-readable sizes and ages (human.h), following Ollama's format package.
#include "store/human.h"

#include <cmath>
#include <cstdio>

namespace hearth::store {

std::string human_size(uint64_t bytes) {
    struct Unit {
        double scale;
        const char* name;
    };
    static constexpr Unit kUnits[] = {{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}};
    char buf[64];
    for (const auto& u : kUnits) {
        if (static_cast<double>(bytes) < u.scale) continue;
        const double v = static_cast<double>(bytes) / u.scale;
        if (v >= 10 || v == std::trunc(v))
            std::snprintf(buf, sizeof buf, "%d %s", static_cast<int>(v), u.name);
        else
            std::snprintf(buf, sizeof buf, "%.1f %s", v, u.name);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    return buf;
}

std::string human_count(uint64_t n) {
    struct Unit {
        double scale;
        const char* name;
    };
    static constexpr Unit kUnits[] = {{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
    for (const auto& u : kUnits) {
        if (static_cast<double>(n) < u.scale) continue;
        const double v = static_cast<double>(n) / u.scale;
        char buf[64];
        std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
        std::string s = buf;
        if (s.find('.') != std::string::npos) {
            while (s.back() == '0')
                s.pop_back();
            if (s.back() == '.') s.pop_back();
        }
        return s + u.name;
    }
    return std::to_string(n);
}

namespace {

// Docker's units.HumanDuration, which Ollama's HumanTime uses.
std::string human_duration(int64_t s) {
    auto plural = [](int64_t n, const char* unit) { return std::to_string(n) + " " + unit + (n == 1 ? "" : "s"); };
    if (s < 1) return "Less than a second";
    if (s == 1) return "1 second";
    if (s < 60) return std::to_string(s) + " seconds";
    const int64_t minutes = s / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return std::to_string(minutes) + " minutes";
    const int64_t hours = static_cast<int64_t>(std::llround(static_cast<double>(s) / 3600));
    if (hours == 1) return "About an hour";
    if (hours < 48) return std::to_string(hours) + " hours";
    if (hours < 24 * 7 * 2) return plural(hours / 24, "day");
    if (hours < 24 * 30 * 2) return plural(hours / 24 / 7, "week");
    if (hours < 24 * 365 * 2) return plural(hours / 24 / 30, "month");
    return plural(hours / 24 / 365, "year");
}

} // namespace

std::string human_ago(int64_t seconds) {
    if (seconds < 0) return human_duration(-seconds) + " from now";
    return human_duration(seconds) + " ago";
}

} // namespace hearth::store
