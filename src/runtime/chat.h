// runtime/chat.h: a conversation with a model: messages -> chat template (template/conversation.h) -> tokens
// -> session, with the session's KV cache reused across turns (only the tokens after the longest shared
// prefix are fed), the context budget checked before anything runs, and the answer streamed as text.
#pragma once

#include "base/status.h"
#include "hearth/runtime.h"
#include "runtime/decode.h"
#include "sampling/sampling.h"
#include "template/conversation.h"
#include "tokenizer/tokenizer.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hearth {

// The model's own template, else a default chosen by the vocabulary (Gemma turn markers -> Gemma's
// format, else ChatML). `override_source` (non-empty) wins; it is a Go template when it looks like one.
ChatFormat chat_format_for(const Tokenizer& tok, const std::optional<std::string>& model_template,
                           const std::optional<std::string>& override_source = std::nullopt,
                           const std::string& override_origin = "override");

enum class Overflow { Error, DropOldest };

struct ChatOptions {
    Overflow overflow = Overflow::Error;
    int32_t n_predict = -1;        // most tokens per answer; -1 = until end of turn or a full context
    std::vector<std::string> stop; // stop strings (not shown)
    int32_t reserve = 16;          // tokens kept free for the start of the answer when checking the budget
};

struct TurnStats {
    int32_t n_prompt = 0; // tokens of the whole rendered conversation
    int32_t n_fed = 0;    // of those, tokens actually fed (the rest came from the cache)
    int32_t n_generated = 0;
    int32_t n_dropped = 0; // messages dropped to fit (Overflow::DropOldest)
    double prompt_s = 0, first_token_s = 0, generate_s = 0;
    Finish end = Finish::Stop;
};

class Chat {
public:
    Chat(Session& session, const Tokenizer& tok, ChatFormat fmt, ChatOptions opts = {});

    // System prompt (kept first; replaces an earlier one) and messages to start from (a Modelfile's MESSAGE).
    void set_system(const std::string& text);
    void add_history(const ChatMessage& m) { messages_.push_back(m); }
    const std::vector<ChatMessage>& messages() const { return messages_; }
    ChatOptions& options() { return opts_; }
    const ChatFormat& format() const { return fmt_; }
    void clear(); // forget the conversation (the system prompt stays)

    // Token count of the conversation plus `user` with the assistant's turn opened.
    Result<int32_t> count_tokens(const std::string& user) const;

    // Adds the user's message and streams the answer to on_text (return false to stop). On an error
    // nothing is added to the conversation. A cancel (the flag, polled between tokens and prompt batches)
    // keeps the partial answer.
    Result<TurnStats> respond(const std::string& user, Sampler& sampler,
                              const std::function<bool(const std::string&)>& on_text,
                              const std::atomic<bool>* cancel = nullptr);

private:
    Result<std::vector<int32_t>> prompt_tokens(const std::vector<ChatMessage>& messages) const;

    Session& session_;
    const Tokenizer& tok_;
    ChatFormat fmt_;
    ChatOptions opts_;
    std::vector<ChatMessage> messages_;
    std::vector<int32_t> cached_; // tokens in the session's KV cache, in order
};

} // namespace hearth
