// quality/imatrix.h: importance-matrix statistics: the mean square of every column of the inputs that each weight
// matrix meets while the model reads a text (what llama-imatrix computes; `hearth imatrix` writes them in its GGUF
// format, quantize/imatrix.h, for `hearth quantize --imatrix` or llama-quantize).
//
// Method (llama-imatrix's): the text's chunks as perplexity runs them (quality/perplexity.h: whole chunks of n_ctx
// tokens, BOS first where the vocabulary adds one); every token of every chunk adds the squares of its input row to
// the weight's sums and 1 to its count. Weights: those of the blocks ("blk.N...."), and "output.weight" when asked.
// Sums are accumulated in double (llama-imatrix uses float) and stored as float.
#pragma once

#include "hearth/runtime.h"
#include "quantize/imatrix.h"

#include <map>
#include <string>
#include <vector>

namespace hearth::quality {

class ImatrixCollector {
public:
    explicit ImatrixCollector(bool with_output = false) : with_output_(with_output) {}
    ImatrixCollector(const ImatrixCollector&) = delete; // observer() captures this
    ImatrixCollector& operator=(const ImatrixCollector&) = delete;
    // For Session::feed_scored / score_chunks: valid while the collector lives.
    const Session::MatmulInputFn& observer() const { return fn_; }
    // x (n_tokens, n_cols), the input of weight `name`.
    void add(const std::string& name, const float* x, int64_t n_tokens, int64_t n_cols);
    // Entries so far (one matrix each), with the file's metadata.
    quantize::Imatrix result(std::vector<std::string> datasets, uint32_t chunk_count, uint32_t chunk_size) const;
    size_t size() const { return sums_.size(); }

private:
    struct Sums {
        std::vector<double> sq;
        int64_t count = 0;
    };
    bool with_output_;
    std::map<std::string, Sums> sums_;
    Session::MatmulInputFn fn_ = [this](const std::string& name, const float* x, int64_t n_tokens, int64_t n_cols) {
        add(name, x, n_tokens, n_cols);
    };
};

} // namespace hearth::quality
