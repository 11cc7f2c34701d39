#include "model/weights.h"

#include "base/check.h"
#include "kernels/cpu/packed.h"
#include "kernels/ref/quant.h"
#include "model/archs/archs.h"

#include <cstdlib>
#include <sys/mman.h>
#include <unistd.h>

namespace hearth {
namespace {

std::string shape_str(const std::vector<uint64_t>& ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i)
        s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

const gguf::TensorInfo* find(const gguf::File& f, const std::string& name, bool required, Status* st) {
    const gguf::TensorInfo* t = f.find_tensor(name);
    if (!t && required) *st = error("model: missing tensor '" + name + "'");
    return t;
}

} // namespace

Status WeightBinder::matrix(const std::string& name, int64_t rows, int64_t cols, Matrix* out, bool required) const {
    Status st;
    const gguf::TensorInfo* t = find(f, name, required, &st);
    if (!t) return st;
    if (t->ne.size() < 2 || static_cast<int64_t>(t->ne[0]) != cols || static_cast<int64_t>(t->ne[1]) != rows ||
        (t->ne.size() > 2 && t->n_elements != t->ne[0] * t->ne[1]))
        return error("model: tensor '" + name + "' has shape " + shape_str(t->ne) + ", expected [" +
                     std::to_string(cols) + ", " + std::to_string(rows) + "]");
    out->type = t->type;
    out->data = f.tensor_data(*t).data();
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = static_cast<size_t>(t->n_bytes / static_cast<uint64_t>(rows));
    return Status::ok();
}

Status WeightBinder::vec(const std::string& name, int64_t n, const float** out, bool required) const {
    Status st;
    const gguf::TensorInfo* t = find(f, name, required, &st);
    if (!t) return st;
    if (static_cast<int64_t>(t->n_elements) != n)
        return error("model: tensor '" + name + "' has shape " + shape_str(t->ne) + ", expected " + std::to_string(n) +
                     " elements");
    if (!ref::ref_can_dequantize(t->type))
        return error("model: tensor '" + name + "' has unsupported type " + std::string(dtype_name(t->type)));
    w.owned.emplace_back(static_cast<size_t>(n));
    ref::ref_dequantize_row(t->type, f.tensor_data(*t).data(), w.owned.back().data(), n);
    *out = w.owned.back().data();
    return Status::ok();
}

Result<ModelWeights> bind_weights(const gguf::File& f, const ModelConfig& c) {
    ModelWeights w;
    w.owned.reserve(static_cast<size_t>(c.n_layer) * 16 + 8); // pointers into `owned` must stay valid
    WeightBinder b{f, w};
    if (c.arch->bind) {
        HEARTH_TRY(c.arch->bind(b, c));
        return w;
    }
    const int64_t q_dim = int64_t{c.n_head} * c.head_dim_k;
    const int64_t k_dim = int64_t{c.n_head_kv} * c.head_dim_k;
    const int64_t v_dim = int64_t{c.n_head_kv} * c.head_dim_v;
    const int64_t o_dim = int64_t{c.n_head} * c.head_dim_v;

    HEARTH_TRY(b.matrix("token_embd.weight", c.n_vocab, c.n_embd, &w.token_embd));
    HEARTH_TRY(b.vec("output_norm.weight", c.n_embd, &w.output_norm));
    if (f.find_tensor("output.weight")) {
        HEARTH_TRY(b.matrix("output.weight", c.n_vocab, c.n_embd, &w.output));
    } else {
        w.output = w.token_embd; // tied embeddings
    }
    if (!c.rope_freqs_tensor.empty()) HEARTH_TRY(b.vec(c.rope_freqs_tensor, c.rope_dim / 2, &w.rope_freqs));

    w.layers.resize(static_cast<size_t>(c.n_layer));
    for (int32_t il = 0; il < c.n_layer; ++il) {
        LayerWeights& L = w.layers[static_cast<size_t>(il)];
        const std::string p = "blk." + std::to_string(il) + ".";
        HEARTH_TRY(b.vec(p + "attn_norm.weight", c.n_embd, &L.attn_norm));
        if (c.fused_qkv) {
            HEARTH_TRY(b.matrix(p + "attn_qkv.weight", q_dim + k_dim + v_dim, c.n_embd, &L.wqkv));
        } else {
            HEARTH_TRY(b.matrix(p + "attn_q.weight", q_dim, c.n_embd, &L.wq));
            HEARTH_TRY(b.matrix(p + "attn_k.weight", k_dim, c.n_embd, &L.wk));
            HEARTH_TRY(b.matrix(p + "attn_v.weight", v_dim, c.n_embd, &L.wv));
        }
        HEARTH_TRY(b.matrix(p + "attn_output.weight", c.n_embd, o_dim, &L.wo));
        if (c.qkv_bias) {
            HEARTH_TRY(b.vec(p + "attn_q.bias", q_dim, &L.bq));
            HEARTH_TRY(b.vec(p + "attn_k.bias", k_dim, &L.bk));
            HEARTH_TRY(b.vec(p + "attn_v.bias", v_dim, &L.bv));
        }
        if (c.qk_norm) {
            HEARTH_TRY(b.vec(p + "attn_q_norm.weight", c.head_dim_k, &L.q_norm));
            HEARTH_TRY(b.vec(p + "attn_k_norm.weight", c.head_dim_k, &L.k_norm));
        }
        if (c.post_norms) {
            HEARTH_TRY(b.vec(p + "post_attention_norm.weight", c.n_embd, &L.attn_post_norm));
            HEARTH_TRY(b.vec(p + "post_ffw_norm.weight", c.n_embd, &L.ffn_post_norm));
        }
        HEARTH_TRY(b.vec(p + "ffn_norm.weight", c.n_embd, &L.ffn_norm));
        if (c.fused_gate_up) {
            HEARTH_TRY(b.matrix(p + "ffn_up.weight", 2 * int64_t{c.n_ff}, c.n_embd, &L.ffn_up));
        } else {
            HEARTH_TRY(b.matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd, &L.ffn_gate));
            HEARTH_TRY(b.matrix(p + "ffn_up.weight", c.n_ff, c.n_embd, &L.ffn_up));
        }
        HEARTH_TRY(b.matrix(p + "ffn_down.weight", c.n_embd, c.n_ff, &L.ffn_down));
    }
    return w;
}

} // namespace hearth

namespace hearth {

void FreeDeleter::operator()(void* p) const {
    std::free(p);
}

namespace {

// The whole pages inside [p, p + n) go back to the kernel (a private read-only file mapping: touching them again
// would re-read the file).
void release_pages(const uint8_t* p, size_t n) {
    const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(p) + page - 1) / page * page;
    const uintptr_t end = (uintptr_t(p) + n) / page * page;
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

struct PackJob {
    const Matrix* m;
    uint8_t* out;
};

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
} // namespace

int pack_weights(ModelWeights& w, const cpu::KernelTable& kt, ThreadPool& pool) {
    std::vector<Matrix*> todo;
    // The output matrix tied to the token embedding: the same tensor, so embedding rows may come from the packed copy.
    const Matrix& e = w.token_embd;
    const bool tied = w.output.present() && w.output.data == e.data && w.output.type == e.type &&
                      w.output.rows == e.rows && w.output.cols == e.cols;
    auto consider = [&](Matrix& m) {
        if (!m.present() || m.packed != nullptr) return;
        // Any other matrix over the embedding's bytes (only a malformed file has one) stays in the file layout.
        if (m.data == e.data && !(tied && &m == &w.output)) return;
        if (tied && &m == &w.output && m.row_bytes > kMaxPackedEmbedRowBytes) return;
        if (kt.traits[static_cast<uint32_t>(m.type)].packed_gemm == nullptr) return;
        if (cpu::packable(m.type, m.rows, m.cols)) todo.push_back(&m);
    };
    consider(w.output);
    for (auto& L : w.layers)
        for (Matrix* m : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down})
            consider(*m);
    // One arena for all of them (huge pages: a buffer per matrix would round each up to 2 MiB), touched matrix by
    // matrix as each is packed and its file pages given back, so at no time are both copies resident in full.
    auto padded = [](const Matrix* m) { return (cpu::packed_bytes(m->type, m->rows, m->cols) + 63) / 64 * 64; };
    size_t total = 0;
    for (const Matrix* m : todo)
        total += padded(m);
    if (todo.empty()) return 0;
    AlignedBytes arena = alloc_weight_bytes(total);
    HEARTH_CHECK(arena != nullptr, "out of memory repacking weights");
    uint8_t* out = arena.get();
    for (Matrix* m : todo) {
        const size_t file_bytes = size_t(m->rows) * m->row_bytes;
        // Groups of 16 rows are independent: each thread packs a contiguous run of them.
        const PackJob job{m, out};
        const PackJob* pj = &job;
        pool.run([pj](int ith, int nth) {
            const Matrix& mm = *pj->m;
            const auto [g0, g1] = ThreadPool::split(mm.rows / cpu::kPackRows, ith, nth);
            if (g1 <= g0) return;
            const size_t group = size_t(cpu::kPackRows) * mm.row_bytes;
            const size_t packed_group = cpu::packed_bytes(mm.type, cpu::kPackRows, mm.cols);
            cpu::pack_x16(mm.type, mm.data + size_t(g0) * group, (g1 - g0) * cpu::kPackRows, mm.cols,
                          pj->out + size_t(g0) * packed_group);
        });
        release_pages(m->data, file_bytes);
        m->packed = out;
        if (tied && m == &w.output) w.token_embd.packed = m->packed; // embedding rows come from it too
        w.packed_bytes += cpu::packed_bytes(m->type, m->rows, m->cols);
        out += padded(m);
    }
    w.packed.push_back(std::move(arena));
    return int(todo.size());
}

} // namespace hearth
