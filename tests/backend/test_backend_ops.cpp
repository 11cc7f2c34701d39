// Every op of the backend seam (backend/backend.h) on every backend this machine runs — the CPU backend over each
// kernel table (scalar, avx2, avxvnni, avx512), its weights repacked and not; a GPU backend joins `backends()` when
// one is built — against:
// - a double-precision oracle written here from the op's definition (not from the kernels), on random data and odd
//   shapes, within a tolerance by normalized error where the op rounds (matmul's activation quantization, attention's
//   f16 rounding of q and of the softmax weights), exactly where the op is exact (get_rows, add, copy_cols...);
// - the scalar CPU backend, the reference every other backend is held to;
// - itself: each op's batch invariance (a row computed alone = the same row in a batch, at any thread count).
#include "backend/cpu_backend.h"
#include "backend/cuda_backend.h"
#include "base/cpu_features.h"
#include "base/fp16.h"
#include "kernels_cpu/kernels_cpu_util.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <gtest/gtest.h>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace hearth {
namespace {

using cpu::test::dequantize_rows;
using cpu::test::make_activations;
using cpu::test::make_weights;
using cpu::test::WeightFill;

struct BackendCase {
    std::string name;
    // Null when the backend is built but this machine cannot run it (no GPU): the case reports skipped.
    std::function<std::unique_ptr<Backend>(int n_threads)> make;
    // A CPU table: its numerics are the scalar backend's (the same activation rounding; RMSNorm and RoPE bit for
    // bit), so it is also held to the reference backend; other backends are held to the oracles only.
    bool cpu = true;
};

// The backend of the case, or skip the test when this machine has none.
#define BACKEND_OR_SKIP(var, threads)                                                                                  \
    auto var = GetParam().make(threads);                                                                               \
    if (!var) GTEST_SKIP() << GetParam().name << ": no device here"

void PrintTo(const BackendCase& c, std::ostream* os) {
    *os << c.name;
}

std::vector<BackendCase> backends() {
    std::vector<BackendCase> out;
    std::vector<std::string> isas = cpu::test::available_isas();
    const CpuFeatures f = detect_cpu_features();
    if (f.avx2 && f.fma && f.f16c && f.avxvnni) isas.push_back("avxvnni");
    for (const std::string& isa : isas)
        for (const bool repack : {true, false}) // x16-repacked weights, or the file's row-major layout
            out.push_back({"cpu_" + isa + (repack ? "" : "_rowmajor"),
                           [isa, repack](int n) { return make_cpu_backend(cpu::test::table_for(isa), n, repack); }});
    if (cuda_built())
        out.push_back({"cuda",
                       [](int) -> std::unique_ptr<Backend> {
                           if (cuda_device_count() == 0) return nullptr;
                           auto be = make_cuda_backend(0);
                           return be ? std::move(*be) : nullptr;
                       },
                       false});
    return out;
}

std::unique_ptr<Backend> reference_backend(int n_threads = 1) {
    return make_cpu_backend(cpu::make_scalar_table(), n_threads, false);
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v)
        x = d(rng);
    return v;
}

// Host data in backend memory and back.
BackendArray<float> put(Backend& be, const std::vector<float>& host) {
    BackendArray<float> a = be.alloc<float>(host.size());
    be.write(host.data(), a.data(), host.size());
    return a;
}
std::vector<float> get(Backend& be, const BackendArray<float>& a, size_t n = SIZE_MAX) {
    std::vector<float> host(std::min(n, a.size()));
    be.read(a.data(), host.data(), host.size());
    return host;
}

// sqrt(sum (a - b)^2 / sum b^2): the error normalized by the reference's size.
double rel_rms(const std::vector<float>& a, const std::vector<double>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < b.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}
double rel_rms(const std::vector<float>& a, const std::vector<float>& b) {
    return rel_rms(a, std::vector<double>(b.begin(), b.end()));
}

// (rows, cols) of type t over bytes, in the file's layout.
Matrix matrix_view(DType t, const std::vector<uint8_t>& bytes, int64_t rows, int64_t cols) {
    Matrix m;
    m.type = t;
    m.data = bytes.data();
    m.rows = rows;
    m.cols = cols;
    m.row_bytes = size_t(*dtype_row_bytes(t, uint64_t(cols)));
    return m;
}

class BackendOps : public ::testing::TestWithParam<BackendCase> {};

// ---- matmul

void check_matmul(Backend& be, bool cpu_numerics, DType t, int64_t n_out, int64_t n_in, const std::string& what) {
    SCOPED_TRACE(what + " " + std::string(dtype_name(t)) + " " + std::to_string(n_out) + "x" + std::to_string(n_in));
    const std::vector<uint8_t> bytes = make_weights(t, n_out, n_in, 11, WeightFill::quantized);
    // prepare_weights may give the pages of what it repacks back to the kernel (it expects a file mapping, which
    // would re-read them; this heap copy reads as zeros after), so the backend gets a copy of its own.
    const std::vector<uint8_t> given = bytes;
    Matrix w = matrix_view(t, given, n_out, n_in);
    Matrix* ms[] = {&w};
    Matrix embedding; // not the embedding: a distinct tensor
    be.prepare_weights(ms, &embedding);
    const std::vector<float> wf = dequantize_rows(t, bytes.data(), n_out, n_in);
    constexpr int64_t kTokens = 17;
    const std::vector<float> x = make_activations(kTokens * n_in, 12);
    const Matrix* need[] = {&w};
    be.reserve(WorkspaceNeed{int32_t(kTokens), 16, 64, need});
    auto xb = put(be, x);
    auto yb = be.alloc<float>(size_t(kTokens * n_out));
    be.matmul(w, xb.data(), kTokens, yb.data());
    const std::vector<float> y = get(be, yb);

    // |y - exact| <= sum_i |w_i| * err_i (err_i: the most the activation rounding of the type's vec_dot_type can
    // move x_i; none for F32 activations) + float rounding; Q4_1 / Q5_1 multiply their offset by ggml's
    // half-rounded Q8_1 block sum, a relative 2^-11 more.
    const DType act_type = cpu::make_scalar_table().traits[static_cast<uint32_t>(t)].vec_dot_type;
    const double offset_slack = t == DType::Q4_1 || t == DType::Q5_1 ? 1e-3 : 0.0;
    for (int64_t tk = 0; tk < kTokens; ++tk) {
        const float* xt = x.data() + tk * n_in;
        const std::vector<double> err = cpu::test::act_quant_error_bound(act_type, xt, n_in);
        for (int64_t o = 0; o < n_out; ++o) {
            double exact = 0, magnitude = 0, bound = 0;
            for (int64_t i = 0; i < n_in; ++i) {
                const double wi = wf[size_t(o * n_in + i)];
                exact += wi * double(xt[i]);
                magnitude += std::fabs(wi * double(xt[i]));
                bound += std::fabs(wi) * err[size_t(i)];
            }
            ASSERT_LE(std::fabs(y[size_t(tk * n_out + o)] - exact), bound + (1e-5 + offset_slack) * magnitude + 1e-30)
                << "token " << tk << " row " << o;
            if (!cpu_numerics) { // f32 activations: only float rounding separates it from the exact product
                ASSERT_LE(std::fabs(y[size_t(tk * n_out + o)] - exact), 1e-5 * magnitude + 1e-30)
                    << "token " << tk << " row " << o;
            }
        }
    }

    // The scalar reference backend, the matrix in the file's layout (CPU tables only: the same activation rounding).
    if (cpu_numerics) {
        auto ref = reference_backend();
        Matrix wr = matrix_view(t, bytes, n_out, n_in);
        const Matrix* need_r[] = {&wr};
        ref->reserve(WorkspaceNeed{int32_t(kTokens), 16, 64, need_r});
        auto xr = put(*ref, x);
        auto yr = ref->alloc<float>(size_t(kTokens * n_out));
        ref->matmul(wr, xr.data(), kTokens, yr.data());
        EXPECT_LE(rel_rms(y, get(*ref, yr)), 2e-6);
    }

    // Batch invariance: each token alone gives its batched row bit for bit.
    for (int64_t tk : {int64_t{0}, int64_t{5}, kTokens - 1}) {
        auto one = be.alloc<float>(size_t(n_out));
        be.matmul(w, xb.data() + tk * n_in, 1, one.data());
        const std::vector<float> alone = get(be, one);
        for (int64_t o = 0; o < n_out; ++o)
            ASSERT_EQ(alone[size_t(o)], y[size_t(tk * n_out + o)]) << "token " << tk << " row " << o;
    }
}

TEST_P(BackendOps, MatmulEveryTypeAgainstOracleReferenceAndAlone) {
    BACKEND_OR_SKIP(be, 2);
    for (DType t : cpu::test::weight_types()) {
        if (!be->supports(t)) continue;
        const int64_t blk = dtype_info(t).block_size;
        const int64_t n_in = blk == 256 ? 512 : (t == DType::F32 || t == DType::F16 || t == DType::BF16 ? 200 : 96);
        check_matmul(*be, GetParam().cpu, t, 48, n_in, "packable rows");
        check_matmul(*be, GetParam().cpu, t, 37, n_in, "odd rows");
    }
}

// ---- get_rows

TEST_P(BackendOps, GetRowsIsTheDequantizedRowExactlyAlsoFromATiedCopy) {
    for (DType t : cpu::test::weight_types()) {
        BACKEND_OR_SKIP(be, 2);
        if (!be->supports(t)) continue;
        SCOPED_TRACE(dtype_name(t));
        const int64_t n_in = dtype_info(t).block_size == 256 ? 512 : 64;
        const int64_t n_rows = 48;
        const std::vector<uint8_t> bytes = make_weights(t, n_rows, n_in, 21, WeightFill::quantized);
        const std::vector<float> all = dequantize_rows(t, bytes.data(), n_rows, n_in); // before prepare_weights
        Matrix e = matrix_view(t, bytes, n_rows, n_in);
        Matrix out = e; // the output matrix tied to it
        Matrix* ms[] = {&out};
        be->prepare_weights(ms, &e);
        be->reserve(WorkspaceNeed{16, 16, 64, {}});
        const std::vector<int32_t> rows = {0, 47, 3, 3, 16, 31, 17};
        auto x = be->alloc<float>(rows.size() * size_t(n_in));
        be->get_rows(e, rows.data(), int32_t(rows.size()), x.data());
        const std::vector<float> got = get(*be, x);
        for (size_t r = 0; r < rows.size(); ++r) {
            float scale = 0; // a device may fuse d * q - m into one fma: within an ulp of the row's largest term
            for (int64_t i = 0; i < n_in; ++i)
                scale = std::max(scale, std::fabs(all[size_t(rows[r] * n_in + i)]));
            for (int64_t i = 0; i < n_in; ++i) {
                const float want = all[size_t(rows[r] * n_in + i)], have = got[r * size_t(n_in) + size_t(i)];
                if (GetParam().cpu)
                    ASSERT_EQ(have, want) << "row " << rows[r];
                else
                    ASSERT_LE(std::fabs(have - want), 2.4e-7f * scale) << "row " << rows[r];
            }
        }
    }
}

// ---- norms

TEST_P(BackendOps, RmsNormAgainstOracleAndReferenceBitForBit) {
    BACKEND_OR_SKIP(be, 2);
    auto ref = reference_backend();
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{64}, int64_t{896}, int64_t{1537}}) {
        const int64_t rows = 5;
        const std::vector<float> x = random_floats(size_t(rows * n), 31, -3, 3);
        const std::vector<float> w = random_floats(size_t(n), 32, 0.5f, 1.5f);
        const float eps = 1e-6f;
        auto xb = put(*be, x);
        auto wb = put(*be, w);
        auto yb = be->alloc<float>(x.size());
        be->rms_norm(xb.data(), be->upload_vector(wb.data(), n), yb.data(), rows, n, eps);
        const std::vector<float> y = get(*be, yb);
        std::vector<double> oracle(x.size());
        for (int64_t r = 0; r < rows; ++r) {
            double ss = 0;
            for (int64_t i = 0; i < n; ++i)
                ss += double(x[size_t(r * n + i)]) * x[size_t(r * n + i)];
            const double s = 1.0 / std::sqrt(ss / double(n) + eps);
            for (int64_t i = 0; i < n; ++i)
                oracle[size_t(r * n + i)] = x[size_t(r * n + i)] * s * w[size_t(i)];
        }
        EXPECT_LE(rel_rms(y, oracle), 1e-6) << "n " << n;
        auto xr = put(*ref, x);
        auto wr = put(*ref, w);
        ref->rms_norm(xr.data(), wr.data(), xr.data(), rows, n, eps); // in place
        if (GetParam().cpu) {
            EXPECT_EQ(y, get(*ref, xr)) << "n " << n;
        }
    }
}

TEST_P(BackendOps, LayerNormAgainstOracle) {
    BACKEND_OR_SKIP(be, 2);
    for (int64_t n : {int64_t{1}, int64_t{33}, int64_t{768}}) {
        const int64_t rows = 4;
        const std::vector<float> x = random_floats(size_t(rows * n), 41, -2, 4);
        const std::vector<float> w = random_floats(size_t(n), 42, 0.5f, 1.5f);
        const std::vector<float> b = random_floats(size_t(n), 43);
        auto xb = put(*be, x);
        auto wb = put(*be, w);
        auto bb = put(*be, b);
        be->layer_norm(xb.data(), wb.data(), bb.data(), xb.data(), rows, n, 1e-12f);
        const std::vector<float> y = get(*be, xb);
        std::vector<double> oracle(x.size());
        for (int64_t r = 0; r < rows; ++r) {
            double mean = 0, var = 0;
            for (int64_t i = 0; i < n; ++i)
                mean += x[size_t(r * n + i)];
            mean /= double(n);
            for (int64_t i = 0; i < n; ++i)
                var += (x[size_t(r * n + i)] - mean) * (x[size_t(r * n + i)] - mean);
            var /= double(n);
            for (int64_t i = 0; i < n; ++i)
                oracle[size_t(r * n + i)] =
                    (x[size_t(r * n + i)] - mean) / std::sqrt(var + 1e-12) * w[size_t(i)] + b[size_t(i)];
        }
        EXPECT_LE(rel_rms(y, oracle), 1e-6) << "n " << n;
    }
}

// ---- rope

TEST_P(BackendOps, RopeAgainstOracleAndReferenceBitForBit) {
    BACKEND_OR_SKIP(be, 2);
    auto ref = reference_backend();
    struct Case {
        RopeStyle style;
        int32_t head_dim, n_dims;
        bool factors;
        float freq_scale, attn_factor;
    };
    for (const Case& c :
         {Case{RopeStyle::Normal, 64, 64, false, 1.0f, 1.0f}, Case{RopeStyle::Neox, 64, 64, true, 0.5f, 1.1f},
          Case{RopeStyle::Neox, 80, 32, false, 1.0f, 1.0f}, Case{RopeStyle::Normal, 6, 4, true, 1.0f, 1.0f}}) {
        SCOPED_TRACE("head_dim " + std::to_string(c.head_dim) + " n_dims " + std::to_string(c.n_dims));
        const int32_t n_heads = 3;
        const std::vector<int32_t> pos = {0, 1, 7, 99, 130};
        const auto n_tokens = int64_t(pos.size());
        const std::vector<float> x = random_floats(size_t(n_tokens * n_heads * c.head_dim), 51);
        const std::vector<float> ff = random_floats(size_t(c.n_dims / 2), 52, 1.0f, 4.0f);
        RopeParams p{c.style, c.n_dims, 10000.0f, c.freq_scale, c.factors ? ff.data() : nullptr, c.attn_factor};
        be->reserve(WorkspaceNeed{16, 16, c.head_dim, {}});
        auto xb = put(*be, x);
        be->rope(xb.data(), n_tokens, n_heads, c.head_dim, pos.data(), p);
        const std::vector<float> y = get(*be, xb);
        std::vector<double> oracle(x.begin(), x.end());
        const int32_t half = c.n_dims / 2;
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int32_t h = 0; h < n_heads; ++h)
                for (int32_t i = 0; i < half; ++i) {
                    const double theta = pos[size_t(t)] * double(c.freq_scale) *
                                         std::pow(10000.0, -2.0 * i / c.n_dims) / (c.factors ? ff[size_t(i)] : 1.0);
                    const size_t base = size_t((t * n_heads + h) * c.head_dim);
                    const size_t a = base + (c.style == RopeStyle::Neox ? size_t(i) : size_t(2 * i));
                    const size_t b = base + (c.style == RopeStyle::Neox ? size_t(i + half) : size_t(2 * i + 1));
                    const double cs = std::cos(theta) * c.attn_factor, sn = std::sin(theta) * c.attn_factor;
                    oracle[a] = x[a] * cs - x[b] * sn;
                    oracle[b] = x[a] * sn + x[b] * cs;
                }
        // theta advances by repeated float multiplication (as ggml): ~1e-7 relative per step of up to 130 radians.
        EXPECT_LE(rel_rms(y, oracle), 1e-4);
        auto xr = put(*ref, x);
        ref->rope(xr.data(), n_tokens, n_heads, c.head_dim, pos.data(), p);
        if (GetParam().cpu) {
            EXPECT_EQ(y, get(*ref, xr));
        }
    }
}

// ---- attention

struct AttnCase {
    int32_t n_head, n_head_kv, head_dim_k, head_dim_v, window;
    bool encoder;
};

// Two sequences: seq 0 has `past` positions in its cache already and gets 3 new tokens, seq 1 gets 2 tokens at
// positions 0..1. Returns out (n_tokens, n_head * hd_v) of the second pass.
struct AttnRun {
    std::vector<float> out;
    std::vector<double> oracle;
};

AttnRun run_attention(Backend& be, const AttnCase& c, int which_tokens /* -1: all, else one token alone */) {
    const int32_t n_ctx = 40, past = 9;
    const int64_t k_row = int64_t{c.n_head_kv} * c.head_dim_k, v_row = int64_t{c.n_head_kv} * c.head_dim_v;
    auto k0 = be.alloc<uint16_t>(size_t(n_ctx * k_row)), v0 = be.alloc<uint16_t>(size_t(n_ctx * v_row));
    auto k1 = be.alloc<uint16_t>(size_t(n_ctx * k_row)), v1 = be.alloc<uint16_t>(size_t(n_ctx * v_row));
    const LayerKv kv0{k0.data(), v0.data()}, kv1{k1.data(), v1.data()};
    AttnParams p{c.n_head, c.n_head_kv, c.head_dim_k, c.head_dim_v, 1.0f / std::sqrt(float(c.head_dim_k)),
                 c.window, n_ctx};
    be.reserve(WorkspaceNeed{16, n_ctx, c.head_dim_k, {}});
    // All keys and values of both sequences, as the caches will hold them (host copies for the oracle).
    const int32_t n0 = past + 3, n1 = 2;
    const std::vector<float> keys0 = random_floats(size_t(n0 * k_row), 61, -2, 2);
    const std::vector<float> vals0 = random_floats(size_t(n0 * v_row), 62, -2, 2);
    const std::vector<float> keys1 = random_floats(size_t(n1 * k_row), 63, -2, 2);
    const std::vector<float> vals1 = random_floats(size_t(n1 * v_row), 64, -2, 2);
    // Pass 1 (decoders): seq 0's first `past` positions.
    if (!c.encoder) {
        std::vector<int32_t> pos(static_cast<size_t>(past));
        std::vector<LayerKv> kvs(size_t(past), kv0);
        for (int32_t i = 0; i < past; ++i)
            pos[size_t(i)] = i;
        const std::vector<float> q = random_floats(size_t(past) * size_t(c.n_head * c.head_dim_k), 65);
        auto qb = put(be, q);
        auto kb = put(be, std::vector<float>(keys0.begin(), keys0.begin() + past * k_row));
        auto vb = put(be, std::vector<float>(vals0.begin(), vals0.begin() + past * v_row));
        auto ob = be.alloc<float>(size_t(past) * size_t(c.n_head * c.head_dim_v));
        be.attention(p, qb.data(), kb.data(), vb.data(), pos.data(), past, kvs.data(), ob.data());
    }
    // Pass 2: seq 0's next tokens (all of seq 0 for an encoder), then seq 1's.
    const int32_t first0 = c.encoder ? 0 : past;
    std::vector<int32_t> pos, key_end, seq;
    for (int32_t i = first0; i < n0; ++i) {
        pos.push_back(i);
        key_end.push_back(n0);
        seq.push_back(0);
    }
    for (int32_t i = 0; i < n1; ++i) {
        pos.push_back(i);
        key_end.push_back(n1);
        seq.push_back(1);
    }
    const auto n_all = int64_t(pos.size());
    const std::vector<float> q = random_floats(size_t(n_all * c.n_head * c.head_dim_k), 66, -2, 2);
    std::vector<float> k(size_t(n_all * k_row)), v(size_t(n_all * v_row));
    for (int64_t t = 0; t < n_all; ++t) {
        const auto& ks = seq[size_t(t)] == 0 ? keys0 : keys1;
        const auto& vs = seq[size_t(t)] == 0 ? vals0 : vals1;
        std::copy_n(ks.begin() + pos[size_t(t)] * k_row, k_row, k.begin() + t * k_row);
        std::copy_n(vs.begin() + pos[size_t(t)] * v_row, v_row, v.begin() + t * v_row);
    }
    // One token alone: the others' keys must still be in the cache (an encoder's input is written whole first),
    // so the whole pass runs once and the token is then computed again by itself.
    auto run = [&](int64_t t0, int64_t nt) {
        std::vector<LayerKv> kvs;
        for (int64_t t = t0; t < t0 + nt; ++t)
            kvs.push_back(seq[size_t(t)] == 0 ? kv0 : kv1);
        AttnParams pp = p;
        pp.key_end = c.encoder ? key_end.data() + t0 : nullptr;
        auto qb = put(be, std::vector<float>(q.begin() + t0 * c.n_head * c.head_dim_k,
                                             q.begin() + (t0 + nt) * c.n_head * c.head_dim_k));
        auto kb = put(be, std::vector<float>(k.begin() + t0 * k_row, k.begin() + (t0 + nt) * k_row));
        auto vb = put(be, std::vector<float>(v.begin() + t0 * v_row, v.begin() + (t0 + nt) * v_row));
        auto ob = be.alloc<float>(size_t(nt) * size_t(c.n_head * c.head_dim_v));
        be.attention(pp, qb.data(), kb.data(), vb.data(), pos.data() + t0, nt, kvs.data(), ob.data());
        return get(be, ob);
    };
    AttnRun r;
    r.out = run(0, n_all);
    if (which_tokens >= 0) r.out = run(which_tokens, 1);
    // The oracle: every token t over its sequence's keys, in double, from the f32 inputs (no f16 rounding).
    const int64_t t_lo = which_tokens >= 0 ? which_tokens : 0, t_hi = which_tokens >= 0 ? which_tokens + 1 : n_all;
    const int32_t group = c.n_head / c.n_head_kv;
    for (int64_t t = t_lo; t < t_hi; ++t) {
        const auto& ks = seq[size_t(t)] == 0 ? keys0 : keys1;
        const auto& vs = seq[size_t(t)] == 0 ? vals0 : vals1;
        const int32_t last = c.encoder ? key_end[size_t(t)] - 1 : pos[size_t(t)];
        const int32_t j0 = c.window > 0 ? std::max(0, last - c.window + 1) : 0;
        for (int32_t h = 0; h < c.n_head; ++h) {
            const int32_t hk = h / group;
            std::vector<double> s;
            double mx = -1e300;
            for (int32_t j = j0; j <= last; ++j) {
                double d = 0;
                for (int32_t i = 0; i < c.head_dim_k; ++i)
                    d += double(q[size_t((t * c.n_head + h) * c.head_dim_k + i)]) *
                         ks[size_t(j * k_row + hk * c.head_dim_k + i)];
                s.push_back(d * p.scale);
                mx = std::max(mx, s.back());
            }
            double z = 0;
            for (double& e : s)
                z += (e = std::exp(e - mx));
            for (int32_t i = 0; i < c.head_dim_v; ++i) {
                double o = 0;
                for (int32_t j = j0; j <= last; ++j)
                    o += s[size_t(j - j0)] / z * vs[size_t(j * v_row + hk * c.head_dim_v + i)];
                r.oracle.push_back(o);
            }
        }
    }
    return r;
}

TEST_P(BackendOps, AttentionAgainstOracleReferenceAndAlone) {
    for (const AttnCase& c : {AttnCase{6, 2, 64, 64, 0, false}, AttnCase{4, 4, 32, 48, 0, false},
                              AttnCase{8, 1, 16, 16, 4, false}, AttnCase{3, 3, 40, 40, 0, true}}) {
        SCOPED_TRACE("heads " + std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) + " dims " +
                     std::to_string(c.head_dim_k) + "/" + std::to_string(c.head_dim_v) + " window " +
                     std::to_string(c.window) + (c.encoder ? " encoder" : ""));
        BACKEND_OR_SKIP(be, 2);
        const AttnRun all = run_attention(*be, c, -1);
        // q and the softmax weights are rounded to f16 (llama.cpp's f16 cache semantics), the cache too.
        EXPECT_LE(rel_rms(all.out, all.oracle), 4e-3);
        auto ref = reference_backend();
        if (GetParam().cpu) {
            EXPECT_LE(rel_rms(all.out, run_attention(*ref, c, -1).out), 2e-3);
        }
        const size_t row = size_t(c.n_head * c.head_dim_v);
        for (int which : {0, 3, int(all.out.size() / row) - 1}) {
            auto be3 = GetParam().make(3);
            const AttnRun one = run_attention(*be3, c, which);
            ASSERT_EQ(one.out, std::vector<float>(all.out.begin() + long(size_t(which) * row),
                                                  all.out.begin() + long(size_t(which + 1) * row)))
                << "token " << which << " alone, 3 threads";
        }
    }
}

// ---- glu

// ggml's GELU: tanh approximation on the f16-rounded input, the result rounded to f16; 0 below -10, x above 10.
float gelu_ggml(float g) {
    if (g <= -10.0f) return 0.0f;
    if (g >= 10.0f) return g;
    const float x = fp16_to_f32(f32_to_fp16(g));
    const float r = 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
    return fp16_to_f32(f32_to_fp16(r));
}

TEST_P(BackendOps, GluAgainstOracleAndAnySplit) {
    for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{17}, int64_t{1000}, int64_t{6149}}) {
        std::vector<float> gate = random_floats(size_t(n), 71, -12, 12);
        // GELU's cut-offs, signed zeros, tiny and large values.
        const float edges[] = {-10.0f, 10.0f, -9.999f, 9.999f, 0.0f, -0.0f, 1e-6f, -1e-6f, 50.0f, -50.0f};
        for (size_t i = 0; i < std::size(edges) && i < gate.size(); ++i)
            gate[size_t(n) - 1 - i] = edges[i];
        const std::vector<float> up = random_floats(size_t(n), 72, -2, 2);
        for (FfnAct act : {FfnAct::Silu, FfnAct::GeluTanh}) {
            for (bool with_up : {true, false}) {
                if (act == FfnAct::Silu && !with_up) continue;
                SCOPED_TRACE("n " + std::to_string(n) + (act == FfnAct::Silu ? " silu" : " gelu") +
                             (with_up ? "" : " no up"));
                std::vector<std::vector<float>> outs;
                for (int threads : {1, 2, 7}) { // the pool splits the chunks differently
                    BACKEND_OR_SKIP(be, threads);
                    auto gb = put(*be, gate);
                    auto ub = put(*be, up);
                    be->glu(gb.data(), with_up ? ub.data() : nullptr, n, act);
                    outs.push_back(get(*be, gb));
                }
                EXPECT_EQ(outs[0], outs[1]);
                EXPECT_EQ(outs[0], outs[2]);
                for (int64_t i = 0; i < n; ++i) {
                    const float g = gate[size_t(i)], u = with_up ? up[size_t(i)] : 1.0f;
                    if (act == FfnAct::GeluTanh && GetParam().cpu) {
                        ASSERT_EQ(outs[0][size_t(i)], gelu_ggml(g) * u) << "i " << i;
                    } else if (act == FfnAct::GeluTanh) { // the device's tanhf may round the f16 result one step off
                        const float want = gelu_ggml(g) * u;
                        ASSERT_LE(std::fabs(outs[0][size_t(i)] - want), std::fabs(want) * 0x1p-10f + 1e-30f)
                            << "i " << i;
                    } else {
                        const double o = double(g) / (1.0 + std::exp(-double(g))) * u;
                        ASSERT_NEAR(outs[0][size_t(i)], o, 2e-6 * (std::fabs(o) + 1e-3)) << "i " << i;
                    }
                }
            }
        }
    }
}

// ---- the exact element-wise ops

TEST_P(BackendOps, AddAddRowScaleSoftcapCopyColsReadWrite) {
    BACKEND_OR_SKIP(be, 2);
    const int64_t rows = 5, cols = 37;
    const std::vector<float> x = random_floats(size_t(rows * cols), 81, -40, 40);
    const std::vector<float> y = random_floats(size_t(rows * cols), 82);
    const std::vector<float> b = random_floats(size_t(cols), 83);
    auto xb = put(*be, x);
    EXPECT_EQ(get(*be, xb), x); // write then read

    auto yb = put(*be, y);
    be->add(xb.data(), yb.data(), rows * cols);
    std::vector<float> want = x;
    for (size_t i = 0; i < want.size(); ++i)
        want[i] += y[i];
    EXPECT_EQ(get(*be, xb), want);

    auto bb = put(*be, b);
    be->add_row(xb.data(), bb.data(), rows, cols);
    for (size_t i = 0; i < want.size(); ++i)
        want[i] += b[i % size_t(cols)];
    EXPECT_EQ(get(*be, xb), want);

    be->scale(xb.data(), rows * cols, 0.37f);
    for (float& w : want)
        w *= 0.37f;
    EXPECT_EQ(get(*be, xb), want);

    be->softcap(xb.data(), rows * cols, 7.5f);
    const std::vector<float> capped = get(*be, xb);
    for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(capped[i], std::tanh(double(want[i]) / 7.5) * 7.5, 2e-6) << i;

    auto dst = be->alloc<float>(size_t(rows * 11));
    be->copy_cols(xb.data(), rows, cols, 20, 11, dst.data());
    const std::vector<float> got = get(*be, dst);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t cix = 0; cix < 11; ++cix)
            ASSERT_EQ(got[size_t(r * 11 + cix)], capped[size_t(r * cols + 20 + cix)]);
}

TEST_P(BackendOps, MemoryStartsZeroedAndIsCounted) {
    BACKEND_OR_SKIP(be, 1);
    auto a = be->alloc<float>(1000);
    EXPECT_EQ(a.bytes(), 4000u);
    EXPECT_EQ(get(*be, a), std::vector<float>(1000, 0.0f));
    const uint64_t before = be->workspace_bytes();
    be->reserve(WorkspaceNeed{8, 512, 128, {}});
    EXPECT_GT(be->workspace_bytes(), before);
    const uint64_t after = be->workspace_bytes();
    be->reserve(WorkspaceNeed{8, 64, 64, {}}); // smaller: nothing changes
    EXPECT_EQ(be->workspace_bytes(), after);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendOps, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<BackendCase>& i) { return i.param.name; });

} // namespace
} // namespace hearth
