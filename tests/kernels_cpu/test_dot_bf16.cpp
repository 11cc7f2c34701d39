// tests/kernels_cpu/test_dot_bf16.cpp: the AVX512_BF16 (VDPBF16PS) kernel for BF16 weights.
//   - dispatch: make_kernel_table picks it only with AVX-512 F/BW/VL/VNNI + AVX512_BF16, never under
//     HEARTH_CPU=avx2, and it changes nothing but BF16's vec_dot (checked on synthetic feature sets, any CPU);
//   - values (CPUs with AVX512_BF16 only): the table's BF16 vec_dot vs the scalar oracle on lengths around the
//     kernel's 32- and 128-element steps, normal / wide-exponent / sparse-zero data, unaligned rows, rows that
//     end at a page boundary (the masked tail must not read past n), zeros, infinities and denormals.
// Tolerance: the kernel's documented bound (avx512/dot_bf16.cpp), (n/64 + 12) 2^-24 sum|w_i a_i|, plus the
// oracle's own rounding (2^-24 |result| + double accumulation), plus 2^-126 per operation for flushed
// denormal partial sums. For n <= 4096 this is tighter than the VecDot suite's 1e-5 sum|w_i a_i|.
#include "base/cpu_features.h"
#include "base/fp16.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/scalar_dot.h"
#include "kernels_cpu_util.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace hearth::cpu::test {
namespace {

// Whether src/kernels/cpu built the kernel (the compiler has -mavx512bf16); set by tests/kernels_cpu's CMake.
constexpr bool kKernelBuilt = HEARTH_TEST_AVX512BF16_BUILT != 0;

CpuFeatures avx512_features(bool bf16) {
    CpuFeatures f;
    f.avx2 = f.fma = f.f16c = true;
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512vnni = true;
    f.avx512bf16 = bf16;
    return f;
}

VecDotFn bf16_dot(const KernelTable& t) {
    return t.at(DType::BF16).vec_dot;
}

// The kernel's pointer, as make_kernel_table installs it (no CPU feature needed to fill a table).
VecDotFn avx512bf16_kernel() {
    return bf16_dot(make_kernel_table(avx512_features(true)));
}

bool cpu_runs_avx512bf16() {
    const CpuFeatures f = detect_cpu_features();
    return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx512bf16;
}

// The only reason these tests skip: the CPU cannot run the kernel.
constexpr const char* kNoAvx512Bf16 = "this CPU lacks AVX512_BF16 (or AVX-512 F/BW/VL/VNNI), or HEARTH_CPU caps "
                                      "it: the AVX512_BF16 kernel cannot run here";

TEST(DotBf16Dispatch, PickedOnlyWithAvx512Bf16) {
    const KernelTable with = make_kernel_table(avx512_features(true));
    const KernelTable without = make_kernel_table(avx512_features(false));
    CpuFeatures no_avx512 = avx512_features(true); // bf16 bit alone (not a real CPU) must not be enough
    no_avx512.avx512f = false;
    const KernelTable avx2 = make_kernel_table(no_avx512);
    CpuFeatures no_vnni = avx512_features(true);
    no_vnni.avx512vnni = false;
    const KernelTable avx2_too = make_kernel_table(no_vnni);

    EXPECT_STREQ(with.isa, "avx512");
    EXPECT_STREQ(without.isa, "avx512");
    EXPECT_STREQ(avx2.isa, "avx2");
    EXPECT_STREQ(avx2_too.isa, "avx2");
    EXPECT_EQ(bf16_dot(without), bf16_dot(avx2)); // AVX-512 without BF16 keeps the AVX2 BF16 kernel
    EXPECT_EQ(bf16_dot(avx2_too), bf16_dot(avx2));
    EXPECT_NE(bf16_dot(avx2), make_scalar_table().at(DType::BF16).vec_dot);
    if (kKernelBuilt) {
        EXPECT_NE(bf16_dot(with), bf16_dot(without));
    } else {
        EXPECT_EQ(bf16_dot(with), bf16_dot(without)) << "kernel not built: the filler must be a no-op";
    }
    // Only BF16's vec_dot changes; its activation type and quantizer stay.
    EXPECT_EQ(with.at(DType::BF16).vec_dot_type, DType::BF16);
    EXPECT_EQ(with.at(DType::BF16).quantize_act, without.at(DType::BF16).quantize_act);
    for (DType t : weight_types()) {
        if (t == DType::BF16) continue;
        EXPECT_EQ(with.at(t).vec_dot, without.at(t).vec_dot) << dtype_name(t);
        EXPECT_EQ(with.at(t).quantize_act, without.at(t).quantize_act) << dtype_name(t);
    }
    EXPECT_EQ(with.attend_f16, without.attend_f16);
}

// Sets an environment variable for one scope and restores the previous value.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        setenv(name, value, 1);
    }
    ~ScopedEnv() {
        if (old_) {
            setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            unsetenv(name_.c_str());
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

TEST(DotBf16Dispatch, HearthCpuAvx2ExcludesIt) {
    const ScopedEnv cap("HEARTH_CPU", "avx2");
    const CpuFeatures f = detect_cpu_features();
    EXPECT_FALSE(f.avx512bf16);
    EXPECT_FALSE(f.avx512f);
    const KernelTable t = make_kernel_table(f);
    EXPECT_NE(std::string(t.isa), "avx512");
    if (kKernelBuilt) {
        EXPECT_NE(bf16_dot(t), avx512bf16_kernel());
    }
}

TEST(DotBf16Dispatch, BestTableOfThisCpu) {
    if (!cpu_runs_avx512bf16()) GTEST_SKIP() << kNoAvx512Bf16;
    // What the VecDot / Matmul suites' "avx512" cases (and the runtime) get on this CPU.
    const KernelTable t = table_for("avx512");
    EXPECT_STREQ(t.isa, "avx512");
    if (kKernelBuilt) {
        EXPECT_EQ(bf16_dot(t), avx512bf16_kernel());
    }
}

// --- values --------------------------------------------------------------------------------------------

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
    std::vector<uint16_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i)
        out[i] = f32_to_bf16(v[i]);
    return out;
}

enum class Fill { normal, wide_exponents, sparse_zeros };

// (n) bf16 values; seeds differ for weights and activations.
std::vector<uint16_t> make_row(Fill fill, int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint16_t> row(static_cast<size_t>(n));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<uint32_t> bits(0, 0xffff);
    for (auto& v : row) {
        switch (fill) {
        case Fill::normal:
            v = f32_to_bf16(normal(rng));
            break;
        case Fill::wide_exponents: {
            // Any sign and mantissa, biased exponent 127 +- 50: products stay normal and sums finite in fp32.
            const uint32_t r = bits(rng);
            const uint32_t exponent = 77 + uint32_t(std::uniform_int_distribution<int>(0, 100)(rng));
            v = uint16_t((r & 0x807fu) | (exponent << 7));
            break;
        }
        case Fill::sparse_zeros: {
            const uint32_t r = bits(rng);
            v = (r & 3u) == 0 ? uint16_t(0) : (r & 3u) == 1 ? uint16_t(0x8000) : f32_to_bf16(normal(rng));
            break;
        }
        }
    }
    return row;
}

double magnitude(const uint16_t* w, const uint16_t* a, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; ++i)
        m += std::fabs(double(bf16_to_f32(w[i])) * double(bf16_to_f32(a[i])));
    return m;
}

double tolerance(int64_t n, double mag, float want) {
    const double u = std::ldexp(1.0, -24);
    return (double(n) / 64 + 12) * u * mag + u * std::fabs(double(want)) + double(n) * std::ldexp(1.0, -52) * mag +
           double(n + 64) * std::ldexp(1.0, -126);
}

void expect_matches_oracle(int64_t n, const uint16_t* w, const uint16_t* a, const std::string& what) {
    const float want = scalar::dot_bf16(n, w, a);
    const float got = avx512bf16_kernel()(n, w, a);
    const double mag = magnitude(w, a, n);
    ASSERT_TRUE(std::isfinite(got)) << what;
    EXPECT_LE(std::fabs(double(got) - double(want)), tolerance(n, mag, want))
        << what << ": got " << got << " want " << want << " sum|w a| " << mag;
    // The bound above is tighter than the VecDot suite's for these lengths; check that one too.
    EXPECT_LE(std::fabs(double(got) - double(want)), 1e-5 * mag + 1e-30) << what;
}

const int64_t kLengths[] = {1,   2,   15,  16,  17,  31,  32,  33,  63,   64,   65,   96,   127, 128,
                            129, 159, 160, 161, 255, 256, 257, 288, 1000, 2304, 4095, 4096, 4097};

struct ValueCase {
    int64_t n;
    Fill fill;
};

void PrintTo(const ValueCase& c, std::ostream* os) {
    *os << "n=" << c.n << " fill=" << int(c.fill);
}

class DotBf16 : public ::testing::TestWithParam<ValueCase> {};

TEST_P(DotBf16, MatchesScalarOracle) {
    if (!cpu_runs_avx512bf16()) GTEST_SKIP() << kNoAvx512Bf16;
    const ValueCase c = GetParam();
    const auto w = make_row(c.fill, c.n, 1000 + uint64_t(c.n));
    const auto a = make_row(c.fill, c.n, 2000 + uint64_t(c.n));
    expect_matches_oracle(c.n, w.data(), a.data(), "aligned");
    // Rows are byte-addressed: start at an odd element (2-byte aligned only).
    std::vector<uint16_t> w1(w.size() + 1), a1(a.size() + 3);
    std::memcpy(w1.data() + 1, w.data(), w.size() * 2);
    std::memcpy(a1.data() + 3, a.data(), a.size() * 2);
    expect_matches_oracle(c.n, w1.data() + 1, a1.data() + 3, "unaligned");
    // A zero weight row gives exactly +0.
    const std::vector<uint16_t> zeros(static_cast<size_t>(c.n), 0);
    EXPECT_EQ(f32_to_bits(avx512bf16_kernel()(c.n, zeros.data(), a.data())), 0u);
}

std::vector<ValueCase> value_cases() {
    std::vector<ValueCase> cases;
    for (Fill fill : {Fill::normal, Fill::wide_exponents, Fill::sparse_zeros})
        for (int64_t n : kLengths)
            cases.push_back({n, fill});
    return cases;
}

std::string value_case_name(const ::testing::TestParamInfo<ValueCase>& info) {
    const char* fill = info.param.fill == Fill::normal           ? "normal"
                       : info.param.fill == Fill::wide_exponents ? "wide_exponents"
                                                                 : "sparse_zeros";
    return std::string(fill) + "_n" + std::to_string(info.param.n);
}

INSTANTIATE_TEST_SUITE_P(KernelsCpu, DotBf16, ::testing::ValuesIn(value_cases()), value_case_name);

TEST(DotBf16Values, ZeroLength) {
    if (!cpu_runs_avx512bf16()) GTEST_SKIP() << kNoAvx512Bf16;
    const uint16_t one = f32_to_bf16(1.0f);
    EXPECT_EQ(avx512bf16_kernel()(0, &one, &one), 0.0f);
}

TEST(DotBf16Values, ExactSmallIntegers) {
    if (!cpu_runs_avx512bf16()) GTEST_SKIP() << kNoAvx512Bf16;
    // Small integers: every product and partial sum is exact in fp32, so any order gives the exact result.
    for (int64_t n : kLengths) {
        std::vector<float> w(static_cast<size_t>(n)), a(static_cast<size_t>(n));
        double exact = 0;
        for (int64_t i = 0; i < n; ++i) {
            w[size_t(i)] = float(int(i % 7) - 3);
            a[size_t(i)] = float(int(i % 5) - 2) * (i % 2 == 0 ? 1.0f : 0.5f);
            exact += double(w[size_t(i)]) * double(a[size_t(i)]);
        }
        const auto wb = to_bf16(w), ab = to_bf16(a);
        EXPECT_EQ(double(avx512bf16_kernel()(n, wb.data(), ab.data())), exact) << "n=" << n;
    }
}

// A row that ends at the last byte of a readable page followed by an inaccessible one: reading any element
// past n faults (the masked tail load must suppress the masked-out lanes).
class GuardedRow {
public:
    explicit GuardedRow(const std::vector<uint16_t>& row) {
        page_ = size_t(sysconf(_SC_PAGESIZE));
        void* p = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        base_ = static_cast<uint8_t*>(p);
        if (mprotect(base_ + page_, page_, PROT_NONE) != 0) return;
        data_ = reinterpret_cast<uint16_t*>(base_ + page_ - row.size() * 2);
        std::memcpy(data_, row.data(), row.size() * 2);
    }
    ~GuardedRow() {
        if (base_ != nullptr) munmap(base_, 2 * page_);
    }
    GuardedRow(const GuardedRow&) = delete;
    GuardedRow& operator=(const GuardedRow&) = delete;
    const uint16_t* data() const { return data_; } // nullptr if the mapping failed

private:
    size_t page_ = 0;
    uint8_t* base_ = nullptr;
    uint16_t* data_ = nullptr;
};

TEST(DotBf16Values, TailReadsNothingPastTheRow) {
    if (!cpu_runs_avx512bf16()) GTEST_SKIP() << kNoAvx512Bf16;
    for (int64_t n : {1, 17, 31, 33, 63, 65, 127, 129, 255, 1000, 2047}) {
        const auto w = make_row(Fill::normal, n, 7 + uint64_t(n));
        const auto a = make_row(Fill::normal, n, 8 + uint64_t(n));
        const GuardedRow gw(w), ga(a);
        ASSERT_NE(gw.data(), nullptr);
        ASSERT_NE(ga.data(), nullptr);
        expect_matches_oracle(n, gw.data(), ga.data(), "guarded n=" + std::to_string(n));
    }
}

TEST(DotBf16Values, Infinities) {
    if (!cpu_runs_avx512bf16()) GTEST_SKIP() << kNoAvx512Bf16;
    for (int64_t n : {1, 33, 200, 4096}) {
        for (int64_t at : {int64_t{0}, n / 2, n - 1}) { // in the unrolled body, the 32-steps or the tail
            auto w = make_row(Fill::normal, n, 11 + uint64_t(n));
            auto a = make_row(Fill::normal, n, 12 + uint64_t(n));
            const std::string where = "n=" + std::to_string(n) + " at " + std::to_string(at);
            a[size_t(at)] = f32_to_bf16(1.5f);
            w[size_t(at)] = 0x7f80; // +inf
            EXPECT_EQ(avx512bf16_kernel()(n, w.data(), a.data()), INFINITY) << where;
            EXPECT_EQ(scalar::dot_bf16(n, w.data(), a.data()), INFINITY) << where;
            w[size_t(at)] = 0xff80; // -inf
            EXPECT_EQ(avx512bf16_kernel()(n, w.data(), a.data()), -INFINITY) << where;
            a[size_t(at)] = 0; // inf * 0
            EXPECT_TRUE(std::isnan(avx512bf16_kernel()(n, w.data(), a.data()))) << where;
            EXPECT_TRUE(std::isnan(scalar::dot_bf16(n, w.data(), a.data()))) << where;
        }
    }
}

TEST(DotBf16Values, DenormalInputsCountAsZero) {
    if (!cpu_runs_avx512bf16()) GTEST_SKIP() << kNoAvx512Bf16;
    // VDPBF16PS treats denormal inputs as zero (documented in avx512/dot_bf16.cpp): the result is that of the
    // row with the denormals zeroed, and differs from the oracle by at most the dropped terms.
    for (int64_t n : {5, 64, 300}) {
        auto w = make_row(Fill::normal, n, 21 + uint64_t(n));
        auto a = make_row(Fill::normal, n, 22 + uint64_t(n));
        auto w_zeroed = w;
        double dropped = 0;
        for (int64_t i = 0; i < n; i += 3) {
            w[size_t(i)] = uint16_t((i % 2 ? 0x8000 : 0) | (1 + i % 127)); // denormal
            w_zeroed[size_t(i)] = 0;
            a[size_t(i)] = f32_to_bf16(std::ldexp(1.0f, 100 + int(i % 20))); // large, so the term is not tiny
            dropped += std::fabs(double(bf16_to_f32(w[size_t(i)])) * double(bf16_to_f32(a[size_t(i)])));
        }
        const float got = avx512bf16_kernel()(n, w.data(), a.data());
        EXPECT_EQ(f32_to_bits(got), f32_to_bits(avx512bf16_kernel()(n, w_zeroed.data(), a.data()))) << n;
        const float want = scalar::dot_bf16(n, w.data(), a.data());
        EXPECT_LE(std::fabs(double(got) - double(want)), tolerance(n, magnitude(w.data(), a.data(), n), want) + dropped)
            << "n=" << n;
        EXPECT_GT(dropped, 1e-12) << "the test must drop terms that matter";
    }
}

} // namespace
} // namespace hearth::cpu::test
