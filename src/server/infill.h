// server/infill.h: llama.cpp's /infill, the code-completion endpoint editor plugins call (llama.vim,
// llama.vscode): the middle between input_prefix and input_suffix, with other files of the project
// (input_extra) as context, in llama.cpp's /completion response shape ({"content", "stop", ...}), streamed
// as SSE when asked. Uses the model's FIM tokens (engine: Request::suffix, Request::fim_files).
#pragma once

#include "server/api.h"

#include <vector>

namespace hearth::server {

std::vector<Route> infill_routes(ApiContext& ctx);

} // namespace hearth::server
