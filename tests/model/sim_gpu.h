// tests/model/sim_gpu.h: a simulated GPU for the memory tests. SimGpu computes with the CPU kernels but keeps an
// account of its own memory (the matrices prepare_weights takes, every alloc and free), as a device would, so what
// the runtime and the engine count is checked against what was really put on it, on a machine without one. Backends
// made over one SimGpuMemory share it, as models loaded on the same GPU do.
#pragma once

#include "backend/backend.h"
#include "backend/cpu_backend.h"
#include "base/cpu_features.h"
#include "kernels/cpu/ops.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace hearth::test {

// Device memory: a 64-byte header holding the block's size and the account it was charged to, then the zeroed bytes.
struct SimBlockHeader {
    std::atomic<uint64_t>* account;
    size_t bytes;
};
static_assert(sizeof(SimBlockHeader) <= 64);

inline void sim_free(void* p) {
    if (p == nullptr) return;
    auto* raw = static_cast<uint8_t*>(p) - 64;
    SimBlockHeader h;
    std::memcpy(&h, raw, sizeof h);
    h.account->fetch_sub(h.bytes);
    std::free(raw);
}

// One simulated device's memory, which several SimGpu backends (models loaded on the same GPU) may share.
struct SimGpuMemory {
    explicit SimGpuMemory(uint64_t c) : capacity(c) {}
    uint64_t capacity;
    std::atomic<uint64_t> used{0};
};

class SimGpu final : public Backend {
public:
    explicit SimGpu(uint64_t capacity) : SimGpu(std::make_shared<SimGpuMemory>(capacity)) {}
    explicit SimGpu(std::shared_ptr<SimGpuMemory> memory)
        : cpu_(make_cpu_backend(cpu::make_kernel_table(detect_cpu_features()), 1)), mem_(std::move(memory)) {}
    ~SimGpu() override { mem_->used -= weights_; } // the weights it took go with it (its blocks are freed by theirs)

    uint64_t used() const { return mem_->used.load(); }

    const std::string& name() const override { return name_; }
    const std::string& isa() const override { return cpu_->isa(); }
    int n_threads() const override { return cpu_->n_threads(); }
    bool supports(DType t) const override { return cpu_->supports(t); }
    std::optional<uint64_t> device_memory_free() const override {
        const uint64_t u = mem_->used.load();
        return mem_->capacity > u ? mem_->capacity - u : 0;
    }
    int prepare_weights(std::span<Matrix* const> ms, Matrix* embedding) override {
        for (const Matrix* m : ms)
            if (m->present()) weights_ += uint64_t(m->rows) * m->row_bytes; // "uploaded"
        mem_->used += weights_;
        return cpu_->prepare_weights(ms, embedding);
    }
    const float* upload_vector(const float* host, int64_t n) override { return cpu_->upload_vector(host, n); }
    void* alloc_bytes(size_t bytes) override {
        auto* raw = static_cast<uint8_t*>(std::aligned_alloc(64, 64 + (bytes + 63) / 64 * 64));
        if (raw == nullptr) std::abort();
        std::memset(raw + 64, 0, bytes);
        const SimBlockHeader h{&mem_->used, bytes};
        std::memcpy(raw, &h, sizeof h);
        mem_->used += bytes;
        return raw + 64;
    }
    BackendFree free_fn() const override { return BackendFree{sim_free}; }
    void read(const float* src, float* host_dst, size_t n) override { cpu_->read(src, host_dst, n); }
    void write(const float* host_src, float* dst, size_t n) override { cpu_->write(host_src, dst, n); }
    void reserve(const WorkspaceNeed& need) override { cpu_->reserve(need); }
    uint64_t workspace_bytes() const override { return 0; } // the CPU's, in host memory: not the device's
    void matmul(const Matrix& w, const float* x, int64_t n_tokens, float* y) override {
        cpu_->matmul(w, x, n_tokens, y);
    }
    void get_rows(const Matrix& table, const int32_t* rows, int32_t n, float* x) override {
        cpu_->get_rows(table, rows, n, x);
    }
    void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) override {
        cpu_->rms_norm(x, w, y, n_rows, n, eps);
    }
    void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n,
                    float eps) override {
        cpu_->layer_norm(x, w, b, y, n_rows, n, eps);
    }
    void rope(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
              const RopeParams& p) override {
        cpu_->rope(x, n_tokens, n_heads, head_dim, pos, p);
    }
    void attention(const AttnParams& p, const float* q, const float* k, const float* v, const int32_t* pos,
                   int64_t n_tokens, const LayerKv* kv, float* out) override {
        cpu_->attention(p, q, k, v, pos, n_tokens, kv, out);
    }
    void glu(float* gate, const float* up, int64_t n, FfnAct act) override { cpu_->glu(gate, up, n, act); }
    void add(float* x, const float* y, int64_t n) override { cpu_->add(x, y, n); }
    void add_row(float* x, const float* b, int64_t n_rows, int64_t n) override { cpu_->add_row(x, b, n_rows, n); }
    void scale(float* x, int64_t n, float s) override { cpu_->scale(x, n, s); }
    void softcap(float* x, int64_t n, float cap) override { cpu_->softcap(x, n, cap); }
    void copy_cols(const float* src, int64_t n_rows, int64_t src_cols, int64_t col0, int64_t n_cols,
                   float* dst) override {
        cpu_->copy_cols(src, n_rows, src_cols, col0, n_cols, dst);
    }

private:
    std::unique_ptr<Backend> cpu_;
    std::shared_ptr<SimGpuMemory> mem_;
    uint64_t weights_ = 0;
    std::string name_ = "sim-gpu";
};

} // namespace hearth::test
