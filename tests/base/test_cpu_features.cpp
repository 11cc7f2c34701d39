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

// The flags of the first processor in /proc/cpuinfo ("" where there are none), space-padded for whole-word search.
std::string proc_flags() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("flags", 0) == 0) return " " + line.substr(line.find(':') + 2) + " ";
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

// CPUID's bits against the kernel's own reading of them (a wrong bit number would pick kernels the CPU lacks).
TEST(CpuFeatures, AgreesWithProcCpuinfo) {
    EnvVar unset("HEARTH_CPU", nullptr);
    const std::string flags = proc_flags();
    if (flags.empty()) GTEST_SKIP() << "no flags in /proc/cpuinfo";
    const CpuFeatures f = detect_cpu_features();
    auto has = [&](const char* name) { return flags.find(std::string(" ") + name + " ") != std::string::npos; };
    EXPECT_EQ(f.avx2, has("avx2"));
    EXPECT_EQ(f.fma, has("fma"));
    EXPECT_EQ(f.avx512f, has("avx512f"));
    EXPECT_EQ(f.avx512vnni, has("avx512_vnni"));
    EXPECT_EQ(f.avx512bf16, has("avx512_bf16"));
    EXPECT_EQ(f.avxvnni, has("avx_vnni"));
    EXPECT_EQ(f.gfni, has("gfni"));
    EXPECT_EQ(f.summary().find("GFNI") != std::string::npos, f.gfni);
}

TEST(CpuFeatures, CapsLeaveOutGfni) {
    EnvVar avx2("HEARTH_CPU", "avx2");
    EXPECT_FALSE(detect_cpu_features().gfni);
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
