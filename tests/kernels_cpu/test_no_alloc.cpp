// matmul allocates nothing (the decode step's contract): operator new is replaced in this test binary to count
// allocations, and a warm matmul call must not add any, with 1 and with 3 threads.
#include "base/cpu_features.h"
#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "kernels_cpu_util.h"

#include <atomic>
#include <cstdlib>
#include <gtest/gtest.h>
#include <memory>
#include <new>

namespace {
std::atomic<long> g_allocations{0}; // test-only instrumentation
} // namespace

void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace hearth::cpu::test {
namespace {

TEST(MatmulNoAlloc, WarmCallsDoNotAllocate) {
    {
        const long before = g_allocations.load();
        auto probe = std::make_unique<std::vector<int>>(100);
        ASSERT_GT(g_allocations.load(), before) << "operator new is not instrumented";
    }
    const KernelTable table = make_kernel_table(detect_cpu_features());
    for (int threads : {1, 3}) {
        ThreadPool pool(threads);
        for (DType t : {DType::Q4_K, DType::Q8_0, DType::F32}) {
            const int64_t n_in = 512, n_out = 64, n_tokens = 3;
            const auto w = make_weights(t, n_out, n_in, 5, WeightFill::quantized);
            const auto x = make_activations(n_in * n_tokens, 6);
            std::vector<float> y(size_t(n_out * n_tokens));
            std::vector<uint8_t> scratch(act_scratch_bytes(table, t, n_tokens, n_in) + 1);
            matmul(table, pool, t, w.data(), n_out, n_in, x.data(), n_tokens, y.data(), scratch.data());
            const long before = g_allocations.load();
            matmul(table, pool, t, w.data(), n_out, n_in, x.data(), n_tokens, y.data(), scratch.data());
            matmul(table, pool, t, w.data(), n_out, n_in, x.data(), 1, y.data(), scratch.data());
            EXPECT_EQ(g_allocations.load(), before) << dtype_name(t) << " with " << threads << " threads";
        }
    }
}

} // namespace
} // namespace hearth::cpu::test
