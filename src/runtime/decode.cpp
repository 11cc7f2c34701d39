#include "runtime/decode.h"

#include <algorithm>

namespace hearth {

Decoder::Decoder(const Tokenizer* tok, Sampler& sampler, DecodeOptions opts)
    : tok_(tok), sampler_(sampler), opts_(std::move(opts)), logits_(size_t(sampler.n_vocab())) {
    if (tok_) detok_.emplace(*tok_);
    held_.reserve(256);
    out_.reserve(256);
    if (opts_.grammar) mask_.reset(sampler.n_vocab());
}

void Decoder::start(std::span<const int32_t> prompt) {
    sampler_.reset();
    sampler_.accept(prompt);
    if (tok_) detok_.emplace(*tok_);
    held_.clear();
    text_.clear();
    n_generated_ = 0;
    cut_ = false;
    if (opts_.grammar) opts_.grammar->reset();
}

Result<DecodeStep> Decoder::step(std::span<const float> logits, int32_t n_past, int32_t n_ctx) {
    std::copy_n(logits.begin(), std::min(logits.size(), logits_.size()), logits_.begin());
    grammar::Matcher* g = opts_.grammar ? &*opts_.grammar : nullptr;
    if (g) {
        if (Status s = g->fill_mask(*opts_.vocab, mask_); !s) return s;
        const bool eog_ok = tok_ && opts_.end_at_eog && g->can_end();
        grammar::apply_token_mask(mask_, logits_,
                                  eog_ok ? std::span<const int32_t>(tok_->eog) : std::span<const int32_t>());
    }
    const int32_t tok = sampler_.sample(logits_);
    if (sampler_.degenerate())
        return error(g ? "no token the grammar allows next has a probability above zero"
                       : "every token has probability zero (all banned or NaN logits)");
    sampler_.accept(tok);
    n_generated_ += 1;
    DecodeStep st;
    st.token = tok;
    st.logprob = sampler_.sampled_logprob();
    out_.clear();
    if (tok_ && opts_.end_at_eog && is_eog(*tok_, tok)) {
        st.finish = Finish::Stop;
        st.eog = true;
        return st;
    }
    if (g)
        if (Status s = g->accept_token(*opts_.vocab, tok); !s) return s; // cannot happen: the mask allowed it
    if (detok_) held_ += detok_->push(tok);
    // Stop strings: cut at the first full match; hold back a tail that could still become one.
    size_t cut = std::string::npos, hold = 0;
    for (const auto& s : opts_.stop) {
        if (s.empty()) continue;
        if (size_t at = held_.find(s); at != std::string::npos) cut = std::min(cut, at);
        for (size_t k = std::min(s.size() - 1, held_.size()); k > 0; --k)
            if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
                hold = std::max(hold, k);
                break;
            }
    }
    if (cut != std::string::npos) {
        out_.assign(held_, 0, cut);
        held_.clear();
        cut_ = true;
        st.finish = Finish::StopString;
    } else {
        out_.assign(held_, 0, held_.size() - hold);
        held_.erase(0, out_.size());
    }
    text_ += out_;
    st.text = out_;
    if (st.finish) return st;
    if (std::find(opts_.end_tokens.begin(), opts_.end_tokens.end(), tok) != opts_.end_tokens.end() ||
        (g && g->must_end()))
        st.finish = Finish::Stop;
    else if (opts_.max_tokens >= 0 && n_generated_ >= opts_.max_tokens)
        st.finish = Finish::Length;
    else if (n_past >= n_ctx)
        st.finish = Finish::ContextFull;
    return st;
}

std::string_view Decoder::rest() {
    out_.clear();
    if (!cut_) {
        out_ = held_;
        if (detok_) out_ += detok_->flush();
        held_.clear();
    }
    text_ += out_;
    return out_;
}

} // namespace hearth
