// engine/constrain.h (internal to hearth_engine): a request's output constraint as a grammar matcher, made on
// the caller's thread like its prompt (engine/prompt.h), so a schema that is slow to compile or refused holds
// up no other request.
//
// What constrains the answer (engine.h, Request):
//   format JsonObject / JsonSchema / Grammar    any JSON object, a document valid against the schema, GBNF;
//   tool_choice required / named                one call of an offered tool (of the named one), written as the
//                                               bare JSON object {"name": N, "arguments": {...}} with the
//                                               arguments valid against the tool's `parameters`; with
//                                               parallel_tool_calls, "required" also allows a JSON array of
//                                               calls. toolcall/ reads bare calls in every format.
// Both at once is refused. Errors are BadField naming the client's field and the place in it.
#pragma once

#include "base/status.h"
#include "engine/engine.h"
#include "grammar/matcher.h"

#include <optional>

namespace hearth::engine {

// The answer is constrained (a format, or tool_choice required / named with tools).
bool constrained(const Request& r);

// Whether a thinking model thinks for this request: as asked, else unless the answer is constrained (a
// grammar leaves no room for a <think> block).
inline bool thinks(const Request& r) {
    return r.think.value_or(!constrained(r));
}

// The matcher at the start of the request's grammar; nullopt when the answer is free text.
Result<std::optional<grammar::Matcher>> output_matcher(const Request& r);

} // namespace hearth::engine
