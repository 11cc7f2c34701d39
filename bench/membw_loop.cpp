// bench/membw_loop.cpp: bench/membw's prefetching loop (membw_loop.h) for bench_decode_stream, in a file of its own
// so that it alone is compiled with -O3 -march=native, as bench_membw is (src/kernels/cpu/CMakeLists.txt).
#include "membw_loop.h"

uint64_t membw_sum_prefetch(const uint64_t* p, size_t n) {
    return membw::sum_range<true>(p, n);
}
