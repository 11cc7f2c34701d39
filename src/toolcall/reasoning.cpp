// toolcall/reasoning.cpp: see reasoning.h.
#include "toolcall/reasoning.h"

#include <algorithm>

namespace hearth::toolcall {
namespace {

constexpr std::string_view kOpen = "<think>", kClose = "</think>";

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

// The length of the longest suffix of `s` that is a proper prefix of `tag`.
size_t partial_tag(std::string_view s, std::string_view tag) {
    for (size_t k = std::min(s.size(), tag.size() - 1); k > 0; --k)
        if (s.substr(s.size() - k) == tag.substr(0, k)) return k;
    return 0;
}

} // namespace

Thinking detect_thinking(std::string_view t) {
    if (t.find(kOpen) == std::string_view::npos) return Thinking::None;
    return t.find("enable_thinking") != std::string_view::npos ? Thinking::Switchable : Thinking::Always;
}

ThinkPiece ThinkSplitter::feed(std::string_view text) {
    ThinkPiece out;
    held_.append(text);
    for (bool progress = true; progress;) {
        progress = false;
        switch (state_) {
        case State::Start: { // leading whitespace, then "<think>" or the answer
            const size_t p = held_.find_first_not_of(" \n\r\t");
            if (p == std::string::npos) return out; // only whitespace so far
            const std::string_view rest = std::string_view(held_).substr(p);
            if (rest.substr(0, kOpen.size()) == kOpen) {
                held_.erase(0, p + kOpen.size());
                state_ = State::Thinking;
                progress = true;
            } else if (kOpen.substr(0, rest.size()) == rest) {
                return out; // may still become "<think>"
            } else {
                state_ = State::Answer;
                progress = true;
            }
            break;
        }
        case State::Thinking: {
            if (at_start_) { // the whitespace that opens the block is dropped too
                held_.erase(0, std::find_if_not(held_.begin(), held_.end(), is_space) - held_.begin());
                if (held_.empty()) return out;
                at_start_ = false;
            }
            const size_t at = held_.find(kClose);
            if (at != std::string::npos) {
                out.reasoning += held_.substr(0, at);
                held_.erase(0, at + kClose.size());
                state_ = State::AfterThink;
                progress = true;
            } else {
                const size_t keep = partial_tag(held_, kClose);
                out.reasoning += held_.substr(0, held_.size() - keep);
                held_.erase(0, held_.size() - keep);
            }
            break;
        }
        case State::AfterThink: { // the whitespace between </think> and the answer is dropped
            const size_t p = std::find_if_not(held_.begin(), held_.end(), is_space) - held_.begin();
            held_.erase(0, p);
            if (held_.empty()) return out;
            state_ = State::Answer;
            progress = true;
            break;
        }
        case State::Answer:
            out.content += held_;
            held_.clear();
            break;
        }
    }
    return out;
}

ThinkPiece ThinkSplitter::finish() {
    ThinkPiece out;
    if (state_ == State::Thinking)
        out.reasoning = std::move(held_);
    else if (state_ == State::Start && held_.find_first_not_of(" \n\r\t") != std::string::npos)
        out.content = std::move(held_);
    held_.clear();
    return out;
}

ThinkPiece split_thinking(bool opened, std::span<const std::string_view> chunks) {
    ThinkSplitter s(opened);
    ThinkPiece all;
    auto add = [&](ThinkPiece p) {
        all.reasoning += p.reasoning;
        all.content += p.content;
    };
    for (std::string_view c : chunks)
        add(s.feed(c));
    add(s.finish());
    return all;
}

} // namespace hearth::toolcall
