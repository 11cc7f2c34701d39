// runtime/generate.h: the generation loop on top of a Session: prefill the prompt, then sample and
// feed one token at a time (runtime/decode.h), streaming each token to a callback as soon as it is chosen.
// End-of-generation tokens do not end it (only stop_tokens, the limit, a full context and the callback).
#pragma once

#include "base/status.h"
#include "hearth/finish.h"
#include "hearth/runtime.h"
#include "sampling/sampling.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace hearth {

struct GenerateOptions {
    int32_t n_predict = 64;           // most tokens to generate
    std::vector<int32_t> stop_tokens; // generation ends (Finish::Stop) after emitting one of these (e.g. EOS/EOT)
};

struct GenerateStats {
    int32_t n_prompt = 0;
    int32_t n_generated = 0;
    double prompt_s = 0;          // prefill time
    double first_token_s = 0;     // from start to the first token chosen (time to first token)
    double generate_s = 0;        // from the first token to the last
    Finish stop = Finish::Length; // Cancelled: on_token returned false, or the session was cancelled
};

// Streams each chosen token to on_token (which returns false to stop). The prompt is appended to
// what the session already holds. Errors: the session's (context full, bad token, cancelled during
// the prompt). The sampler sees the prompt tokens for its penalties.
Result<GenerateStats> generate(Session& session, std::span<const int32_t> prompt, Sampler& sampler,
                               const GenerateOptions& opts, const std::function<bool(int32_t)>& on_token);

} // namespace hearth
