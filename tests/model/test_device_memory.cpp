// What a model with layers on a GPU holds where: Runtime::estimate_memory's host and device parts, the weights the
// device took, its pass scratch, and check_memory's refusal, against a simulated GPU. SimGpu computes with the CPU
// kernels but keeps an account of its own memory (the matrices prepare_weights takes, every alloc and free), as a
// device would, so the runtime's figures are checked against what was really put on it, on a machine without one.
#include "backend/cpu_backend.h"
#include "base/cpu_features.h"
#include "gguf/gguf.h"
#include "hearth/runtime.h"
#include "kernels/cpu/ops.h"
#include "tiny_decoders.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hearth {
namespace {

// Device memory: a 64-byte header holding the block's size and the account it was charged to, then the zeroed bytes.
struct Header {
    std::atomic<uint64_t>* account;
    size_t bytes;
};
static_assert(sizeof(Header) <= 64);

void sim_free(void* p) {
    if (p == nullptr) return;
    auto* raw = static_cast<uint8_t*>(p) - 64;
    Header h;
    std::memcpy(&h, raw, sizeof h);
    h.account->fetch_sub(h.bytes);
    std::free(raw);
}

class SimGpu final : public Backend {
public:
    explicit SimGpu(uint64_t capacity)
        : cpu_(make_cpu_backend(cpu::make_kernel_table(detect_cpu_features()), 1)), capacity_(capacity) {}

    uint64_t used() const { return used_.load(); }

    const std::string& name() const override { return name_; }
    const std::string& isa() const override { return cpu_->isa(); }
    int n_threads() const override { return cpu_->n_threads(); }
    bool supports(DType t) const override { return cpu_->supports(t); }
    std::optional<uint64_t> device_memory_free() const override {
        const uint64_t u = used_.load();
        return capacity_ > u ? capacity_ - u : 0;
    }
    int prepare_weights(std::span<Matrix* const> ms, Matrix* embedding) override {
        for (const Matrix* m : ms)
            if (m->present()) used_ += uint64_t(m->rows) * m->row_bytes; // "uploaded"
        return cpu_->prepare_weights(ms, embedding);
    }
    const float* upload_vector(const float* host, int64_t n) override { return cpu_->upload_vector(host, n); }
    void* alloc_bytes(size_t bytes) override {
        auto* raw = static_cast<uint8_t*>(std::aligned_alloc(64, 64 + (bytes + 63) / 64 * 64));
        if (raw == nullptr) std::abort();
        std::memset(raw + 64, 0, bytes);
        const Header h{&used_, bytes};
        std::memcpy(raw, &h, sizeof h);
        used_ += bytes;
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
    uint64_t capacity_;
    std::atomic<uint64_t> used_{0};
    std::string name_ = "sim-gpu";
};

// The bytes of the matrices of layers [first, n_layer) and of the output matrix (the tied embedding when the file has
// no output.weight), from the file's tensor list: what the device's split should take.
uint64_t device_matrix_bytes(const std::string& path, int32_t first) {
    auto f = gguf::File::open(path);
    EXPECT_TRUE(f) << f.message();
    uint64_t n = 0;
    bool output = false;
    for (const auto& t : f->tensors()) {
        if (t.name == "output.weight") {
            n += t.n_bytes;
            output = true;
            continue;
        }
        int layer = -1;
        char what[64] = {};
        if (std::sscanf(t.name.c_str(), "blk.%d.%63[a-z_].weight", &layer, what) != 2 || layer < first) continue;
        for (const char* m :
             {"attn_q", "attn_k", "attn_v", "attn_qkv", "attn_output", "ffn_gate", "ffn_up", "ffn_down"})
            if (t.name == "blk." + std::to_string(layer) + "." + m + ".weight") n += t.n_bytes; // not the biases
    }
    if (!output)
        if (const auto* e = f->find_tensor("token_embd.weight")) n += e->n_bytes;
    return n;
}

class DeviceMemory : public ::testing::TestWithParam<const char*> {};

TEST_P(DeviceMemory, HostAndDevicePartsAreWhatEachHolds) {
    const std::string path = tiny_decoder(GetParam());
    RuntimeOptions ro;
    ro.n_threads = 1;
    ro.gpu_layers = 1; // the last layer and the output on the device
    auto gpu = std::make_unique<SimGpu>(uint64_t{1} << 32);
    SimGpu* sim = gpu.get();
    auto rt = Runtime::load_on(path, ro, std::move(gpu));
    ASSERT_TRUE(rt) << rt.message();
    const ModelInfo& info = (*rt)->info();
    ASSERT_GE(info.n_layer, 2);
    EXPECT_EQ((*rt)->device_layers(), 1);
    EXPECT_EQ((*rt)->device(), "sim-gpu");

    // The weights: what the device was given is what the runtime says it holds, and the file's matrices of its split.
    EXPECT_EQ(info.device_weight_bytes, sim->used());
    EXPECT_EQ(info.device_weight_bytes, device_matrix_bytes(path, info.n_layer - 1));
    EXPECT_GT(info.device_weight_bytes, 0u);
    EXPECT_LT(info.device_weight_bytes, info.weight_bytes);

    // The same model on the CPU alone, for the whole session's size.
    auto cpu_rt = Runtime::load(path, RuntimeOptions{1});
    ASSERT_TRUE(cpu_rt) << cpu_rt.message();
    const SessionOptions so{128, 16, true};
    auto whole = (*cpu_rt)->estimate_memory(so);
    ASSERT_TRUE(whole) << whole.message();
    EXPECT_FALSE(whole->on_device);
    EXPECT_EQ(whole->device_needed(), 0u);
    EXPECT_EQ(whole->weight_bytes, info.weight_bytes);

    auto est = (*rt)->estimate_memory(so);
    ASSERT_TRUE(est) << est.message();
    EXPECT_TRUE(est->on_device);
    EXPECT_EQ(est->weight_bytes, info.weight_bytes - info.device_weight_bytes);
    EXPECT_EQ(est->device_available, (uint64_t{1} << 32) - sim->used());
    EXPECT_EQ(est->session_bytes + est->device_session_bytes, whole->session_bytes);
    EXPECT_GT(est->device_session_bytes, 0u);

    // A session puts exactly the estimated KV cache on the device; a pass, the device's scratch.
    const uint64_t before = sim->used();
    auto s = (*rt)->create_session(so);
    ASSERT_TRUE(s) << s.message();
    EXPECT_EQ(sim->used() - before, est->device_session_bytes);
    EXPECT_EQ((*rt)->device_scratch_bytes(), 0u); // made at the first pass
    const std::vector<int32_t> prompt = {1, 2, 3, 4, 5};
    ASSERT_TRUE((*s)->feed(prompt).is_ok());
    const uint64_t scratch = sim->used() - before - est->device_session_bytes;
    EXPECT_GT(scratch, 0u);
    EXPECT_EQ((*rt)->device_scratch_bytes(), scratch);
    EXPECT_LE(scratch, est->device_scratch_bytes); // the estimate is an upper bound
    EXPECT_GT((*rt)->scratch_bytes(), 0u);         // the CPU layers' scratch, in host memory
    auto again = (*rt)->estimate_memory(so);
    ASSERT_TRUE(again) << again.message();
    // What the device holds already is not asked for twice (the estimate is for a server's batch of up to 128 tokens
    // here, this pass's scratch for 16).
    EXPECT_EQ(again->device_scratch_bytes, est->device_scratch_bytes - scratch);
    s->reset();
    EXPECT_EQ(sim->used(), before + scratch); // the session's KV cache went back to the device
}

TEST_P(DeviceMemory, ASessionThatDoesNotFitOnTheDeviceIsRefusedNamingIt) {
    const std::string path = tiny_decoder(GetParam());
    RuntimeOptions ro;
    ro.n_threads = 1;
    ro.gpu_layers = 1;
    // Room for the weights and 4 KiB: the KV cache of 128 tokens of one layer does not fit.
    const uint64_t weights = [&] {
        auto probe = Runtime::load_on(path, ro, std::make_unique<SimGpu>(uint64_t{1} << 32));
        EXPECT_TRUE(probe) << probe.message();
        return probe ? (*probe)->info().device_weight_bytes : 0;
    }();
    auto rt = Runtime::load_on(path, ro, std::make_unique<SimGpu>(weights + 4096));
    ASSERT_TRUE(rt) << rt.message();
    auto est = (*rt)->estimate_memory(SessionOptions{128, 16, true});
    ASSERT_TRUE(est) << est.message();
    EXPECT_EQ(est->device_available, 4096u);
    ASSERT_GT(est->device_needed(), 4096u);
    const Status st = check_memory(*est);
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("not enough device memory"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("--gpu-layers"), std::string::npos) << st.message();
    auto s = (*rt)->create_session(SessionOptions{128, 16, true});
    EXPECT_FALSE(s);
    // Host memory is not what is short: the same model on the CPU alone gets its session.
    auto cpu_rt = Runtime::load(path, RuntimeOptions{1});
    ASSERT_TRUE(cpu_rt) << cpu_rt.message();
    EXPECT_TRUE((*cpu_rt)->create_session(SessionOptions{128, 16, true}));
}

INSTANTIATE_TEST_SUITE_P(Tiny, DeviceMemory, ::testing::ValuesIn(kTinyDecoders), tiny_decoder_test_name);

} // namespace
} // namespace hearth
