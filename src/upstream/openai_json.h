// upstream/openai_json.h: reading OpenAI chat-completions answers (internal to upstream/; pure, no I/O).
//
// A non-streamed answer is one object {model, choices: [{message: {content, tool_calls}, finish_reason,
// logprobs}], usage: {prompt_tokens, completion_tokens}}; a streamed one is a sequence of chunks
// {model, choices: [{delta: {content, tool_calls: [{index, id, function: {name, arguments}}]},
// finish_reason, logprobs}], usage}. Only choices[0] is read. Fields of the wrong type are errors; absent
// optional fields are not. A body with "error" is an error carrying its message.
#pragma once

#include "upstream/upstream.h"

#include <nlohmann/json.hpp>
#include <string_view>

namespace hearth::upstream {

// Applies one streamed chunk to `resp` (content appended, tool calls assembled by index, usage, model,
// logprobs) and fills `delta` with what this chunk adds. Returns whether the delta carries anything.
// A chunk without "choices" is an error unless it carries "usage" (the final usage-only chunk).
Result<bool> apply_stream_chunk(const nlohmann::json& chunk, Response& resp, Delta& delta);

// Parses a whole non-streamed answer into `resp`.
Status parse_full_response(std::string_view body, Response& resp);

// The start of `text` (at most `max` bytes) with control and non-ASCII bytes replaced by spaces, for
// putting what a server sent into a message.
std::string printable_snippet(std::string_view text, size_t max = 200);

} // namespace hearth::upstream
