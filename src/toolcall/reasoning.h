// toolcall/reasoning.h: a thinking model's reasoning, split from its answer.
//
// Reasoning models (Qwen3, DeepSeek-R1 distills, ...) write their thinking between <think> and </think>
// before the answer. Their chat template either leaves the model to open the block itself (Qwen3 writes
// "<think>\n...") or opens it in the generation prompt (R1 distills' prompt ends with "<think>\n", so the
// answer starts inside it). ThinkSplitter takes the answer's text as it streams and sends each piece to
// the reasoning or the content, holding back only what may be the start of a tag; the whitespace around
// <think> at the very start and after </think> is dropped.
//
// detect_thinking() tells from a chat template whether its model thinks, and whether it can be told not to
// (the template reads `enable_thinking`, as Qwen3's and the sdist's R1 distill templates do).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace hearth::toolcall {

enum class Thinking {
    None,       // the template shows no <think> block: not a reasoning model
    Switchable, // <think> and `enable_thinking`: thinking on or off per request
    Always,     // <think> without a switch: the model always thinks
};

Thinking detect_thinking(std::string_view chat_template);

struct ThinkPiece {
    std::string reasoning;
    std::string content;
};

class ThinkSplitter {
public:
    // `opened`: the prompt already opened the block (it ends with "<think>" and maybe whitespace).
    explicit ThinkSplitter(bool opened) : state_(opened ? State::Thinking : State::Start) {}
    ThinkPiece feed(std::string_view text);
    // What was held back; an unclosed block (the answer was cut) is all reasoning.
    ThinkPiece finish();
    bool thinking() const { return state_ == State::Thinking; }

private:
    enum class State { Start, Thinking, AfterThink, Answer };
    State state_;
    std::string held_;
    bool at_start_ = true; // of the block: leading whitespace is dropped
};

// A whole answer that arrived as `chunks`, split: what a ThinkSplitter's feeds and finish give, joined.
ThinkPiece split_thinking(bool opened, std::span<const std::string_view> chunks);

} // namespace hearth::toolcall
