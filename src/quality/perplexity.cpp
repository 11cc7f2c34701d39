#include "quality/perplexity.h"

#include "hearth/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sys/stat.h>

namespace hearth::quality {
namespace {

constexpr char kMagic[8] = {'H', 'R', 'T', 'H', 'K', 'L', 'D', '1'};
constexpr char kLlamaMagic[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};
constexpr uint32_t kMaxTopK = 4096;
constexpr size_t kHeaderBytes = sizeof(kMagic) + 5 * sizeof(uint32_t);

// The same sums as llama.cpp's `mean_and_uncertainty`: no uncertainty from 10 values or fewer.
MeanSe mean_se_llama(double sum, double sum2, int64_t n) {
    if (n < 1) return {};
    const double mean = sum / double(n);
    const double var = sum2 / double(n) - mean * mean;
    return {mean, var > 0 && n > 10 ? std::sqrt(var / double(n - 1)) : 0.0};
}

double covariance(double sum_a, double sum_b, double sum_ab, int64_t n) {
    if (n < 10) return 0;
    return (sum_ab / double(n) - (sum_a / double(n)) * (sum_b / double(n))) / double(n - 1);
}

// Linear interpolation between the sorted values around fraction x (llama.cpp's percentile).
double percentile(const std::vector<float>& sorted, double fraction) {
    if (sorted.empty()) return 0;
    if (fraction <= 0) return sorted.front();
    if (fraction >= 1) return sorted.back();
    const double p = fraction * double(sorted.size() - 1);
    const auto i = size_t(p);
    const double f = p - double(i);
    return (1 - f) * sorted[i] + f * sorted[std::min(i + 1, sorted.size() - 1)];
}

double median(const std::vector<float>& sorted) {
    if (sorted.empty()) return 0;
    const size_t n = sorted.size();
    return n % 2 ? sorted[n / 2] : 0.5 * (double(sorted[n / 2 - 1]) + double(sorted[n / 2]));
}

// log-sum-exp of a row in double, and its largest element's index.
double log_sum_exp(std::span<const float> logits, int32_t* argmax) {
    int32_t im = 0;
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[size_t(im)]) im = int32_t(i);
    const double mx = logits[size_t(im)];
    double sum = 0;
    for (float l : logits)
        sum += std::exp(double(l) - mx);
    if (argmax) *argmax = im;
    return mx + std::log(sum);
}

Status io_error(const std::string& what, const std::string& path) {
    return error(what + " " + path + ": " + std::strerror(errno));
}

} // namespace

Result<ChunkPlan> plan_chunks(size_t n_tokens, int32_t n_ctx, int32_t n_chunks_max) {
    if (n_ctx < 16)
        return error("context size " + std::to_string(n_ctx) + " is too small for perplexity (at least 16)");
    if (n_tokens < 2 * size_t(n_ctx))
        return error("the text is " + std::to_string(n_tokens) + " tokens; perplexity with a context of " +
                     std::to_string(n_ctx) + " needs at least " + std::to_string(2 * n_ctx) +
                     " (two chunks): use a longer text or a smaller -c");
    ChunkPlan p;
    p.n_ctx = n_ctx;
    const auto whole = int32_t(std::min<size_t>(n_tokens / size_t(n_ctx), size_t(INT32_MAX)));
    p.n_chunks = n_chunks_max < 0 ? whole : std::min(whole, n_chunks_max);
    p.first = n_ctx / 2;
    if (p.n_chunks < 1) return error("no chunk to score (--chunks 0)");
    return p;
}

std::vector<int32_t> chunk_tokens(std::span<const int32_t> tokens, const ChunkPlan& plan, int32_t i, int32_t bos) {
    const size_t start = size_t(i) * size_t(plan.n_ctx);
    std::vector<int32_t> out(tokens.begin() + std::ptrdiff_t(start),
                             tokens.begin() + std::ptrdiff_t(start + size_t(plan.n_ctx)));
    if (bos >= 0) out[0] = bos;
    return out;
}

Status score_chunks(Session& session, std::span<const int32_t> tokens, const ChunkPlan& plan, int32_t bos,
                    const RowFn& on_row, const std::function<void(int32_t)>& on_chunk,
                    const Session::MatmulInputFn* inputs) {
    if (tokens.size() < size_t(plan.n_chunks) * size_t(plan.n_ctx)) return error("fewer tokens than the chunks need");
    Status row_error = Status::ok();
    for (int32_t i = 0; i < plan.n_chunks; ++i) {
        const std::vector<int32_t> chunk = chunk_tokens(tokens, plan, i, bos);
        const int32_t* text = tokens.data() + size_t(i) * size_t(plan.n_ctx); // the text's tokens, never BOS
        session.reset();
        const Status st = session.feed_scored(
            chunk, size_t(plan.first),
            [&](size_t row, std::span<const float> l) {
                if (!row_error || row + 1 >= size_t(plan.n_ctx)) return; // the last row predicts past the chunk
                row_error = on_row(l, text[row + 1]);
            },
            inputs);
        if (!st) return st;
        if (!row_error) return row_error;
        if (on_chunk) on_chunk(i);
    }
    return Status::ok();
}

MeanSe mean_se(double sum, double sum2, int64_t n) {
    if (n < 1) return {};
    const double mean = sum / double(n);
    const double var = sum2 / double(n) - mean * mean;
    return {mean, var > 0 && n > 1 ? std::sqrt(var / double(n - 1)) : 0.0};
}

RowScore score_row(std::span<const float> logits, int32_t next) {
    RowScore r;
    const double lse = log_sum_exp(logits, &r.argmax);
    r.logprob = double(logits[size_t(next)]) - lse;
    return r;
}

void top_logprobs(std::span<const float> logits, int32_t k, std::vector<int32_t>* ids, std::vector<float>* logprobs) {
    const double lse = log_sum_exp(logits, nullptr);
    std::vector<int32_t> idx(logits.size());
    std::iota(idx.begin(), idx.end(), 0);
    auto better = [&](int32_t a, int32_t b) {
        return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
    };
    const auto kk = std::ptrdiff_t(std::min<size_t>(size_t(std::max(k, 0)), logits.size()));
    std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), better);
    ids->assign(idx.begin(), idx.begin() + kk);
    logprobs->resize(size_t(kk));
    for (size_t i = 0; i < size_t(kk); ++i)
        (*logprobs)[i] = float(double(logits[size_t((*ids)[i])]) - lse);
}

double PplStats::ppl() const {
    return count > 0 ? std::exp(sum_nll / double(count)) : 0;
}

double PplStats::ppl_se() const {
    // llama.cpp's "Final estimate": PPL x sqrt(var(NLL) / (n - 1)).
    const MeanSe m = mean_se(sum_nll, sum_nll2, count);
    return std::exp(m.mean) * m.se;
}

void KldStats::add(std::span<const float> logits, int32_t next, const BaseRow& base) {
    int32_t argmax = 0;
    const double lse = log_sum_exp(logits, &argmax);
    const double nll = lse - double(logits[size_t(next)]);
    const double nll_base = -double(base.logprob_next);
    sum_nll_ += nll, sum_nll2_ += nll * nll;
    sum_nll_base_ += nll_base, sum_nll_base2_ += nll_base * nll_base;
    sum_nll_nll_base_ += nll * nll_base;
    // KL(base || model) over the base's top k and the rest as one outcome.
    double kld = 0, p_base_top = 0, p_top = 0;
    for (size_t i = 0; i < base.ids.size(); ++i) {
        const double lp_base = base.logprobs[i];
        const double lp = double(logits[size_t(base.ids[i])]) - lse;
        const double p_base = std::exp(lp_base);
        kld += p_base * (lp_base - lp);
        p_base_top += p_base;
        p_top += std::exp(lp);
    }
    // The stored log-probabilities are floats: their probabilities sum to 1 within ~1e-7 per entry, so a rest below
    // kRestFloor is rounding, not mass (counting it would add ~1e-5 of KLD when the base holds the whole vocabulary).
    constexpr double kRestFloor = 1e-5;
    const double rest_base = 1 - p_base_top, rest = 1 - p_top;
    if (rest_base > kRestFloor) kld += rest_base * (std::log(rest_base) - std::log(std::max(rest, 1e-300)));
    kld = std::max(kld, 0.0); // rounding of the complements can dip a hair below 0
    sum_kld_ += kld, sum_kld2_ += kld * kld;
    kld_values_.push_back(float(kld));
    if (!base.ids.empty() && base.ids[0] == argmax) ++same_top_;
    const double dp = std::exp(-nll) - std::exp(-nll_base);
    sum_dp_ += dp, sum_dp2_ += dp * dp, sum_dp4_ += dp * dp * dp * dp;
    dp_values_.push_back(float(dp));
    ++count_;
}

KldStats::Summary KldStats::summary() const {
    Summary s;
    s.count = count_;
    if (count_ == 0) return s;
    const MeanSe lp = mean_se_llama(sum_nll_, sum_nll2_, count_);
    const MeanSe lpb = mean_se_llama(sum_nll_base_, sum_nll_base2_, count_);
    s.ppl = std::exp(lp.mean), s.ppl_se = s.ppl * lp.se;
    s.ppl_base = std::exp(lpb.mean), s.ppl_base_se = s.ppl_base * lpb.se;
    const double cov = covariance(sum_nll_, sum_nll_base_, sum_nll_nll_base_, count_);
    s.cor = lp.se > 0 && lpb.se > 0 ? cov / (lp.se * lpb.se) : 0;
    s.ln_ratio = lp.mean - lpb.mean;
    s.ln_ratio_se = std::sqrt(std::max(0.0, lp.se * lp.se + lpb.se * lpb.se - 2 * cov));
    s.ppl_ratio = std::exp(s.ln_ratio), s.ppl_ratio_se = s.ppl_ratio * s.ln_ratio_se;
    s.ppl_diff = s.ppl - s.ppl_base;
    s.ppl_diff_se =
        std::sqrt(std::max(0.0, s.ppl_se * s.ppl_se + s.ppl_base_se * s.ppl_base_se - 2 * s.ppl * s.ppl_base * cov));
    const MeanSe k = mean_se_llama(sum_kld_, sum_kld2_, count_);
    s.kld = k.mean, s.kld_se = k.se;
    std::vector<float> kv = kld_values_, dv = dp_values_;
    std::sort(kv.begin(), kv.end());
    std::sort(dv.begin(), dv.end());
    s.kld_max = kv.back(), s.kld_min = kv.front(), s.kld_median = median(kv);
    s.kld_999 = percentile(kv, 0.999), s.kld_99 = percentile(kv, 0.99), s.kld_95 = percentile(kv, 0.95);
    s.kld_90 = percentile(kv, 0.90), s.kld_10 = percentile(kv, 0.10), s.kld_5 = percentile(kv, 0.05);
    s.kld_1 = percentile(kv, 0.01);
    const MeanSe d = mean_se_llama(sum_dp_, sum_dp2_, count_);
    s.dp_mean = d.mean, s.dp_mean_se = d.se;
    s.dp_max = dv.back(), s.dp_min = dv.front(), s.dp_median = median(dv);
    s.dp_99 = percentile(dv, 0.99), s.dp_95 = percentile(dv, 0.95), s.dp_5 = percentile(dv, 0.05);
    s.dp_1 = percentile(dv, 0.01);
    const MeanSe mse = mean_se_llama(sum_dp2_, sum_dp4_, count_);
    s.rms_dp = std::sqrt(mse.mean);
    s.rms_dp_se = s.rms_dp > 0 ? 0.5 / s.rms_dp * mse.se : 0;
    s.same_top = double(same_top_) / double(count_);
    s.same_top_se = count_ > 1 ? std::sqrt(s.same_top * (1 - s.same_top) / double(count_ - 1)) : 0;
    return s;
}

// ---- the base file ----

Result<std::unique_ptr<KldBaseWriter>> KldBaseWriter::create(const std::string& path, const KldHeader& h,
                                                             std::span<const int32_t> tokens) {
    if (h.top_k < 1 || h.top_k > kMaxTopK || h.top_k > h.n_vocab)
        return error("top-k for the KLD base must be 1.." + std::to_string(std::min(kMaxTopK, h.n_vocab)));
    if (tokens.size() != size_t(h.n_chunks) * h.n_ctx) return error("KLD base: token count does not match the chunks");
    auto w = std::unique_ptr<KldBaseWriter>(new KldBaseWriter());
    w->path_ = path;
    w->tmp_ = path + ".tmp";
    w->h_ = h;
    w->f_ = std::fopen(w->tmp_.c_str(), "wb");
    if (!w->f_) return io_error("cannot create", w->tmp_);
    const uint32_t fields[5] = {h.n_vocab, h.n_ctx, h.n_chunks, h.first, h.top_k};
    if (std::fwrite(kMagic, 1, sizeof(kMagic), w->f_) != sizeof(kMagic) ||
        std::fwrite(fields, sizeof(uint32_t), 5, w->f_) != 5 ||
        std::fwrite(tokens.data(), sizeof(int32_t), tokens.size(), w->f_) != tokens.size())
        return io_error("cannot write", w->tmp_);
    return w;
}

KldBaseWriter::~KldBaseWriter() {
    if (f_) {
        std::fclose(f_);
        std::remove(tmp_.c_str());
    }
}

Status KldBaseWriter::add(std::span<const float> logits, int32_t next) {
    if (logits.size() != h_.n_vocab) return error("KLD base: row of " + std::to_string(logits.size()) + " logits");
    const RowScore r = score_row(logits, next);
    top_logprobs(logits, int32_t(h_.top_k), &ids_, &lps_);
    const auto lp_next = float(r.logprob);
    if (std::fwrite(&lp_next, sizeof(float), 1, f_) != 1) return io_error("cannot write", tmp_);
    for (size_t i = 0; i < ids_.size(); ++i)
        if (std::fwrite(&ids_[i], sizeof(int32_t), 1, f_) != 1 || std::fwrite(&lps_[i], sizeof(float), 1, f_) != 1)
            return io_error("cannot write", tmp_);
    ++rows_;
    return Status::ok();
}

Status KldBaseWriter::finish() {
    const uint64_t want = uint64_t(h_.n_chunks) * (h_.n_ctx - 1 - h_.first);
    if (rows_ != want)
        return error("KLD base: " + std::to_string(rows_) + " rows written, " + std::to_string(want) + " expected");
    FILE* f = f_;
    f_ = nullptr;
    if (std::fflush(f) != 0 || std::fclose(f) != 0) {
        std::remove(tmp_.c_str());
        return io_error("cannot write", tmp_);
    }
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
        std::remove(tmp_.c_str());
        return io_error("cannot rename into place", path_);
    }
    return Status::ok();
}

Result<std::unique_ptr<KldBaseReader>> KldBaseReader::open(const std::string& path, uint32_t full_top_k) {
    auto r = std::unique_ptr<KldBaseReader>(new KldBaseReader());
    r->path_ = path;
    r->f_ = std::fopen(path.c_str(), "rb");
    if (!r->f_) return io_error("cannot open", path);
    struct stat st {};
    if (fstat(fileno(r->f_), &st) != 0) return io_error("cannot stat", path);
    const auto size = uint64_t(st.st_size);
    char magic[8];
    if (size < 20 || std::fread(magic, 1, 8, r->f_) != 8)
        return error(path + " is not a KLD base file (hearth perplexity --kl-divergence-base writes them)");
    KldHeader& h = r->h_;
    uint64_t header_bytes = kHeaderBytes, row_bytes = 0;
    if (std::memcmp(magic, kLlamaMagic, 8) == 0) { // llama.cpp's
        uint32_t fields[3];
        if (std::fread(fields, sizeof(uint32_t), 3, r->f_) != 3) return error(path + ": truncated header");
        r->llama_ = true;
        h.n_ctx = fields[0], h.n_vocab = fields[1], h.n_chunks = fields[2];
        h.first = h.n_ctx / 2;
        h.top_k = std::min(full_top_k, h.n_vocab);
        header_bytes = 20;
        if (h.n_vocab > (1u << 28)) return error(path + ": vocabulary of " + std::to_string(h.n_vocab) + " tokens");
        row_bytes = 2 * (2 * ((uint64_t(h.n_vocab) + 1) / 2) + 4);
    } else if (std::memcmp(magic, kMagic, 8) == 0) {
        uint32_t fields[5];
        if (size < kHeaderBytes || std::fread(fields, sizeof(uint32_t), 5, r->f_) != 5)
            return error(path + ": truncated header");
        h = KldHeader{fields[0], fields[1], fields[2], fields[3], fields[4]};
        row_bytes = 4 + uint64_t(h.top_k) * 8;
    } else {
        return error(path + " is not a KLD base file (hearth perplexity --kl-divergence-base or llama-perplexity "
                            "--kl-divergence-base write them)");
    }
    if (h.n_vocab < 1 || h.n_ctx < 16 || h.n_chunks < 1 || h.first >= h.n_ctx - 1 || h.top_k < 1 ||
        h.top_k > kMaxTopK || h.top_k > h.n_vocab)
        return error(path + ": bad KLD base header (n_vocab " + std::to_string(h.n_vocab) + ", n_ctx " +
                     std::to_string(h.n_ctx) + ", chunks " + std::to_string(h.n_chunks) + ", first " +
                     std::to_string(h.first) + ", top_k " + std::to_string(h.top_k) + ")");
    const uint64_t n_tokens = uint64_t(h.n_chunks) * h.n_ctx;
    // In 128 bits: a hostile header's product must not wrap around to the file's size.
    using u128 = unsigned __int128;
    const u128 want = u128{header_bytes} + u128{n_tokens} * 4 + u128{h.n_chunks} * (h.n_ctx - 1 - h.first) * row_bytes;
    if (u128{size} != want)
        return error(path + ": " + std::to_string(size) + " bytes, not the size its header gives (" +
                     std::to_string(h.n_chunks) + " chunks of " + std::to_string(h.n_ctx) +
                     " tokens): truncated or not a KLD base file");
    r->tokens_.resize(size_t(n_tokens));
    if (std::fread(r->tokens_.data(), sizeof(int32_t), r->tokens_.size(), r->f_) != r->tokens_.size())
        return io_error("cannot read", path);
    for (int32_t t : r->tokens_)
        if (t < 0 || uint32_t(t) >= h.n_vocab)
            return error(path + ": token " + std::to_string(t) + " outside the vocabulary");
    r->buf_.resize(size_t(row_bytes));
    return r;
}

KldBaseReader::~KldBaseReader() {
    if (f_) std::fclose(f_);
}

Status KldBaseReader::next(BaseRow* row) {
    if (std::fread(buf_.data(), 1, buf_.size(), f_) != buf_.size()) return error(path_ + ": truncated");
    const uint8_t* p = buf_.data();
    if (llama_) {
        float scale = 0, min_lp = 0;
        std::memcpy(&scale, p, 4);
        std::memcpy(&min_lp, p + 4, 4);
        if (!std::isfinite(scale) || scale < 0 || !std::isfinite(min_lp) || min_lp > 1e-3f)
            return error(path_ + ": a row's scale or minimum log-probability is not one");
        full_lp_.resize(h_.n_vocab);
        for (uint32_t i = 0; i < h_.n_vocab; ++i) {
            uint16_t q = 0;
            std::memcpy(&q, p + 8 + 2 * size_t(i), 2);
            // 0: at or below the row's floor (16 nats under its top), as llama.cpp leaves out of its sums.
            full_lp_[i] = q == 0 ? -INFINITY : scale * float(q) + min_lp;
        }
        const uint64_t scored = h_.n_ctx - 1 - h_.first;
        const uint64_t chunk = row_ / scored, in_chunk = row_ % scored;
        const int32_t next = tokens_[size_t(chunk * h_.n_ctx + h_.first + in_chunk + 1)];
        ++row_;
        // Renormalized over the tokens above the floor: the stored values are log-probabilities up to their 16-bit
        // rounding.
        const double lse = log_sum_exp(full_lp_, nullptr);
        if (!std::isfinite(lse) || std::fabs(lse) > 0.05)
            return error(path_ + ": a row's probabilities do not sum to 1");
        for (float& v : full_lp_)
            v = float(double(v) - lse);
        top_logprobs(full_lp_, int32_t(h_.top_k), &row->ids, &row->logprobs);
        while (!row->logprobs.empty() && !std::isfinite(row->logprobs.back())) { // fewer tokens above the floor
            row->logprobs.pop_back();
            row->ids.pop_back();
        }
        row->logprob_next = std::isfinite(full_lp_[size_t(next)]) ? full_lp_[size_t(next)] : float(min_lp - lse);
        return Status::ok();
    }
    std::memcpy(&row->logprob_next, p, 4);
    row->ids.resize(h_.top_k);
    row->logprobs.resize(h_.top_k);
    for (uint32_t i = 0; i < h_.top_k; ++i) {
        std::memcpy(&row->ids[i], p + 4 + 8 * size_t(i), 4);
        std::memcpy(&row->logprobs[i], p + 8 + 8 * size_t(i), 4);
    }
    auto is_logprob = [](float v) { return std::isfinite(v) && v <= 1e-3f; };
    if (!is_logprob(row->logprob_next)) return error(path_ + ": a stored log-probability is not one");
    double total = 0;
    for (uint32_t i = 0; i < h_.top_k; ++i) {
        if (row->ids[i] < 0 || uint32_t(row->ids[i]) >= h_.n_vocab)
            return error(path_ + ": token id " + std::to_string(row->ids[i]) + " outside the vocabulary");
        if (!is_logprob(row->logprobs[i])) return error(path_ + ": a stored log-probability is not one");
        total += std::exp(double(row->logprobs[i]));
    }
    if (total > 1.001) return error(path_ + ": stored probabilities sum past 1");
    return Status::ok();
}

} // namespace hearth::quality
