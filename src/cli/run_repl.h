// cli/run_repl.h: the two faces of `hearth run`: one answer to one prompt, and the interactive chat.
#pragma once

#include "cli/model_ref.h"
#include "cli/run_params.h"
#include "hearth/engine.h"
#include "runtime/chat.h"
#include "tokenizer/tokenizer.h"

#include <atomic>
#include <string>

namespace hearth::cli {

struct ReplContext {
    const ModelSource& src;
    const Engine& engine;
    Session& session;
    const Tokenizer& tok;
    Chat& chat;
    RunParams& params;
    bool verbose = false;
    double load_s = 0;
    std::atomic<bool>* interrupted = nullptr; // set by SIGINT
};

// Streams the answer to stdout; 0 on success, 1 on an error, 130 when interrupted.
int answer_once(ReplContext& ctx, const std::string& prompt);
// The chat loop; returns the exit code.
int interactive(ReplContext& ctx);

} // namespace hearth::cli
