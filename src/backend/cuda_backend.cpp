#include "backend/cuda_backend.h"

#include "base/check.h"
#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/group_decode.h"
#include "kernels/ref/quant.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime_api.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace hearth {
namespace {

// A failed CUDA call here is a broken invariant (memory was checked before load; kernels are launched with valid
// shapes) or a device fault: abort with CUDA's words rather than compute on.
void check_cuda(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    std::fprintf(stderr, "hearth: CUDA error: %s: %s\n", what, cudaGetErrorString(e));
    std::abort();
}

void free_device(void* p) {
    cudaFree(p);
}

// The whole pages inside [p, p + n) go back to the kernel (a read-only file mapping re-reads them if touched).
void release_pages(const uint8_t* p, size_t n) {
    const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(p) + page - 1) / page * page;
    const uintptr_t end = (uintptr_t(p) + n) / page * page;
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

class CudaBackend final : public Backend {
public:
    CudaBackend(int device, const cudaDeviceProp& prop) : device_(device) {
        name_ = "cuda:" + std::to_string(device);
        isa_ = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
        check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    }
    ~CudaBackend() override {
        cudaSetDevice(device_);
        cudaStreamSynchronize(stream_);
        for (void* p : owned_)
            cudaFree(p);
        cudaFree(args_);
        cudaStreamDestroy(stream_);
    }

    const std::string& name() const override { return name_; }
    const std::string& isa() const override { return isa_; }
    int n_threads() const override { return 1; }
    bool supports(DType t) const override { return gpu::group_decodable(t); }
    std::optional<uint64_t> device_memory_free() const override {
        use();
        size_t free = 0, total = 0;
        check_cuda(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
        return uint64_t(free);
    }

    int prepare_weights(std::span<Matrix* const> ms, Matrix* embedding) override {
        use();
        int n = 0;
        for (Matrix* m : ms) {
            if (!m->present() || m->packed != nullptr || !supports(m->type)) continue;
            const size_t bytes = size_t(m->rows) * m->row_bytes;
            void* d = device_alloc(bytes);
            check_cuda(cudaMemcpy(d, m->data, bytes, cudaMemcpyHostToDevice), "upload weights");
            m->packed = static_cast<const uint8_t*>(d);
            const bool over_embedding = embedding != nullptr && m->data == embedding->data;
            if (over_embedding && m->type == embedding->type && m->rows == embedding->rows &&
                m->cols == embedding->cols)
                embedding->packed = m->packed; // get_rows reads the tied copy on the device
            if (!over_embedding) release_pages(m->data, bytes);
            ++n;
        }
        return n;
    }
    const float* upload_vector(const float* host, int64_t n) override {
        use();
        void* d = device_alloc(size_t(n) * sizeof(float));
        check_cuda(cudaMemcpy(d, host, size_t(n) * sizeof(float), cudaMemcpyHostToDevice), "upload vector");
        return static_cast<const float*>(d);
    }

    void* alloc_bytes(size_t bytes) override {
        use();
        void* p = nullptr;
        check_cuda(cudaMalloc(&p, std::max<size_t>(bytes, 1)), "cudaMalloc");
        // On our stream: it does not wait for the legacy default stream (cudaStreamNonBlocking).
        check_cuda(cudaMemsetAsync(p, 0, bytes, stream_), "cudaMemset");
        return p;
    }
    BackendFree free_fn() const override { return BackendFree{&free_device}; }
    void read(const float* src, float* host_dst, size_t n) override {
        use();
        check_cuda(cudaMemcpyAsync(host_dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream_), "read");
        check_cuda(cudaStreamSynchronize(stream_), "read (an earlier kernel failed)");
    }
    void write(const float* host_src, float* dst, size_t n) override {
        use();
        check_cuda(cudaMemcpyAsync(dst, host_src, n * sizeof(float), cudaMemcpyHostToDevice, stream_), "write");
        check_cuda(cudaStreamSynchronize(stream_), "write");
    }

    void reserve(const WorkspaceNeed& need) override {
        // The argument area: positions, key ends, rows (int32) and two cache pointers per token, RoPE factors.
        const size_t bytes = size_t(std::max(need.n_batch, 1)) * (3 * sizeof(int32_t) + 2 * sizeof(void*)) +
                             size_t(kMaxRopeHalf) * sizeof(float) + 256;
        if (bytes <= args_bytes_) return;
        use();
        check_cuda(cudaStreamSynchronize(stream_), "reserve");
        cudaFree(args_);
        args_ = nullptr;
        check_cuda(cudaMalloc(&args_, bytes), "cudaMalloc (arguments)");
        args_bytes_ = bytes;
        args_tokens_ = std::max(need.n_batch, 1);
    }
    uint64_t workspace_bytes() const override { return args_bytes_; }

    void matmul(const Matrix& w, const float* x, int64_t n_tokens, float* y) override {
        HEARTH_CHECK(w.packed != nullptr, "matmul: a matrix prepare_weights did not take");
        use();
        cuda::matmul(w.type, w.packed, w.rows, w.cols, w.row_bytes, x, n_tokens, y, stream_);
    }
    void get_rows(const Matrix& table, const int32_t* rows, int32_t n, float* x) override {
        use();
        if (table.packed != nullptr) {
            const int32_t* d_rows = upload_ints(rows, n, kRows);
            cuda::get_rows(table.type, table.packed, table.cols, table.row_bytes, d_rows, n, x, stream_);
            return;
        }
        // A host table (BERT's positions and token types, an untied embedding): rows dequantized here, uploaded.
        staging_.resize(size_t(n) * size_t(table.cols));
        for (int32_t t = 0; t < n; ++t)
            ref::ref_dequantize_row(table.type, table.data + size_t(rows[t]) * table.row_bytes,
                                    staging_.data() + size_t(t) * size_t(table.cols), table.cols);
        write(staging_.data(), x, staging_.size());
    }
    void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) override {
        use();
        cuda::rms_norm(x, w, y, n_rows, n, eps, stream_);
    }
    void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n,
                    float eps) override {
        use();
        cuda::layer_norm(x, w, b, y, n_rows, n, eps, stream_);
    }
    void rope(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
              const RopeParams& p) override {
        use();
        cuda::RopeArgs a;
        a.n_dims = p.n_dims;
        a.base = p.base;
        a.freq_scale = p.freq_scale;
        a.attn_factor = p.attn_factor;
        a.neox = p.style == RopeStyle::Neox;
        if (p.freq_factors != nullptr) {
            HEARTH_CHECK(p.n_dims / 2 <= kMaxRopeHalf, "rope dims out of range (config.cpp checks)");
            auto* d = reinterpret_cast<float*>(args_area(kRopeFactors));
            check_cuda(cudaMemcpyAsync(d, p.freq_factors, size_t(p.n_dims / 2) * sizeof(float), cudaMemcpyHostToDevice,
                                       stream_),
                       "rope factors");
            a.freq_factors = d;
        }
        cuda::rope(x, n_tokens, n_heads, head_dim, upload_ints(pos, int32_t(n_tokens), kPos), a, stream_);
    }
    void attention(const AttnParams& p, const float* q, const float* k, const float* v, const int32_t* pos,
                   int64_t n_tokens, const LayerKv* kv, float* out) override {
        if (n_tokens <= 0) return;
        use();
        HEARTH_CHECK(p.head_dim_k <= cuda::kMaxHeadDim && p.head_dim_v <= cuda::kMaxHeadDim,
                     "attention: head dims above kMaxHeadDim");
        cuda::AttnArgs a{p.n_head, p.n_head_kv, p.head_dim_k, p.head_dim_v, p.scale, p.window};
        a.pos = upload_ints(pos, int32_t(n_tokens), kPos);
        if (p.key_end != nullptr) a.key_end = upload_ints(p.key_end, int32_t(n_tokens), kKeyEnd);
        ptrs_.resize(2 * size_t(n_tokens));
        for (int64_t t = 0; t < n_tokens; ++t) {
            ptrs_[size_t(t)] = kv[t].k;
            ptrs_[size_t(n_tokens + t)] = kv[t].v;
        }
        HEARTH_CHECK(n_tokens <= args_tokens_, "attention: workspace not reserved");
        auto** d = reinterpret_cast<uint16_t**>(args_area(kCachePtrs));
        check_cuda(cudaMemcpyAsync(d, ptrs_.data(), ptrs_.size() * sizeof(void*), cudaMemcpyHostToDevice, stream_),
                   "cache pointers");
        a.k_cache = d;
        a.v_cache = d + n_tokens;
        cuda::kv_store(k, v, n_tokens, a, stream_);
        cuda::attention(q, n_tokens, a, out, stream_);
    }
    void glu(float* gate, const float* up, int64_t n, FfnAct act) override {
        use();
        cuda::glu(gate, up, n, act == FfnAct::GeluTanh, stream_);
    }
    void add(float* x, const float* y, int64_t n) override {
        use();
        cuda::add(x, y, n, stream_);
    }
    void add_row(float* x, const float* b, int64_t n_rows, int64_t n) override {
        use();
        cuda::add_row(x, b, n_rows, n, stream_);
    }
    void scale(float* x, int64_t n, float s) override {
        use();
        cuda::scale(x, n, s, stream_);
    }
    void softcap(float* x, int64_t n, float cap) override {
        use();
        cuda::softcap(x, n, cap, stream_);
    }
    void copy_cols(const float* src, int64_t n_rows, int64_t src_cols, int64_t col0, int64_t n_cols,
                   float* dst) override {
        use();
        cuda::copy_cols(src, n_rows, src_cols, col0, n_cols, dst, stream_);
    }

private:
    // Regions of the argument area (reserve sizes it for args_tokens_ tokens).
    enum Region { kPos, kKeyEnd, kRows, kCachePtrs, kRopeFactors };
    uint8_t* args_area(Region r) const {
        HEARTH_CHECK(args_ != nullptr, "backend op before reserve");
        const size_t ints = size_t(args_tokens_) * sizeof(int32_t);
        const size_t ptrs = (3 * ints + 15) / 16 * 16;
        switch (r) {
        case kPos:
            return static_cast<uint8_t*>(args_);
        case kKeyEnd:
            return static_cast<uint8_t*>(args_) + ints;
        case kRows:
            return static_cast<uint8_t*>(args_) + 2 * ints;
        case kCachePtrs:
            return static_cast<uint8_t*>(args_) + ptrs;
        default:
            return static_cast<uint8_t*>(args_) + ptrs + 2 * size_t(args_tokens_) * sizeof(void*);
        }
    }
    // Copies n host ints to the region (in stream order: the kernels before it have read the previous contents).
    const int32_t* upload_ints(const int32_t* host, int32_t n, Region r) {
        HEARTH_CHECK(n <= args_tokens_, "backend op: more tokens than reserved");
        auto* d = reinterpret_cast<int32_t*>(args_area(r));
        if (n > 0)
            check_cuda(cudaMemcpyAsync(d, host, size_t(n) * sizeof(int32_t), cudaMemcpyHostToDevice, stream_),
                       "arguments");
        return d;
    }
    void* device_alloc(size_t bytes) {
        void* p = nullptr;
        check_cuda(cudaMalloc(&p, std::max<size_t>(bytes, 1)), "cudaMalloc (weights)");
        owned_.push_back(p);
        return p;
    }
    // The CUDA runtime's current device is per thread; the inference thread may not be the one that made us.
    void use() const { check_cuda(cudaSetDevice(device_), "cudaSetDevice"); }

    int device_;
    std::string name_, isa_;
    cudaStream_t stream_ = nullptr;
    std::vector<void*> owned_; // weights and vectors
    void* args_ = nullptr;
    size_t args_bytes_ = 0;
    int32_t args_tokens_ = 0;
    std::vector<float> staging_;  // host rows for get_rows of a host table
    std::vector<uint16_t*> ptrs_; // host cache pointers for attention
};

} // namespace

bool cuda_built() {
    return true;
}

int cuda_device_count() {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

Result<std::unique_ptr<Backend>> make_cuda_backend(int device) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
        return error(std::string("no usable CUDA device here (CUDA says: ") + cudaGetErrorString(e) + ")");
    if (device < 0 || device >= n)
        return error("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(n) + " present)");
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device) != cudaSuccess || cudaSetDevice(device) != cudaSuccess)
        return error("CUDA device " + std::to_string(device) + " cannot be used");
    return std::unique_ptr<Backend>(std::make_unique<CudaBackend>(device, prop));
}

} // namespace hearth
