#include "sampling/sampling.h"

#include "base/check.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace hearth {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Up to this many tokens, sort_prefix selects with a heap (std::partial_sort) rather than nth_element,
// and top-p walks a sorted list rather than a histogram.
constexpr size_t kHeapSelectMax = 1024;

// Top-p histogram: kTopPBucketScale buckets per nat of (max_logit - logit) / t, the last one catch-all;
// 512 / 16 covers p down to exp(-32) of the top token, below which a bucket's mass is negligible.
constexpr size_t kTopPBuckets = 512;
constexpr float kTopPBucketScale = 16.0f;

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

Status range_error(const char* field, const char* range, double got) {
    return bad_field(field, std::string("sampling: ") + field + " must be in " + range + ", got " + fmt(got));
}

// NaN fails every comparison, so each check is written as "inside the range" and negated.
bool in_closed(float v, float lo, float hi) {
    return v >= lo && v <= hi;
}

} // namespace

bool set_sampling_parameter(SamplingParams& s, std::string_view name, double value) {
    // Integer fields saturate (a double outside int32 has no int32 value); validate() then names the range.
    auto to_i32 = [](double x) {
        return std::isnan(x) ? 0 : int32_t(std::clamp(x, double(INT32_MIN), double(INT32_MAX)));
    };
    if (name == "temperature")
        s.temperature = float(value);
    else if (name == "top_k")
        s.top_k = to_i32(value);
    else if (name == "top_p")
        s.top_p = float(value);
    else if (name == "min_p")
        s.min_p = float(value);
    else if (name == "repeat_penalty")
        s.repeat_penalty = float(value);
    else if (name == "repeat_last_n")
        s.penalty_last_n = value < 0 ? kMaxPenaltyLastN : to_i32(value);
    else if (name == "presence_penalty")
        s.presence_penalty = float(value);
    else if (name == "frequency_penalty")
        s.frequency_penalty = float(value);
    else
        return false;
    return true;
}

Status validate(const SamplingParams& p, int32_t n_vocab) {
    if (n_vocab <= 0) return error("sampling: n_vocab must be positive, got " + std::to_string(n_vocab));
    if (!in_closed(p.temperature, 0.0f, kMaxTemperature)) return range_error("temperature", "[0, 100]", p.temperature);
    if (p.top_k < 0) return range_error("top_k", "[0, 2^31)", p.top_k);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return range_error("top_p", "(0, 1]", p.top_p);
    if (!in_closed(p.min_p, 0.0f, 1.0f)) return range_error("min_p", "[0, 1]", p.min_p);
    if (!(p.repeat_penalty > 0.0f && p.repeat_penalty <= kMaxRepeatPenalty))
        return range_error("repeat_penalty", "(0, 100]", p.repeat_penalty);
    if (!in_closed(p.penalty_last_n, 0, kMaxPenaltyLastN))
        return range_error("penalty_last_n", "[0, 1048576]", p.penalty_last_n);
    if (!in_closed(p.presence_penalty, -kMaxPresenceFrequency, kMaxPresenceFrequency))
        return range_error("presence_penalty", "[-100, 100]", p.presence_penalty);
    if (!in_closed(p.frequency_penalty, -kMaxPresenceFrequency, kMaxPresenceFrequency))
        return range_error("frequency_penalty", "[-100, 100]", p.frequency_penalty);
    if (!in_closed(p.top_logprobs, 0, kMaxLogprobs)) return range_error("top_logprobs", "[0, 20]", p.top_logprobs);
    for (const auto& [id, bias] : p.logit_bias) {
        if (id < 0 || id >= n_vocab) {
            return bad_field("logit_bias", "sampling: logit_bias token id " + std::to_string(id) +
                                               " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
        }
        if (std::isnan(bias) || bias == std::numeric_limits<float>::infinity()) {
            return bad_field("logit_bias", "sampling: logit_bias for token " + std::to_string(id) +
                                               " must be finite or -inf, got " + fmt(bias));
        }
    }
    return Status::ok();
}

int32_t argmax(std::span<const float> logits) {
    HEARTH_CHECK(!logits.empty(), "argmax of an empty row");
    int32_t best = 0;
    float best_v = kNegInf;
    for (size_t i = 0; i < logits.size(); ++i) {
        if (logits[i] > best_v) { // strict: ties keep the lower index; NaN never compares greater
            best_v = logits[i];
            best = static_cast<int32_t>(i);
        }
    }
    return best;
}

Result<Sampler> Sampler::create(const SamplingParams& params, int32_t n_vocab) {
    HEARTH_TRY(validate(params, n_vocab));
    return Sampler(params, n_vocab);
}

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), rng_(params.seed), cand_(static_cast<size_t>(n_vocab)),
      bucket_mass_(kTopPBuckets), top_logprobs_(static_cast<size_t>(params.top_logprobs)) {
    if (penalties_active()) {
        history_.resize(static_cast<size_t>(params_.penalty_last_n));
        counts_.assign(static_cast<size_t>(n_vocab), 0);
    }
}

bool Sampler::penalties_active() const {
    return params_.penalty_last_n > 0 &&
           (params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f);
}

void Sampler::accept(int32_t token) {
    HEARTH_CHECK(token >= 0 && token < n_vocab_, "accepted token outside the vocabulary");
    if (history_.empty()) return; // penalties off: nothing to remember
    if (history_size_ == history_.size()) {
        --counts_[static_cast<size_t>(history_[history_head_])]; // the slot to write holds the oldest token
    } else {
        ++history_size_;
    }
    history_[history_head_] = token;
    ++counts_[static_cast<size_t>(token)];
    history_head_ = (history_head_ + 1) % history_.size();
}

void Sampler::reset() {
    for (size_t i = 0; i < history_size_; ++i)
        counts_[static_cast<size_t>(history_[i])] = 0;
    history_head_ = 0;
    history_size_ = 0;
    rng_.reseed(params_.seed);
    degenerate_ = false;
    n_top_logprobs_ = 0;
    sampled_logprob_ = 0.0f;
}

void Sampler::apply_logit_bias(std::span<float> logits) const {
    for (const auto& [id, bias] : params_.logit_bias)
        logits[static_cast<size_t>(id)] += bias;
}

// llama.cpp's penalties sampler (penalty_repeat, penalty_freq, penalty_present), applied once per distinct
// token in the window. Counts are negated while a token's penalty is applied, to mark it done without a
// second (n_vocab) array, and restored afterwards.
void Sampler::apply_penalties(std::span<float> logits) {
    if (history_size_ == 0) return;
    const float repeat = params_.repeat_penalty;
    const float freq = params_.frequency_penalty;
    const float presence = params_.presence_penalty;
    for (size_t i = 0; i < history_size_; ++i) {
        const auto t = static_cast<size_t>(history_[i]);
        const int32_t count = counts_[t];
        if (count <= 0) continue; // already applied
        float& l = logits[t];
        l = l <= 0.0f ? l * repeat : l / repeat;
        l -= static_cast<float>(count) * freq + presence;
        counts_[t] = -count;
    }
    for (size_t i = 0; i < history_size_; ++i) {
        const auto t = static_cast<size_t>(history_[i]);
        if (counts_[t] < 0) counts_[t] = -counts_[t];
    }
}

namespace {
// Highest logit first; equal logits: lower id first. A strict total order, so every sort and selection
// gives one result on every standard library.
template <typename C> bool higher(const C& a, const C& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
} // namespace

int32_t Sampler::sample(std::span<float> logits) {
    HEARTH_CHECK(logits.size() == static_cast<size_t>(n_vocab_), "logits row must have n_vocab entries");
    apply_logit_bias(logits);
    apply_penalties(logits);

    // One pass over the vocabulary: clean-up, argmax, and the candidates. With top-k on, cand_[0, k) is a
    // heap whose front is the worst kept token, so the row is never copied whole; a scan in id order
    // replaces the front only on a strictly higher logit (a tie loses to the lower id already kept).
    const bool greedy = params_.temperature == 0.0f || params_.top_k == 1;
    const auto top_k = static_cast<size_t>(params_.top_k);
    const bool heap_top_k = !greedy && params_.top_k > 0 && params_.top_k < n_vocab_;
    auto cmp = [](const Candidate& a, const Candidate& b) { return higher(a, b); };
    Candidate* cand = cand_.data();
    constexpr float kInf = std::numeric_limits<float>::infinity();
    float best_logit = kNegInf;
    int32_t best = -1;
    cand_n_ = 0;
    for (int32_t i = 0; i < n_vocab_; ++i) {
        float l = logits[static_cast<size_t>(i)];
        if (std::isnan(l)) l = kNegInf;
        if (l == kInf) l = FLT_MAX;
        logits[static_cast<size_t>(i)] = l;
        if (l == kNegInf) continue;
        if (l > best_logit) {
            best_logit = l;
            best = i;
        }
        if (greedy) continue;
        if (!heap_top_k) {
            cand[cand_n_++] = Candidate{i, l, 0.0f};
        } else if (cand_n_ < top_k) {
            cand[cand_n_++] = Candidate{i, l, 0.0f};
            std::push_heap(cand, cand + cand_n_, cmp);
        } else if (l > cand[0].logit) {
            std::pop_heap(cand, cand + cand_n_, cmp);
            cand[cand_n_ - 1] = Candidate{i, l, 0.0f};
            std::push_heap(cand, cand + cand_n_, cmp);
        }
    }
    if (heap_top_k) std::sort_heap(cand, cand + cand_n_, cmp); // highest first
    cand_sorted_ = heap_top_k ? cand_n_ : 0;

    degenerate_ = best < 0;
    int32_t token = 0;
    if (!degenerate_) token = greedy ? best : sample_candidates(best_logit);
    if (params_.logprobs) compute_logprobs(logits, token);
    return token;
}

void Sampler::sort_prefix(size_t want) {
    want = std::min(want, cand_n_);
    if (want <= cand_sorted_) return;
    Candidate* first = cand_.data() + cand_sorted_;
    Candidate* mid = cand_.data() + want;
    Candidate* last = cand_.data() + cand_n_;
    auto cmp = [](const Candidate& a, const Candidate& b) { return higher(a, b); };
    if (want - cand_sorted_ <= kHeapSelectMax) {
        std::partial_sort(first, mid, last, cmp); // heap selection: about one comparison per candidate
    } else {
        std::nth_element(first, mid, last, cmp);
        std::sort(first, mid, cmp);
    }
    cand_sorted_ = want;
}

// cand_[0, cand_n_) holds the top-k tokens sorted, or (top-k off) every token above -inf in id order.
int32_t Sampler::sample_candidates(float max_logit) {
    // Unnormalized softmax: the most likely token has p = 1.
    // Divide rather than multiply by 1/t: for a tiny t, 1/t is inf and 0 * inf would be NaN.
    const float t = params_.temperature;
    double total = 0.0;
    for (size_t i = 0; i < cand_n_; ++i) {
        Candidate& c = cand_[i];
        c.p = std::exp((c.logit - max_logit) / t);
        total += c.p;
    }

    // The chain is top-p then min-p; both keep a highest-first prefix, so the result is the shorter of the
    // two prefixes, with top-p measured against the mass before min-p (total). Filtering by min-p first
    // is therefore exact, and it shrinks what top-p must sort from the whole vocabulary to a few tokens.
    if (params_.min_p > 0.0f) apply_min_p();
    if (params_.top_p < 1.0f) {
        const double target = static_cast<double>(params_.top_p) * total;
        if (cand_n_ - cand_sorted_ > kHeapSelectMax) {
            apply_top_p_bucketed(target, max_logit);
        } else {
            apply_top_p_sorted(target);
        }
    }
    return draw();
}

// Keeps p >= min_p * p_max (p_max = 1), preserving order, so a sorted prefix stays a sorted prefix.
void Sampler::apply_min_p() {
    const float threshold = params_.min_p;
    size_t kept = 0;
    size_t kept_sorted = 0;
    for (size_t i = 0; i < cand_n_; ++i) {
        if (cand_[i].p < threshold) continue;
        if (i < cand_sorted_) ++kept_sorted;
        cand_[kept++] = cand_[i];
    }
    cand_n_ = kept;
    cand_sorted_ = kept_sorted;
}

// Keeps the smallest highest-first prefix whose mass reaches target, sorting only as far as needed.
void Sampler::apply_top_p_sorted(double target) {
    double cum = 0.0;
    for (size_t i = 0; i < cand_n_; ++i) {
        if (i == cand_sorted_) sort_prefix(std::max<size_t>(2 * cand_sorted_, 64));
        cum += cand_[i].p;
        if (cum >= target) {
            cand_n_ = i + 1;
            return;
        }
    }
}

// The same cut for a long unsorted list (top-k off) without sorting the nucleus: a histogram of mass by
// (max_logit - logit) / t finds the bucket where the cumulative mass crosses target; every token in a
// higher bucket is kept, and only the crossing bucket is sorted and walked. Buckets are monotone in the
// logit, so this is the sorted walk with the sum over the sure tokens taken in another order.
void Sampler::apply_top_p_bucketed(double target, float max_logit) {
    const float t = params_.temperature;
    auto bucket_of = [&](const Candidate& c) {
        const float d = (max_logit - c.logit) / t * kTopPBucketScale;
        return d < static_cast<float>(kTopPBuckets - 1) ? static_cast<size_t>(d) : kTopPBuckets - 1;
    };
    std::fill(bucket_mass_.begin(), bucket_mass_.end(), 0.0);
    for (size_t i = 0; i < cand_n_; ++i)
        bucket_mass_[bucket_of(cand_[i])] += cand_[i].p;
    size_t b = 0;
    double cum = 0.0;
    while (b < kTopPBuckets && cum + bucket_mass_[b] < target)
        cum += bucket_mass_[b++];
    if (b == kTopPBuckets) return; // rounding: the whole mass falls short of target; keep everything
    if (b == kTopPBuckets - 1) {   // the crossing is in the catch-all tail (top_p within ~1e-13 of 1)
        apply_top_p_sorted(target);
        return;
    }

    // Keep buckets <= b, then split them in place into [buckets < b | bucket b] with a two-pointer loop
    // (not std::partition, whose order is the library's choice).
    size_t kept = 0;
    for (size_t i = 0; i < cand_n_; ++i) {
        if (bucket_of(cand_[i]) <= b) cand_[kept++] = cand_[i];
    }
    size_t sure = 0;
    size_t end = kept;
    while (sure < end) {
        if (bucket_of(cand_[sure]) < b) {
            ++sure;
        } else {
            std::swap(cand_[sure], cand_[--end]);
        }
    }
    auto cmp = [](const Candidate& c1, const Candidate& c2) { return higher(c1, c2); };
    std::sort(cand_.begin() + static_cast<ptrdiff_t>(sure), cand_.begin() + static_cast<ptrdiff_t>(kept), cmp);
    cand_sorted_ = 0;
    cand_n_ = kept;
    for (size_t i = sure; i < kept; ++i) {
        cum += cand_[i].p;
        if (cum >= target) {
            cand_n_ = i + 1;
            return;
        }
    }
}

// One draw in proportion to p over cand_[0, cand_n_), walking the candidates in their current order
// (id order or sorted, both platform-independent). Consumes exactly one number from the RNG.
int32_t Sampler::draw() {
    double total = 0.0;
    for (size_t i = 0; i < cand_n_; ++i)
        total += cand_[i].p;
    const double target = rng_.next_unit() * total;
    double cum = 0.0;
    for (size_t i = 0; i < cand_n_; ++i) {
        cum += cand_[i].p;
        if (target < cum) return cand_[i].id;
    }
    // Rounding left target at the very top: the last token with any mass.
    for (size_t i = cand_n_; i-- > 0;) {
        if (cand_[i].p > 0.0f) return cand_[i].id;
    }
    return cand_[0].id;
}

// Log-softmax of the cleaned-up logits at temperature 1, and its top entries by insertion into a small
// sorted array (top_logprobs <= 20, and a scan in id order only inserts on a strictly larger logit).
void Sampler::compute_logprobs(std::span<const float> logits, int32_t token) {
    n_top_logprobs_ = 0;
    float mx = kNegInf;
    for (float l : logits)
        mx = std::max(mx, l);
    if (mx == kNegInf) {
        sampled_logprob_ = kNegInf;
        return;
    }
    double sum = 0.0;
    for (float l : logits)
        sum += std::exp(l - mx); // -inf - mx = -inf, exp gives 0
    const double lse = static_cast<double>(mx) + std::log(sum);
    sampled_logprob_ = static_cast<float>(static_cast<double>(logits[static_cast<size_t>(token)]) - lse);

    const size_t cap = top_logprobs_.size();
    if (cap == 0) return;
    size_t n = 0; // top_logprobs_[0, n) holds (id, logit) so far, highest first
    for (int32_t i = 0; i < n_vocab_; ++i) {
        const float l = logits[static_cast<size_t>(i)];
        if (l == kNegInf || (n == cap && l <= top_logprobs_[n - 1].logprob)) continue;
        size_t pos = n < cap ? n++ : cap - 1;
        while (pos > 0 && top_logprobs_[pos - 1].logprob < l) {
            top_logprobs_[pos] = top_logprobs_[pos - 1];
            --pos;
        }
        top_logprobs_[pos] = TokenLogprob{i, l};
    }
    for (size_t k = 0; k < n; ++k) {
        top_logprobs_[k].logprob = static_cast<float>(static_cast<double>(top_logprobs_[k].logprob) - lse);
    }
    n_top_logprobs_ = n;
}

} // namespace hearth
