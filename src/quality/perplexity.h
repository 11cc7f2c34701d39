// quality/perplexity.h: what a model (or a quantization of it) keeps, as users feel it: perplexity over a text, and
// the KL divergence of its next-token distributions from a reference model's, by llama.cpp's method so the figures
// compare with `llama-perplexity`'s:
//
//   the text is tokenized once (BOS/EOS as the vocabulary asks) and cut into n_chunks = tokens / n_ctx chunks of
//   n_ctx tokens (a partial last chunk is dropped); each chunk runs alone from an empty cache, its first token
//   replaced by BOS when the vocabulary adds one; the logits at positions first = n_ctx / 2 .. n_ctx - 2 score the
//   tokens after them (n_ctx - 1 - first per chunk), so every scored token has at least n_ctx / 2 tokens of context.
//   PPL = exp(mean NLL); its uncertainty = PPL x the standard error of the mean NLL.
//
// KL divergence: a first run saves the reference's scored rows (KldBaseWriter: per row the log-probability of the
// actual next token and the top-k log-probabilities with their ids, not the full vocabulary: ~1 KB per token at k =
// 128 instead of ~300 KB for Qwen's 152k tokens); a second run of another model over the same tokens compares
// (KldStats). KLD(base || model) is summed over the base's top k plus the rest of the vocabulary as one bucket,
// which is exact for those k + 1 outcomes and at most the full-vocabulary figure (merging outcomes never raises a
// KL divergence); llama.cpp sums over every token whose base log-probability is above -16 from 16-bit quantized
// log-probabilities.
#pragma once

#include "base/status.h"
#include "hearth/runtime.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace hearth::quality {

// How a tokenized text is cut into chunks.
struct ChunkPlan {
    int32_t n_ctx = 0;                                   // tokens per chunk
    int32_t n_chunks = 0;                                // chunks scored
    int32_t first = 0;                                   // first scored logits row of a chunk (n_ctx / 2)
    int32_t scored() const { return n_ctx - 1 - first; } // tokens scored per chunk
};

// n_chunks_max < 0: every whole chunk. Errors: n_ctx < 16, or fewer than 2 x n_ctx tokens (llama.cpp's rule: a
// text that short gives no meaningful figure).
Result<ChunkPlan> plan_chunks(size_t n_tokens, int32_t n_ctx, int32_t n_chunks_max);

// The tokens of chunk i as the model sees them: text tokens [i n_ctx, (i + 1) n_ctx), the first replaced by bos when
// bos >= 0.
std::vector<int32_t> chunk_tokens(std::span<const int32_t> tokens, const ChunkPlan& plan, int32_t i, int32_t bos);

// Runs the plan's chunks through `session` (reset before each; its context must hold n_ctx tokens) and calls
// on_row(logits, next) for every scored row in order (next: the text's token after it), then on_chunk(i) after chunk
// i. An error from on_row stops the run and is returned. inputs: as Session::feed_scored's (importance matrices).
using RowFn = std::function<Status(std::span<const float> logits, int32_t next)>;
Status score_chunks(Session& session, std::span<const int32_t> tokens, const ChunkPlan& plan, int32_t bos,
                    const RowFn& on_row, const std::function<void(int32_t)>& on_chunk = {},
                    const Session::MatmulInputFn* inputs = nullptr);

// A mean and the standard error of that mean from running sums (n > 1; 0 otherwise).
struct MeanSe {
    double mean = 0, se = 0;
};
MeanSe mean_se(double sum, double sum2, int64_t n);

// One logits row summarized against the actual next token: log-softmax in double.
struct RowScore {
    double logprob = 0;  // log p(next)
    int32_t argmax = -1; // the row's top token
};
RowScore score_row(std::span<const float> logits, int32_t next);

// The row's top-k log-probabilities (ids and values, largest first; ties by smaller id), k <= logits.size().
void top_logprobs(std::span<const float> logits, int32_t k, std::vector<int32_t>* ids, std::vector<float>* logprobs);

// Perplexity's running sums.
struct PplStats {
    double sum_nll = 0, sum_nll2 = 0;
    int64_t count = 0;
    void add(double nll) { sum_nll += nll, sum_nll2 += nll * nll, ++count; }
    double ppl() const;
    double ppl_se() const; // PPL x the standard error of the mean NLL
};

// One scored row of a KLD base file.
struct BaseRow {
    float logprob_next = 0;      // the reference's log p(actual next token)
    std::vector<int32_t> ids;    // its top-k tokens, most probable first
    std::vector<float> logprobs; // their log-probabilities
};

// The KL divergence statistics of llama.cpp's `--kl-divergence` (same names, same formulas for the uncertainties).
class KldStats {
public:
    void add(std::span<const float> logits, int32_t next, const BaseRow& base);
    int64_t count() const { return count_; }
    struct Summary {
        int64_t count = 0;
        double ppl = 0, ppl_se = 0, ppl_base = 0, ppl_base_se = 0;
        double ln_ratio = 0, ln_ratio_se = 0; // mean ln(PPL(Q) / PPL(base))
        double ppl_ratio = 0, ppl_ratio_se = 0, ppl_diff = 0, ppl_diff_se = 0, cor = 0;
        double kld = 0, kld_se = 0, kld_max = 0, kld_999 = 0, kld_99 = 0, kld_95 = 0, kld_90 = 0, kld_median = 0,
               kld_10 = 0, kld_5 = 0, kld_1 = 0, kld_min = 0;
        double dp_mean = 0, dp_mean_se = 0, dp_max = 0, dp_99 = 0, dp_95 = 0, dp_median = 0, dp_5 = 0, dp_1 = 0,
               dp_min = 0;
        double rms_dp = 0, rms_dp_se = 0, same_top = 0, same_top_se = 0;
    };
    Summary summary() const;

private:
    double sum_nll_ = 0, sum_nll2_ = 0, sum_nll_base_ = 0, sum_nll_base2_ = 0, sum_nll_nll_base_ = 0;
    double sum_kld_ = 0, sum_kld2_ = 0, sum_dp_ = 0, sum_dp2_ = 0, sum_dp4_ = 0;
    int64_t same_top_ = 0, count_ = 0;
    std::vector<float> kld_values_, dp_values_;
};

// The base file: "HRTHKLD1", then u32 n_vocab, n_ctx, n_chunks, first, top_k; the n_chunks x n_ctx text tokens (i32,
// before any BOS replacement); then per chunk and scored row f32 logprob_next and top_k x (i32 id, f32 logprob).
// Little-endian. Written to PATH.tmp and renamed when complete: an interrupted run leaves no base file.
struct KldHeader {
    uint32_t n_vocab = 0, n_ctx = 0, n_chunks = 0, first = 0, top_k = 0;
};

class KldBaseWriter {
public:
    static Result<std::unique_ptr<KldBaseWriter>> create(const std::string& path, const KldHeader& h,
                                                         std::span<const int32_t> tokens);
    ~KldBaseWriter();                                        // an unfinished file is removed
    Status add(std::span<const float> logits, int32_t next); // rows in order
    Status finish();                                         // checks the row count, then renames into place

private:
    KldBaseWriter() = default;
    std::string path_, tmp_;
    FILE* f_ = nullptr;
    KldHeader h_;
    uint64_t rows_ = 0;
    std::vector<int32_t> ids_;
    std::vector<float> lps_;
};

// Reads hearth's base files and llama.cpp's (`llama-perplexity --kl-divergence-base`: "_logits_", u32 n_ctx, i32
// n_vocab, i32 n_chunks, the tokens, then per scored row f32 scale, f32 min log-prob and n_vocab u16 q with log p =
// scale q + min, padded to an even count): a llama.cpp row becomes its top full_top_k log-probabilities and the next
// token's, so either tool's reference runs compare in the other (llama.cpp reading ours: not supported).
class KldBaseReader {
public:
    // Reads the header and tokens and checks the file's size against them. Errors name what is wrong.
    static Result<std::unique_ptr<KldBaseReader>> open(const std::string& path, uint32_t full_top_k = 128);
    bool llama_format() const { return llama_; }
    ~KldBaseReader();
    const KldHeader& header() const { return h_; }
    const std::vector<int32_t>& tokens() const { return tokens_; }
    // The next scored row; errors on a truncated file, an id outside the vocabulary or a log-probability that is
    // not one.
    Status next(BaseRow* row);

private:
    KldBaseReader() = default;
    std::string path_;
    FILE* f_ = nullptr;
    KldHeader h_;
    std::vector<int32_t> tokens_;
    std::vector<uint8_t> buf_;
    bool llama_ = false;
    uint64_t row_ = 0;           // rows read (llama.cpp's files: to find each row's next token)
    std::vector<float> full_lp_; // llama.cpp's row dequantized
};

} // namespace hearth::quality
