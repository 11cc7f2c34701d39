// What a model with layers on a GPU holds where: Runtime::estimate_memory's host and device parts, the weights the
// device took, its pass scratch, and check_memory's refusal, against a simulated GPU (sim_gpu.h).
#include "backend/cpu_backend.h"
#include "base/cpu_features.h"
#include "gguf/gguf.h"
#include "hearth/runtime.h"
#include "kernels/cpu/ops.h"
#include "sim_gpu.h"
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

using test::SimGpu;

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
