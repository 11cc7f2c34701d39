// bench/bench_kernels.cpp: matmul per weight type and ISA table.
//   matmul_decode (n_tokens = 1), in GB/s of weight bytes streamed, two variants:
//     hot:    one weight matrix, reused every iteration (cache resident when it fits: kernel throughput);
//     stream: a ring of copies totalling >= 256 MiB on huge pages, one per iteration (DRAM bandwidth, as in real
//             decode); membw_sum/stream is a summing loop over such a ring: the read rate the stream variants aim at;
//             membw_alu/K/{hot,stream} (AVX-512) the same with K vector ops of arithmetic per cache line: what share
//             of that rate a kernel with a given amount of arithmetic per byte can keep.
//   matmul_prefill (n_tokens = 128, the 1.5B model's 1536 x 8960 gate/up shape), in G MAC/s (items/s): the
//     prefill kernels' compute rate, which pp128 follows.
// Run: bench_kernels [--benchmark_filter=q4_K] ; HEARTH_BENCH_THREADS=n sets the pool size (default 1).
#include "base/cpu_features.h"
#include "base/fp16.h"
#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/packed.h"
#include "kernels/ref/quant.h"

#include <atomic>
#include <benchmark/benchmark.h>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <memory>
#include <random>
#include <string>
#include <sys/mman.h>
#include <vector>

namespace {

using namespace hearth;

struct Shape {
    int64_t n_in, n_out;
};

// One (n_out, n_in) matrix of type t: random floats through the reference quantizer; types without one
// (IQ4_NL / IQ4_XS) get random bytes with a small positive half scale at the block start.
std::vector<uint8_t> make_matrix(DType t, Shape s) {
    const size_t row_bytes = size_t(*dtype_row_bytes(t, uint64_t(s.n_in)));
    std::vector<uint8_t> w(row_bytes * size_t(s.n_out));
    std::mt19937 rng(42);
    if (ref::ref_can_quantize(t)) {
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<float> row(static_cast<size_t>(s.n_in));
        for (int64_t r = 0; r < s.n_out; ++r) {
            for (auto& v : row)
                v = normal(rng);
            ref::ref_quantize_row(t, row.data(), w.data() + size_t(r) * row_bytes, s.n_in);
        }
        return w;
    }
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : w)
        b = uint8_t(byte(rng));
    const DTypeInfo& info = dtype_info(t);
    const uint16_t d = f32_to_fp16(0.01f);
    for (size_t off = 0; off < w.size(); off += info.type_size)
        std::memcpy(w.data() + off, &d, 2);
    return w;
}

// Weights on transparent huge pages where the kernel allows them, as the model's arena (model/weights.cpp) and
// bench_membw: with 4 KiB pages one core streams about a fifth less.
class HugeBuffer {
public:
    explicit HugeBuffer(size_t n) : n_((n + kHuge - 1) / kHuge * kHuge) {
        p_ = static_cast<uint8_t*>(std::aligned_alloc(kHuge, n_));
        if (p_ == nullptr) throw std::bad_alloc();
        madvise(p_, n_, MADV_HUGEPAGE);
    }
    ~HugeBuffer() { std::free(p_); }
    HugeBuffer(const HugeBuffer&) = delete;
    HugeBuffer& operator=(const HugeBuffer&) = delete;
    uint8_t* data() { return p_; }

private:
    static constexpr size_t kHuge = size_t(2) << 20;
    size_t n_;
    uint8_t* p_;
};

// isa "avx2-x16" / "avx512-x16": that table's kernels over weights repacked x16 (kernels/cpu/packed.h), as models load.
void bm_matmul(benchmark::State& state, std::string isa, DType t, Shape s, bool stream, int64_t n_tokens) {
    CpuFeatures f = detect_cpu_features();
    if (isa.starts_with("avx2") || isa.starts_with("avxvnni")) f.avx512f = false;
    if (isa.starts_with("avx2")) f.avxvnni = false;
    const cpu::KernelTable table = isa == "scalar" ? cpu::make_scalar_table() : cpu::make_kernel_table(f);
    const char* env = std::getenv("HEARTH_BENCH_THREADS");
    ThreadPool pool(env ? std::atoi(env) : 1);
    const bool packed = isa.ends_with("-x16");

    std::vector<uint8_t> one = make_matrix(t, s);
    if (packed) {
        std::vector<uint8_t> p(cpu::packed_bytes(t, s.n_out, s.n_in));
        cpu::pack_x16(t, one.data(), s.n_out, s.n_in, p.data());
        one = std::move(p);
    }
    const size_t copies = stream ? std::max<size_t>(2, (size_t(256) << 20) / one.size() + 1) : 1;
    HugeBuffer ring(one.size() * copies);
    for (size_t c = 0; c < copies; ++c)
        std::memcpy(ring.data() + c * one.size(), one.data(), one.size());
    // y on a 64-byte boundary, as the CPU backend allocates it (the AVX-512 decode kernels write whole lines of it
    // without reading them first there).
    std::vector<float> x(static_cast<size_t>(s.n_in * n_tokens));
    std::vector<float> y_buf(static_cast<size_t>(s.n_out * n_tokens) + 16);
    float* const y_data = y_buf.data() + (64 - reinterpret_cast<uintptr_t>(y_buf.data()) % 64) % 64 / sizeof(float);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& v : x)
        v = normal(rng);
    std::vector<uint32_t> scratch(
        (packed ? cpu::packed_act_bytes(t, n_tokens, s.n_in) : cpu::act_scratch_bytes(table, t, n_tokens, s.n_in)) / 4 +
        1);

    size_t c = 0;
    for (auto _ : state) {
        if (packed)
            cpu::matmul_packed(table, pool, t, ring.data() + c * one.size(), s.n_out, s.n_in, x.data(), n_tokens,
                               y_data, scratch.data());
        else
            cpu::matmul(table, pool, t, ring.data() + c * one.size(), s.n_out, s.n_in, x.data(), n_tokens, y_data,
                        scratch.data());
        benchmark::DoNotOptimize(y_data);
        c = (c + 1) % copies;
    }
    if (n_tokens == 1) {
        state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(one.size()));
        state.counters["MB"] = double(one.size()) / 1e6;
    } else {
        state.SetItemsProcessed(int64_t(state.iterations()) * s.n_in * s.n_out * n_tokens); // MACs
    }
}

// The ceiling for the stream variants: a plain summing loop (bench_membw's) over a huge-page ring of the same total
// size, in GB/s, on the pool's threads like the matmuls (the ratio matmul_decode/.../stream : this is the fraction
// of one core's read rate a decode kernel reaches).
__attribute__((noinline)) uint64_t sum_range(const uint64_t* p, size_t n) {
    uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k)
            a[k] += p[i + k];
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

// A ring of `copies` chunks of `chunk` bytes on huge pages; each iteration splits the next chunk over the pool's
// threads in units of `unit` bytes, each calling read(its first byte, its byte count), and counts the chunk's bytes.
template <typename Read> void bm_ring(benchmark::State& state, size_t chunk, size_t copies, size_t unit, Read read) {
    const char* env = std::getenv("HEARTH_BENCH_THREADS");
    ThreadPool pool(env ? std::atoi(env) : 1);
    HugeBuffer ring(chunk * copies);
    for (size_t i = 0; i < chunk * copies; ++i)
        ring.data()[i] = uint8_t(i * 131);
    size_t c = 0;
    std::atomic<uint64_t> sink{0};
    for (auto _ : state) {
        const uint8_t* base = ring.data() + c * chunk;
        pool.run([&](int ith, int nth) {
            const auto [lo, hi] = ThreadPool::split(int64_t(chunk / unit), ith, nth);
            sink.fetch_add(read(base + unit * size_t(lo), size_t(hi - lo) * unit), std::memory_order_relaxed);
        });
        c = (c + 1) % copies;
    }
    benchmark::DoNotOptimize(sink.load());
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(chunk));
}

void bm_sum_stream(benchmark::State& state) { // >= 256 MiB, as the matmul rings
    bm_ring(state, size_t(4) << 20, 65, 8,
            [](const uint8_t* p, size_t n) { return sum_range(reinterpret_cast<const uint64_t*>(p), n / 8); });
}

// How much arithmetic a stream can carry: the summing loop over 256-byte steps with kOps independent vpternlogd per
// 64-byte line and nothing else, prefetching as the x16 decode kernels do (x16_tiles.h: into L1 3 KB ahead, into L2 6
// KB ahead). /hot runs it over one 1 MiB buffer (L2-resident: the arithmetic's own rate), /stream over the 260 MiB
// ring. A decode kernel whose matmul_decode/.../hot rate is R can stream at about what this loop streams at the kOps
// whose /hot rate is R: the share of the bus the overlap of arithmetic and reading leaves, whatever the kernel.
template <int kOps> __attribute__((target("avx512f"), noinline)) uint64_t sum_alu(const uint8_t* p, size_t n) {
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    __m512i x0 = _mm512_set1_epi32(1), x1 = x0, x2 = x0, x3 = x0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        const uint8_t* q = p + i;
        for (int k = 0; k < 4; ++k)
            _mm_prefetch(reinterpret_cast<const char*>(q + 3072 + 64 * k), _MM_HINT_T0);
        for (int k = 0; k < 4; ++k)
            _mm_prefetch(reinterpret_cast<const char*>(q + 6144 + 64 * k), _MM_HINT_T1);
        const __m512i l0 = _mm512_loadu_si512(q), l1 = _mm512_loadu_si512(q + 64);
        const __m512i l2 = _mm512_loadu_si512(q + 128), l3 = _mm512_loadu_si512(q + 192);
        a = _mm512_add_epi64(a, l0);
        b = _mm512_add_epi64(b, l1);
        c = _mm512_add_epi64(c, l2);
        d = _mm512_add_epi64(d, l3);
#pragma GCC unroll 32
        for (int k = 0; k < kOps; ++k) { // 4 independent chains, one op per line per step
            x0 = _mm512_ternarylogic_epi32(x0, l0, l1, 0x96);
            x1 = _mm512_ternarylogic_epi32(x1, l1, l2, 0x96);
            x2 = _mm512_ternarylogic_epi32(x2, l2, l3, 0x96);
            x3 = _mm512_ternarylogic_epi32(x3, l3, l0, 0x96);
        }
    }
    const __m512i s = _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d));
    const __m512i x = _mm512_xor_si512(_mm512_xor_si512(x0, x1), _mm512_xor_si512(x2, x3));
    alignas(64) uint64_t lanes[8];
    _mm512_store_si512(lanes, _mm512_xor_si512(s, x));
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

template <int kOps> void bm_alu(benchmark::State& state, bool stream) {
    bm_ring(state, stream ? size_t(4) << 20 : size_t(1) << 20, stream ? 65 : 1, 256,
            [](const uint8_t* p, size_t n) { return sum_alu<kOps>(p, n); });
}

} // namespace

int main(int argc, char** argv) {
    const std::string best = hearth::cpu::make_kernel_table(hearth::detect_cpu_features()).isa;
    std::vector<std::string> isas = {"scalar"};
    if (best != "scalar") isas.push_back("avx2");
    if (best == "avx512") isas.push_back("avx512");
    std::vector<std::string> x16_isas = isas; // AVX-VNNI differs from AVX2 only in the x16 kernels
    if (best != "scalar" && hearth::detect_cpu_features().avxvnni) x16_isas.insert(x16_isas.begin() + 2, "avxvnni");
    const hearth::cpu::KernelTable best_table = hearth::cpu::make_kernel_table(hearth::detect_cpu_features());
    // The x16 variants (AVX2, AVX-VNNI, AVX-512) where the table has a packed kernel for the type and the shape packs.
    auto isas_for = [&](hearth::DType t, Shape s) {
        std::vector<std::string> v = isas;
        const bool packs = best_table.traits[static_cast<uint32_t>(t)].packed_gemm != nullptr &&
                           hearth::cpu::packable(t, s.n_out, s.n_in);
        for (const auto& isa : x16_isas)
            if (packs && isa != "scalar") v.push_back(isa + "-x16");
        return v;
    };
    const hearth::DType types[] = {
        hearth::DType::Q4_0,   hearth::DType::Q4_1,   hearth::DType::Q5_0, hearth::DType::Q5_1, hearth::DType::Q8_0,
        hearth::DType::Q2_K,   hearth::DType::Q3_K,   hearth::DType::Q4_K, hearth::DType::Q5_K, hearth::DType::Q6_K,
        hearth::DType::IQ4_NL, hearth::DType::IQ4_XS, hearth::DType::F16,  hearth::DType::BF16, hearth::DType::F32,
    };
    benchmark::RegisterBenchmark("membw_sum/stream", bm_sum_stream)->Unit(benchmark::kMicrosecond)->UseRealTime();
    if (best == "avx512") {
        auto reg = [&]<int kOps>() {
            for (bool stream : {false, true})
                benchmark::RegisterBenchmark(
                    ("membw_alu/" + std::to_string(kOps) + (stream ? "/stream" : "/hot")).c_str(),
                    [stream](benchmark::State& st) { bm_alu<kOps>(st, stream); })
                    ->Unit(benchmark::kMicrosecond)
                    ->UseRealTime();
        };
        reg.template operator()<0>();
        reg.template operator()<2>();
        reg.template operator()<4>();
        reg.template operator()<6>();
        reg.template operator()<8>();
        reg.template operator()<12>();
        reg.template operator()<16>();
    }
    const Shape shapes[] = {{896, 4864}, {4864, 896}};
    for (bool stream : {false, true}) {
        for (const Shape& s : shapes) {
            for (hearth::DType t : types) {
                if (s.n_in % hearth::dtype_info(t).block_size != 0) continue; // 896 is not a K-quant row
                for (const auto& isa : isas_for(t, s)) {
                    const std::string name = std::string("matmul_decode/") + std::string(hearth::dtype_name(t)) + "/" +
                                             isa + "/" + std::to_string(s.n_in) + "x" + std::to_string(s.n_out) +
                                             (stream ? "/stream" : "/hot");
                    benchmark::RegisterBenchmark(name.c_str(), bm_matmul, isa, t, s, stream, int64_t(1))
                        ->Unit(benchmark::kMicrosecond);
                }
            }
        }
    }
    const Shape prefill{1536, 8960};
    for (hearth::DType t : types) {
        for (const auto& isa : isas_for(t, prefill)) {
            if (isa == "scalar") continue; // minutes per iteration
            const std::string name =
                std::string("matmul_prefill/") + std::string(hearth::dtype_name(t)) + "/" + isa + "/1536x8960/t128";
            benchmark::RegisterBenchmark(name.c_str(), bm_matmul, isa, t, prefill, false, int64_t(128))
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime(); // the pool's threads do the work, not the timing thread
        }
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
