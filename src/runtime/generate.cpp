#include "runtime/generate.h"

#include "runtime/decode.h"

#include <chrono>

namespace hearth {

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
    DecodeOptions dopts;
    dopts.max_tokens = opts.n_predict;
    dopts.end_at_eog = false;
    dopts.end_tokens = opts.stop_tokens;
    Decoder dec(nullptr, sampler, std::move(dopts));
    dec.start(prompt);
    Clock::time_point t_first = t_prompt;
    for (int32_t i = 0; i < opts.n_predict; ++i) {
        auto step = dec.step(s.logits(), s.n_past(), s.n_ctx());
        if (!step) return error("generate: " + step.message());
        if (i == 0) {
            t_first = Clock::now();
            st.first_token_s = secs(t0, t_first);
        }
        st.n_generated += 1;
        const bool go_on = on_token(step->token);
        if (step->finish && *step->finish != Finish::Length) {
            st.stop = *step->finish;
            break;
        }
        if (!go_on) {
            st.stop = Finish::Cancelled;
            break;
        }
        if (step->finish) break; // Length
        const int32_t one[1] = {step->token};
        Status fed = s.feed(one);
        if (!fed) {
            if (fed.code() == Code::Cancelled) {
                st.stop = Finish::Cancelled;
                break;
            }
            return fed;
        }
    }
    st.generate_s = secs(t_first, Clock::now());
    return st;
}

} // namespace hearth
