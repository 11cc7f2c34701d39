#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

namespace hearth {

const char* stop_reason_name(StopReason r) {
    switch (r) {
    case StopReason::Length:
        return "length";
    case StopReason::StopToken:
        return "stop";
    case StopReason::Callback:
        return "callback";
    case StopReason::Cancelled:
        return "cancelled";
    }
    return "?";
}

Result<GenerateStats> generate(Session& s, std::span<const int32_t> prompt, Sampler& sampler,
                               const GenerateOptions& opts, const std::function<bool(int32_t)>& on_token) {
    using Clock = std::chrono::steady_clock;
    auto secs = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
    if (prompt.empty()) return error("generate: the prompt is empty");
    if (opts.n_predict < 0) return error("generate: n_predict must be >= 0");
    GenerateStats st;
    st.n_prompt = static_cast<int32_t>(prompt.size());
    const auto t0 = Clock::now();
    HEARTH_TRY(s.feed(prompt));
    const auto t_prompt = Clock::now();
    st.prompt_s = secs(t0, t_prompt);
    sampler.accept(prompt);
    std::vector<float> logits(s.logits().size()); // the sampler edits its row in place
    Clock::time_point t_first = t_prompt;
    for (int32_t i = 0; i < opts.n_predict; ++i) {
        std::copy(s.logits().begin(), s.logits().end(), logits.begin());
        const int32_t tok = sampler.sample(logits);
        if (sampler.degenerate()) return error("generate: every token has probability zero (all banned or NaN logits)");
        sampler.accept(tok);
        if (i == 0) {
            t_first = Clock::now();
            st.first_token_s = secs(t0, t_first);
        }
        st.n_generated += 1;
        const bool go_on = on_token(tok);
        if (std::find(opts.stop_tokens.begin(), opts.stop_tokens.end(), tok) != opts.stop_tokens.end()) {
            st.stop = StopReason::StopToken;
            break;
        }
        if (!go_on) {
            st.stop = StopReason::Callback;
            break;
        }
        if (i + 1 == opts.n_predict) break;
        const int32_t one[1] = {tok};
        Status fed = s.feed(one);
        if (!fed) {
            if (fed.code() == Code::Cancelled) {
                st.stop = StopReason::Cancelled;
                break;
            }
            return fed;
        }
    }
    st.generate_s = secs(t_first, Clock::now());
    return st;
}

} // namespace hearth
