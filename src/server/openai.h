// server/openai.h: the OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models), with
// OpenAI's exact JSON shapes and SSE streaming so the official `openai` clients work unchanged.
#pragma once

#include "server/api.h"

#include <vector>

namespace hearth::server {

std::vector<Route> openai_routes(ApiContext& ctx);

} // namespace hearth::server
