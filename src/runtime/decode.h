// runtime/decode.h: the decode step, once, for every generation loop (the server's scheduler, `hearth run`,
// `hearth generate`): one sequence's sampler, end-of-generation tokens, token limit, context limit, stop
// strings with hold-back, and UTF-8-complete text pieces, advanced one token at a time from the logits the
// session computed. It knows nothing of sessions, batching or threads: the caller feeds the model and
// passes the logits in; feeding the chosen token (unless the step finished the sequence) is the caller's.
//
//   Decoder d(&tok, sampler, opts);
//   d.start(prompt);                                   // the penalties see the prompt
//   for (;;) {
//       auto s = d.step(session.logits(), session.n_past(), session.n_ctx());
//       if (!s) return s.status();                     // every token banned or NaN
//       show(s->text);
//       if (s->finish) break;
//       session.feed({s->token});
//   }
//   show(d.rest());                                    // held-back text (not after a stop string)
//
// Constrained decoding (structured output, forced tool calls): with a grammar matcher (grammar/matcher.h) in
// the options, only tokens the grammar allows next are sampled, an end-of-generation token only where the
// text so far is complete, and the sequence ends (Finish::Stop) as soon as nothing more can follow. Stop
// strings and the token limit still apply, so a cut answer may be incomplete (Finish::Length).
//
// Allocation: the logits scratch and the token mask are sized at construction; the per-token work reuses
// their buffers (the accumulated text grows amortized; a grammar state met for the first time fills the
// matcher's caches).
#pragma once

#include "base/status.h"
#include "grammar/matcher.h"
#include "grammar/token_mask.h"
#include "hearth/finish.h"
#include "sampling/sampling.h"
#include "tokenizer/tokenizer.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

struct DecodeOptions {
    int32_t max_tokens = -1;         // most tokens to sample; -1: until another end (0 is the caller's: sample none)
    std::vector<std::string> stop;   // stop strings: the text before the first match is shown, nothing after
    bool end_at_eog = true;          // an end-of-generation token (tokenizer is_eog) ends with Finish::Stop
    std::vector<int32_t> end_tokens; // these end with Finish::Stop too (their text is shown)
    // Constrained decoding: the matcher at the start of its grammar and the model's vocabulary as bytes
    // (one per model, shared; it must outlive the Decoder). Both or neither; needs a tokenizer.
    std::optional<grammar::Matcher> grammar;
    const grammar::VocabTrie* vocab = nullptr;
};

struct DecodeStep {
    int32_t token = -1;
    std::string_view text;        // valid UTF-8 to show now (may be empty); valid until the next call
    float logprob = 0;            // sampler.sampled_logprob() when the sampler computes log-probabilities
    std::optional<Finish> finish; // set when this token ends the sequence (it is not to be fed)
    bool eog = false;             // the token is an end-of-generation token (no text; finish is Stop)
};

class Decoder {
public:
    // `sampler` is used for this sequence alone and must outlive the Decoder, as must `tok`. Without a
    // tokenizer (null) it works on token ids alone: no text, no end-of-generation tokens, no stop strings.
    Decoder(const Tokenizer* tok, Sampler& sampler, DecodeOptions opts);

    // Starts a sequence after `prompt`: the sampler is reset (reseeded) and its penalties see the prompt.
    void start(std::span<const int32_t> prompt);

    // Samples the next token from `logits` (n_vocab; copied, not modified). `n_past`/`n_ctx` are the
    // session's after the logits were computed: when n_past >= n_ctx the token cannot be fed and the
    // sequence ends with ContextFull (unless it ended otherwise). Errors: every token has probability zero
    // (with a grammar: none it allows has, or its limits were exceeded: Code::TooLarge).
    Result<DecodeStep> step(std::span<const float> logits, int32_t n_past, int32_t n_ctx);

    // Text still held back (the start of a stop string that never completed, an incomplete character as
    // U+FFFD), once at the end; empty after a stop string. Added to text().
    std::string_view rest();

    const std::string& text() const { return text_; } // everything shown so far, rest() included
    int32_t n_generated() const { return n_generated_; }
    const Sampler& sampler() const { return sampler_; }
    const DecodeOptions& options() const { return opts_; }
    const grammar::Matcher* matcher() const { return opts_.grammar ? &*opts_.grammar : nullptr; }

private:
    const Tokenizer* tok_;
    Sampler& sampler_;
    DecodeOptions opts_;
    std::optional<Detokenizer> detok_; // when there is a tokenizer
    std::vector<float> logits_;        // (n_vocab) the sampler edits its row in place
    grammar::TokenMask mask_;          // with a grammar: the tokens it allows next
    std::string held_;                 // decoded text not shown yet: it may be the start of a stop string
    std::string out_;                  // this step's text (DecodeStep::text points here)
    std::string text_;
    int32_t n_generated_ = 0;
    bool cut_ = false; // ended by a stop string
};

} // namespace hearth
