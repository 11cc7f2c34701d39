#include "runtime/chat.h"

#include <algorithm>
#include <chrono>

namespace hearth {
namespace {

// Gemma's turn format (as in Gemma's own template: a system prompt goes in front of the first user turn).
constexpr std::string_view kGemmaTemplate =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first_user_prefix = messages[0]['content'] + "
    "'\\n\\n' %}{% set loop_messages = messages[1:] %}{% else %}{% set first_user_prefix = '' %}{% set "
    "loop_messages = messages %}{% endif %}{% for message in loop_messages %}{% if message['role'] == 'assistant' "
    "%}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + "
    "'\\n' + (first_user_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor "
    "%}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";

bool has_piece(const Tokenizer& tok, std::string_view piece) {
    return std::find(tok.pieces.begin(), tok.pieces.end(), piece) != tok.pieces.end();
}

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

} // namespace

ChatFormat chat_format_for(const Tokenizer& tok, const std::optional<std::string>& model_template,
                           const std::optional<std::string>& override_source, const std::string& override_origin) {
    ChatFormat f;
    f.bos_token = tok.bos >= 0 ? token_to_piece(tok, tok.bos, true) : "";
    f.eos_token = tok.eos >= 0 ? token_to_piece(tok, tok.eos, true) : "";
    f.add_bos = tok.add_bos && tok.bos >= 0;
    if (override_source && !override_source->empty()) {
        f.source = *override_source;
        f.origin = override_origin;
        f.kind = template_kind(f.source);
    } else if (model_template && !model_template->empty()) {
        f.source = *model_template;
        f.origin = "model";
    } else if (has_piece(tok, "<start_of_turn>") && has_piece(tok, "<end_of_turn>")) {
        f.source = std::string(kGemmaTemplate);
        f.origin = "Gemma default (the model has no template)";
    } else {
        f.source = std::string(kChatMlTemplate);
        f.origin = "ChatML default (the model has no template)";
    }
    return f;
}

Chat::Chat(Session& session, const Tokenizer& tok, ChatFormat fmt, ChatOptions opts)
    : session_(session), tok_(tok), fmt_(std::move(fmt)), opts_(std::move(opts)) {}

void Chat::set_system(const std::string& text) {
    if (!messages_.empty() && messages_.front().role == "system") messages_.erase(messages_.begin());
    if (!text.empty()) messages_.insert(messages_.begin(), ChatMessage{"system", text});
}

void Chat::clear() {
    std::erase_if(messages_, [](const ChatMessage& m) { return m.role != "system"; });
}

Result<std::vector<int32_t>> Chat::prompt_tokens(const std::vector<ChatMessage>& messages) const {
    auto text = render_chat(fmt_, messages, true);
    if (!text) return text.status();
    const bool starts_with_bos = !fmt_.bos_token.empty() && text->starts_with(fmt_.bos_token);
    std::vector<int32_t> toks = tokenize(tok_, *text, /*add_special=*/false, /*parse_special=*/true);
    if (fmt_.add_bos && !starts_with_bos) toks.insert(toks.begin(), tok_.bos);
    return toks;
}

Result<int32_t> Chat::count_tokens(const std::string& user) const {
    auto msgs = messages_;
    msgs.push_back({"user", user});
    auto t = prompt_tokens(msgs);
    if (!t) return t.status();
    return int32_t(t->size());
}

Result<TurnStats> Chat::respond(const std::string& user, Sampler& sampler,
                                const std::function<bool(const std::string&)>& on_text,
                                const std::atomic<bool>* cancel) {
    const auto t0 = Clock::now();
    TurnStats st;
    const int32_t n_ctx = session_.n_ctx();
    const int32_t budget = std::max<int32_t>(1, n_ctx - std::max<int32_t>(0, opts_.reserve));

    std::vector<ChatMessage> msgs = messages_;
    msgs.push_back({"user", user});
    auto toks = prompt_tokens(msgs);
    if (!toks) return toks.status();
    while (int32_t(toks->size()) > budget) {
        if (opts_.overflow == Overflow::Error)
            return error("the conversation takes " + std::to_string(toks->size()) + " tokens but the context holds " +
                         std::to_string(n_ctx) + " (" + std::to_string(opts_.reserve) +
                         " kept for the answer); use /clear, a larger --ctx-size, or --overflow drop-oldest");
        // Drop the oldest message after the system prompt (a user turn, and the answer that followed it).
        auto first = std::find_if(msgs.begin(), msgs.end(), [](const ChatMessage& m) { return m.role != "system"; });
        if (first == msgs.end() || first + 1 == msgs.end())
            return error("the message alone takes " + std::to_string(toks->size()) +
                         " tokens, more than the context of " + std::to_string(n_ctx) +
                         " tokens allows; shorten it or use a larger --ctx-size");
        auto last = first + 1;
        if (first->role == "user" && last != msgs.end() - 1 && last->role == "assistant") ++last;
        st.n_dropped += int32_t(last - first);
        msgs.erase(first, last);
        toks = prompt_tokens(msgs);
        if (!toks) return toks.status();
    }
    st.n_prompt = int32_t(toks->size());

    // Reuse the longest prefix already in the cache; feed at least one token so the logits are fresh.
    size_t keep = 0;
    while (keep < cached_.size() && keep < toks->size() && cached_[keep] == (*toks)[keep])
        ++keep;
    keep = std::min(keep, toks->size() - 1);
    keep = std::min<size_t>(keep, size_t(session_.n_past()));
    HEARTH_TRY(session_.truncate(int32_t(keep)));
    cached_.resize(keep);
    const int32_t chunk = 256;
    for (size_t at = keep; at < toks->size(); at += chunk) {
        if (cancel && cancel->load()) {
            st.end = Finish::Cancelled;
            return st; // nothing answered, nothing added
        }
        const size_t n = std::min<size_t>(chunk, toks->size() - at);
        HEARTH_TRY(session_.feed(std::span<const int32_t>(toks->data() + at, n)));
        cached_.insert(cached_.end(), toks->begin() + long(at), toks->begin() + long(at + n));
        st.n_fed += int32_t(n);
    }
    const auto t_prompt = Clock::now();
    st.prompt_s = secs(t0, t_prompt);

    // Generate. The conversation changes only when the turn succeeds (or is cancelled with a partial answer).
    DecodeOptions dopts;
    dopts.max_tokens = opts_.n_predict;
    dopts.stop = opts_.stop;
    Decoder dec(&tok_, sampler, std::move(dopts));
    dec.start(*toks);
    Clock::time_point t_first = t_prompt;
    auto emit = [&](std::string_view text) -> bool { return text.empty() || on_text(std::string(text)); };
    st.end = opts_.n_predict == 0 ? Finish::Length : Finish::Stop;
    for (int32_t i = 0; opts_.n_predict != 0; ++i) {
        if (cancel && cancel->load()) {
            st.end = Finish::Cancelled;
            break;
        }
        auto step = dec.step(session_.logits(), session_.n_past(), n_ctx);
        if (!step) return step.status();
        if (i == 0) {
            t_first = Clock::now();
            st.first_token_s = secs(t0, t_first);
        }
        st.n_generated += 1;
        if (!emit(step->text) && step->finish != Finish::StopString) { // the callback cannot undo a stop
            st.end = Finish::Cancelled;
            break;
        }
        if (step->finish) {
            st.end = *step->finish;
            break;
        }
        const int32_t one[1] = {step->token};
        HEARTH_TRY(session_.feed(one));
        cached_.push_back(step->token);
    }
    emit(dec.rest());
    st.generate_s = secs(t_first, Clock::now());
    messages_ = std::move(msgs);
    messages_.push_back({"assistant", dec.text()});
    return st;
}

} // namespace hearth
