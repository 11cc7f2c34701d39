#include "base/cpu_features.h"

#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <string>

namespace hearth {
namespace {

// The vendor as the kernel reports it (/proc/cpuinfo), or "" where there is none.
std::string proc_vendor() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("vendor_id", 0) == 0) return line.substr(line.find(':') + 2);
    return "";
}

// Sets an environment variable for one scope, restoring what was there.
class EnvVar {
public:
    EnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old, had_ = true;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~EnvVar() {
        if (had_)
            ::setenv(name_, old_.c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

TEST(CpuFeatures, VendorAndPrefetchDefault) {
    EnvVar unset("HEARTH_PREFETCH", nullptr);
    const CpuFeatures f = detect_cpu_features();
    const std::string v = proc_vendor();
    if (v.empty()) GTEST_SKIP() << "no vendor_id in /proc/cpuinfo";
    EXPECT_EQ(f.amd, v == "AuthenticAMD" || v == "HygonGenuine") << v;
    EXPECT_EQ(f.sw_prefetch, !f.amd);
}

TEST(CpuFeatures, PrefetchOverride) {
    {
        EnvVar off("HEARTH_PREFETCH", "off");
        EXPECT_FALSE(detect_cpu_features().sw_prefetch);
    }
    {
        EnvVar on("HEARTH_PREFETCH", "on");
        EXPECT_TRUE(detect_cpu_features().sw_prefetch);
    }
}

} // namespace
} // namespace hearth
