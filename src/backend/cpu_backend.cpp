#include "backend/cpu_backend.h"

#include "base/check.h"
#include "base/fp16.h"
#include "base/thread_pool.h"
#include "kernels/cpu/packed.h"
#include "kernels/ref/quant.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace hearth {
namespace {

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<uint8_t[], FreeDeleter>;

// Memory for repacked weights. Buffers of 2 MiB or more are aligned to 2 MiB and asked for transparent huge pages
// before their first touch: decode streams every weight once per token, and with 4 KiB pages that is a TLB miss (a
// page walk) every 4 KiB and fewer page faults at load. Where THP is off the advice is ignored.
AlignedBytes alloc_weight_bytes(size_t bytes) {
    constexpr size_t kHuge = size_t{2} << 20;
    if (bytes < kHuge) return AlignedBytes(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
    const size_t size = (bytes + kHuge - 1) / kHuge * kHuge;
    AlignedBytes buf(static_cast<uint8_t*>(std::aligned_alloc(kHuge, size)));
    if (buf != nullptr) madvise(buf.get(), size, MADV_HUGEPAGE);
    return buf;
}

// The whole pages inside [p, p + n) go back to the kernel (a private read-only file mapping: touching them again
// would re-read the file).
void release_pages(const uint8_t* p, size_t n) {
    const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(p) + page - 1) / page * page;
    const uintptr_t end = (uintptr_t(p) + n) / page * page;
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// Backend memory: zeroed, and 64-byte aligned (whole cache lines: the AVX-512 decode kernels write their results
// without reading the lines first, kernels/cpu/avx512/util.h store_result). calloc keeps large blocks fresh zero pages
// the kernel maps only when first touched; the block's own address sits just before the aligned one, for free_host.
void* alloc_host(size_t bytes) {
    constexpr uintptr_t kAlign = 64;
    void* raw = std::calloc(1, bytes + kAlign + sizeof(void*));
    HEARTH_CHECK(raw != nullptr, "out of memory");
    const uintptr_t p = (reinterpret_cast<uintptr_t>(raw) + sizeof(void*) + kAlign - 1) / kAlign * kAlign;
    std::memcpy(reinterpret_cast<void*>(p - sizeof(void*)), &raw, sizeof(void*));
    return reinterpret_cast<void*>(p);
}

void free_host(void* p) {
    if (p == nullptr) return;
    void* raw = nullptr;
    std::memcpy(&raw, static_cast<uint8_t*>(p) - sizeof(void*), sizeof(void*));
    std::free(raw);
}

// GELU (tanh approximation) as ggml evaluates it: on the f16-rounded input, the result rounded to f16. Every f16
// input has one answer, so the whole function is a 65536-entry table.
float gelu_f16_exact(uint16_t h) {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    constexpr float kCoef = 0.044715f;
    const float x = fp16_to_f32(h);
    const float r = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
    return fp16_to_f32(f32_to_fp16(r));
}

float gelu_one(float g, const float* table) {
    if (g <= -10.0f) return 0.0f;
    if (g < 10.0f) return table[f32_to_fp16(g)];
    return g;
}

class CpuBackend final : public Backend {
public:
    CpuBackend(const cpu::KernelTable& kt, int n_threads, bool repack)
        : kt_(kt), pool_(n_threads), repack_(repack), name_("cpu-" + std::string(kt.isa)), isa_(kt.isa), gelu_(65536) {
        for (uint32_t h = 0; h < 65536; ++h)
            gelu_[h] = gelu_f16_exact(uint16_t(h));
    }

    const std::string& name() const override { return name_; }
    const std::string& isa() const override { return isa_; }
    int n_threads() const override { return pool_.size(); }
    bool supports(DType t) const override { return kt_.supports(t); }

    int prepare_weights(std::span<Matrix* const> ms, Matrix* tied_embedding) override;
    const float* upload_vector(const float* host, int64_t /*n*/) override { return host; }

    void* alloc_bytes(size_t bytes) override { return alloc_host(bytes); }
    BackendFree free_fn() const override { return BackendFree{&free_host}; }
    void read(const float* src, float* host_dst, size_t n) override {
        if (src != host_dst) std::memcpy(host_dst, src, n * sizeof(float));
    }
    void write(const float* host_src, float* dst, size_t n) override {
        if (host_src != dst) std::memcpy(dst, host_src, n * sizeof(float));
    }

    void reserve(const WorkspaceNeed& need) override;
    uint64_t workspace_bytes() const override {
        return uint64_t(scores_.capacity()) * sizeof(float) + uint64_t(act_.capacity());
    }

    void matmul(const Matrix& w, const float* x, int64_t n_tokens, float* y) override;
    void get_rows(const Matrix& table, const int32_t* rows, int32_t n, float* x) override;
    void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) override {
        for (int64_t r = 0; r < n_rows; ++r)
            kt_.rms_norm(x + r * n, w, y + r * n, n, eps);
    }
    void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n,
                    float eps) override;
    void rope(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
              const RopeParams& p) override;
    void attention(const AttnParams& p, const float* q, const float* k, const float* v, const int32_t* pos,
                   int64_t n_tokens, const LayerKv* kv, float* out) override;
    void glu(float* gate, const float* up, int64_t n, FfnAct act) override;
    void add(float* x, const float* y, int64_t n) override {
        for (int64_t i = 0; i < n; ++i)
            x[i] += y[i];
    }
    void add_row(float* x, const float* b, int64_t n_rows, int64_t n) override {
        for (int64_t r = 0; r < n_rows; ++r)
            add(x + r * n, b, n);
    }
    void scale(float* x, int64_t n, float s) override {
        for (int64_t i = 0; i < n; ++i)
            x[i] *= s;
    }
    void softcap(float* x, int64_t n, float cap) override {
        for (int64_t i = 0; i < n; ++i)
            x[i] = std::tanh(x[i] / cap) * cap;
    }
    void copy_cols(const float* src, int64_t n_rows, int64_t src_cols, int64_t col0, int64_t n_cols,
                   float* dst) override {
        for (int64_t r = 0; r < n_rows; ++r)
            std::memcpy(dst + r * n_cols, src + r * src_cols + col0, sizeof(float) * size_t(n_cols));
    }

private:
    cpu::KernelTable kt_;
    ThreadPool pool_;
    bool repack_;
    std::string name_, isa_;
    std::vector<AlignedBytes> arenas_; // repacked matrices (Matrix::packed), one arena per prepare_weights
    std::vector<float> scores_;        // (n_threads, attend_scratch_floats) attention scratch
    size_t scores_per_thread_ = 0;
    std::vector<uint8_t> act_; // activation quantization scratch for matmul
    std::vector<float> gelu_;  // (65536) ggml's GELU of every f16
};

int CpuBackend::prepare_weights(std::span<Matrix* const> ms, Matrix* tied) { // tied: the embedding
    if (!repack_) return 0;
    std::vector<Matrix*> todo;
    for (Matrix* m : ms) {
        if (!m->present() || m->packed != nullptr) continue;
        // Any matrix over the embedding's bytes but the tied output (only a malformed file has one) stays as it is.
        const bool over_embedding = tied != nullptr && m->data == tied->data;
        const bool is_tie = over_embedding && m->type == tied->type && m->rows == tied->rows && m->cols == tied->cols;
        if (over_embedding && (!is_tie || m->row_bytes > kMaxPackedEmbedRowBytes)) continue;
        if (kt_.traits[static_cast<uint32_t>(m->type)].packed_gemm == nullptr) continue;
        if (std::find(todo.begin(), todo.end(), m) != todo.end()) continue;
        if (cpu::packable(m->type, m->rows, m->cols)) todo.push_back(m);
    }
    if (todo.empty()) return 0;
    // One arena for all of them (huge pages: a buffer per matrix would round each up to 2 MiB), touched matrix by
    // matrix as each is packed and its file pages given back, so at no time are both copies resident in full.
    auto padded = [](const Matrix* m) { return (cpu::packed_bytes(m->type, m->rows, m->cols) + 63) / 64 * 64; };
    size_t total = 0;
    for (const Matrix* m : todo)
        total += padded(m);
    AlignedBytes arena = alloc_weight_bytes(total);
    HEARTH_CHECK(arena != nullptr, "out of memory repacking weights");
    uint8_t* out = arena.get();
    for (Matrix* m : todo) {
        const Matrix& mm = *m;
        // Groups of 16 rows are independent: each thread packs a contiguous run of them.
        pool_.run([&mm, out](int ith, int nth) {
            const auto [g0, g1] = ThreadPool::split(mm.rows / cpu::kPackRows, ith, nth);
            if (g1 <= g0) return;
            const size_t group = size_t(cpu::kPackRows) * mm.row_bytes;
            const size_t packed_group = cpu::packed_bytes(mm.type, cpu::kPackRows, mm.cols);
            cpu::pack_x16(mm.type, mm.data + size_t(g0) * group, (g1 - g0) * cpu::kPackRows, mm.cols,
                          out + size_t(g0) * packed_group);
        });
        release_pages(m->data, size_t(m->rows) * m->row_bytes);
        m->packed = out;
        if (tied != nullptr && m->data == tied->data) tied->packed = out; // embedding rows come from it too
        out += padded(m);
    }
    arenas_.push_back(std::move(arena));
    return int(todo.size());
}

void CpuBackend::reserve(const WorkspaceNeed& need) {
    size_t act = 0;
    for (const Matrix* w : need.matrices) {
        if (w == nullptr || !w->present()) continue;
        act = std::max(act, cpu::act_scratch_bytes(kt_, w->type, need.n_batch, w->cols));
        if (w->packed != nullptr) act = std::max(act, cpu::packed_act_bytes(w->type, need.n_batch, w->cols));
    }
    if (act > act_.size()) {
        act_.clear();
        act_.shrink_to_fit(); // free the old scratch before the new one is made
        act_.resize(act);
    }
    const size_t per = cpu::attend_scratch_floats(need.n_ctx, need.head_dim_k);
    if (per > scores_per_thread_) {
        scores_.clear();
        scores_.shrink_to_fit();
        scores_.resize(per * size_t(pool_.size()));
        scores_per_thread_ = per;
    }
}

void CpuBackend::matmul(const Matrix& w, const float* x, int64_t n_tokens, float* y) {
    if (w.packed != nullptr) {
        HEARTH_CHECK(cpu::packed_act_bytes(w.type, n_tokens, w.cols) <= act_.size(), "matmul: workspace not reserved");
        cpu::matmul_packed(kt_, pool_, w.type, w.packed, w.rows, w.cols, x, n_tokens, y, act_.data());
    } else {
        HEARTH_CHECK(cpu::act_scratch_bytes(kt_, w.type, n_tokens, w.cols) <= act_.size(),
                     "matmul: workspace not reserved");
        cpu::matmul(kt_, pool_, w.type, w.data, w.rows, w.cols, x, n_tokens, y, act_.data());
    }
}

void CpuBackend::get_rows(const Matrix& e, const int32_t* rows, int32_t n, float* x) {
    if (e.packed != nullptr) { // tied to a repacked output matrix: the row back in the file layout first
        alignas(64) uint8_t row[kMaxPackedEmbedRowBytes];
        HEARTH_CHECK(e.row_bytes <= sizeof(row), "embedding row too long");
        for (int32_t t = 0; t < n; ++t) {
            cpu::unpack_x16_row(e.type, e.packed, e.cols, rows[t], row);
            ref::ref_dequantize_row(e.type, row, x + int64_t{t} * e.cols, e.cols);
        }
        return;
    }
    for (int32_t t = 0; t < n; ++t)
        ref::ref_dequantize_row(e.type, e.data + size_t(rows[t]) * e.row_bytes, x + int64_t{t} * e.cols, e.cols);
}

void CpuBackend::layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n,
                            float eps) {
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        double sum = 0;
        for (int64_t i = 0; i < n; ++i)
            sum += static_cast<double>(xr[i]);
        const auto mean = static_cast<float>(sum / static_cast<double>(n));
        double sum2 = 0;
        for (int64_t i = 0; i < n; ++i) {
            const float d = xr[i] - mean;
            yr[i] = d;
            sum2 += static_cast<double>(d * d);
        }
        const auto var = static_cast<float>(sum2 / static_cast<double>(n));
        const float scale = 1.0f / std::sqrt(var + eps);
        for (int64_t i = 0; i < n; ++i)
            yr[i] = yr[i] * scale * w[i] + b[i];
    }
}

void CpuBackend::rope(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
                      const RopeParams& p) {
    const int32_t half = p.n_dims / 2;
    HEARTH_CHECK(half >= 0 && half <= kMaxRopeHalf, "rope dims out of range (config.cpp checks)");
    const float theta_scale = std::pow(p.base, -2.0f / static_cast<float>(p.n_dims));
    float cos_t[kMaxRopeHalf], sin_t[kMaxRopeHalf];
    for (int64_t t = 0; t < n_tokens; ++t) {
        float theta = static_cast<float>(pos[t]) * p.freq_scale;
        for (int32_t i = 0; i < half; ++i) {
            const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
            const float th = theta / ff;
            cos_t[i] = std::cos(th) * p.attn_factor;
            sin_t[i] = std::sin(th) * p.attn_factor;
            theta *= theta_scale;
        }
        kt_.rope(x + t * n_heads * head_dim, n_heads, head_dim, half, cos_t, sin_t, p.style == RopeStyle::Neox);
    }
}

void CpuBackend::glu(float* gate, const float* up, int64_t n, FfnAct act) {
    const float* gelu = gelu_.data();
    HEARTH_CHECK(up != nullptr || act != FfnAct::Silu, "glu: SiLU needs up");
    // Chunks of whole cache lines so threads never share one.
    constexpr int64_t kChunk = 16;
    const int64_t n_chunks = (n + kChunk - 1) / kChunk;
    pool_.run([&](int ith, int nth) {
        const auto [c0, c1] = ThreadPool::split(n_chunks, ith, nth);
        const int64_t i0 = c0 * kChunk, i1 = std::min(n, c1 * kChunk);
        if (i1 <= i0) return;
        if (act == FfnAct::Silu) {
            kt_.silu_mul(gate + i0, up + i0, i1 - i0);
            return;
        }
        for (int64_t i = i0; i < i1; ++i)
            gate[i] = up ? gelu_one(gate[i], gelu) * up[i] : gelu_one(gate[i], gelu);
    });
}

void CpuBackend::attention(const AttnParams& p, const float* q, const float* k, const float* v, const int32_t* pos,
                           int64_t n_tokens, const LayerKv* kv, float* out) {
    if (n_tokens <= 0) return;
    const size_t stride = cpu::attend_scratch_floats(p.n_ctx, p.head_dim_k);
    HEARTH_CHECK(stride <= scores_per_thread_, "attention: workspace not reserved");
    const int64_t k_row = int64_t{p.n_head_kv} * p.head_dim_k;
    const int64_t v_row = int64_t{p.n_head_kv} * p.head_dim_v;
    for (int64_t t = 0; t < n_tokens; ++t) {
        kt_.to_f16(k + t * k_row, kv[t].k + pos[t] * k_row, k_row);
        kt_.to_f16(v + t * v_row, kv[t].v + pos[t] * v_row, v_row);
    }
    // Work items: one token's query heads that share a cache head, in chunks of at most kAttnMaxQ, smaller when
    // there are fewer groups than threads (a decode step of a model with one cache head). The kernel computes every
    // query alone, so the chunking changes nothing in the results.
    const int32_t group = p.n_head / p.n_head_kv;
    const int64_t n_groups = n_tokens * p.n_head_kv;
    int32_t n_chunks = (group + cpu::kAttnMaxQ - 1) / cpu::kAttnMaxQ;
    const int64_t nth = pool_.size();
    if (n_groups * n_chunks < nth) n_chunks = int32_t(std::min<int64_t>(group, (nth + n_groups - 1) / n_groups));
    const int32_t chunk = (group + n_chunks - 1) / n_chunks;
    n_chunks = (group + chunk - 1) / chunk;
    const int64_t n_work = n_groups * n_chunks;
    float* scratch = scores_.data();
    const size_t per = scores_per_thread_;
    // Items go to the threads in turn, not in contiguous ranges: a causal token's cost grows with its position, so
    // contiguous ranges gave the last thread the longest prefixes of the pass (1.5B Q6_K pp2048, 2 threads: +1-5%).
    pool_.run([&](int ith, int nth_run) {
        float* sc = scratch + size_t(ith) * per;
        for (int64_t w = ith; w < n_work; w += nth_run) {
            const int64_t t = w / (int64_t{p.n_head_kv} * n_chunks);
            const auto hk = int32_t(w / n_chunks % p.n_head_kv);
            const int32_t h0 = hk * group + int32_t(w % n_chunks) * chunk;
            // The last key row this token sees: its own position (causal) or its input's last (encoders).
            const int32_t qp = p.key_end ? p.key_end[t] - 1 : pos[t];
            const int32_t j0 = p.window > 0 ? std::max(0, qp - p.window + 1) : 0;
            cpu::AttnGroup g;
            g.n_q = std::min(chunk, (hk + 1) * group - h0);
            g.q = q + (t * p.n_head + h0) * p.head_dim_k;
            g.q_stride = p.head_dim_k;
            g.k = kv[t].k + int64_t{j0} * k_row + int64_t{hk} * p.head_dim_k;
            g.v = kv[t].v + int64_t{j0} * v_row + int64_t{hk} * p.head_dim_v;
            g.k_stride = k_row;
            g.v_stride = v_row;
            g.n_keys = qp - j0 + 1;
            g.dim_k = p.head_dim_k;
            g.dim_v = p.head_dim_v;
            g.scale = p.scale;
            g.out = out + (t * p.n_head + h0) * p.head_dim_v;
            g.out_stride = p.head_dim_v;
            kt_.attend_f16(g, sc);
        }
    });
}

} // namespace

std::unique_ptr<Backend> make_cpu_backend(const cpu::KernelTable& kt, int n_threads, bool repack) {
    return std::make_unique<CpuBackend>(kt, std::max(1, n_threads), repack);
}

} // namespace hearth
