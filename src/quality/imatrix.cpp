#include "quality/imatrix.h"

namespace hearth::quality {

void ImatrixCollector::add(const std::string& name, const float* x, int64_t n_tokens, int64_t n_cols) {
    if (name.rfind("blk.", 0) != 0 && !(with_output_ && name == "output.weight")) return;
    Sums& s = sums_[name];
    if (s.sq.empty()) s.sq.assign(size_t(n_cols), 0.0);
    if (s.sq.size() != size_t(n_cols)) return; // cannot happen: a weight's column count is fixed
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* row = x + t * n_cols;
        for (int64_t j = 0; j < n_cols; ++j)
            s.sq[size_t(j)] += double(row[j]) * double(row[j]);
    }
    s.count += n_tokens;
}

quantize::Imatrix ImatrixCollector::result(std::vector<std::string> datasets, uint32_t chunk_count,
                                           uint32_t chunk_size) const {
    quantize::Imatrix m;
    m.datasets = std::move(datasets);
    m.chunk_count = chunk_count;
    m.chunk_size = chunk_size;
    for (const auto& [name, s] : sums_) {
        quantize::ImatrixEntry& e = m.entries[name];
        e.sums.assign(s.sq.begin(), s.sq.end());
        e.counts = {float(s.count)};
    }
    return m;
}

} // namespace hearth::quality
