// toolcall/toolcall.h: how a model writes tool calls, and reading them back out of its text.
//
// Models are trained to call tools in their family's own syntax, which their chat template teaches (the
// templates in llama.cpp's models/templates show the families). Format names the syntax; detect_format()
// picks it from the template text. parse() turns a whole answer into content + calls; Stream does the same
// incrementally for streaming, holding back only text that may be the start of a call.
//
// Formats (what the model writes):
//   Hermes        <tool_call>{"name": N, "arguments": {...}}</tool_call>, repeated (Qwen2.5, Hermes 2/3, SmolLM3)
//   QwenXml       <tool_call><function=N><parameter=P>value</parameter>...</function></tool_call> (Qwen3-Coder)
//   Llama3        {"name": N, "parameters": {...}} as the whole answer, optionally after <|python_tag|>;
//                 several separated by ';' (Llama 3.1 / 3.2 / 3.3)
//   Mistral       [TOOL_CALLS][{"name": N, "arguments": {...}}, ...] (Nemo, 7B v0.3) or
//                 [TOOL_CALLS]N[ARGS]{...} repeated (Mistral Small 3.2, Devstral)
//   Functionary31 <function=N>{...}</function>, repeated (Functionary v3.1)
//   Functionary32 after the generation prompt's ">>>": "all\n" + text, or N + "\n" + {...}; more parts start
//                 with ">>>" (Functionary v3.2)
//   CommandR      <|START_ACTION|>[{"tool_name": N, "parameters": {...}}, ...]<|END_ACTION|> (Command R7B) or
//                 Action: ```json [...] ``` (Command R+)
//   FireFunction  functools[{"name": N, "arguments": {...}}, ...] (FireFunction v2)
//   Granite       <|tool_call|>[{"name": N, "arguments": {...}}, ...] (Granite 3.x)
//
// With a list of offered tools, an answer that is nothing but call objects ({"name", "arguments"|"parameters"},
// one, several or a list, optionally in a ``` fence) is read as calls in every format: small models often
// write that instead of their family's markers. While streaming, an answer that starts with '{', '[' or '`'
// is then held until it is complete (it may be such a call).
//
// Reading is lenient about whitespace and strict about structure: a call needs a name (1-64 of
// [A-Za-z0-9_.-], and one of the offered tools when a list is given) and arguments that are a JSON object (a JSON
// string holding an object is accepted, as some models write). Text that does not form a valid call stays content — a
// malformed call is returned as text, never an error. Arguments come back as compact JSON text, as OpenAI's API carries
// them.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::toolcall {

enum class Format {
    None,
    Hermes,
    QwenXml,
    Llama3,
    Mistral,
    Functionary31,
    Functionary32,
    CommandR,
    FireFunction,
    Granite
};

const char* format_name(Format f);
// The format a chat template teaches; None when the template has no tool-call syntax.
Format detect_format(std::string_view chat_template);

struct Call {
    std::string name;
    std::string arguments; // a JSON object, compact
};

struct Parsed {
    std::string content;     // the answer's text outside the calls (trimmed at the edges where calls were cut)
    std::vector<Call> calls; // in the order written
};

// Reads a whole answer. `tools`: the offered tool names; when not empty, a call to another name is not a call
// (it stays text).
Parsed parse(Format f, std::string_view text, std::span<const std::string> tools = {});

// Incremental reading for streaming. feed() returns the text that can go to the client now: everything up to
// where a call may begin (a marker or a prefix of one at the end is held back). After a call marker, the rest
// of the answer is held until finish(), which parses it: calls, plus any content (a malformed call comes back
// as content then).
class Stream {
public:
    explicit Stream(Format f, std::vector<std::string> tools = {});
    std::string feed(std::string_view text);
    Parsed finish();
    bool in_call() const { return in_call_; } // a call marker has been seen

private:
    Format format_;
    std::vector<std::string> tools_;
    std::string held_;     // text not yet released: a possible marker prefix, or everything since a marker
    std::string released_; // the answer's text so far that went out as content (Llama3 needs the start)
    bool in_call_ = false;
    bool started_ = false; // some non-space text was seen
};

} // namespace hearth::toolcall
