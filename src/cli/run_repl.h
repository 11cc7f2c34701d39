// cli/run_repl.h: the two faces of `hearth run`: one answer to one prompt, and the interactive chat. Both talk
// to a request-level engine::Engine (a LocalEngine for a model on this machine, or any other Engine): the
// conversation lives here as messages, and each turn sends the whole conversation; the engine reuses the
// session's cached prefix, so only the new turn is read.
#pragma once

#include "cli/run_params.h"
#include "engine/engine.h"

#include <atomic>
#include <optional>
#include <string>
#include <vector>

namespace hearth::cli {

enum class Overflow { Error, DropOldest };

struct ReplContext {
    engine::Engine& engine;
    std::string model;         // the name requests carry
    std::string display;       // how to name it to the user
    std::string template_text; // for /show template (empty: not known here)
    RunParams& params;
    int32_t num_ctx = 0;                   // the context asked for at start (num_ctx changes need a restart)
    std::string system;                    // the system prompt (empty: none)
    std::vector<engine::Message> messages; // the conversation after the system prompt
    std::string route;                     // routers: auto, local or cloud ("" = the router's default)
    Overflow overflow = Overflow::Error;
    bool verbose = false;
    std::atomic<bool>* interrupted = nullptr; // set by SIGINT
    // Filled as turns run.
    int32_t n_ctx = 0;         // the context the engine ran the last request in
    int32_t n_in_use = 0;      // tokens of the last request (prompt and answer)
    double pending_load_s = 0; // load time not reported yet
};

// What `hearth run` needs besides the engine.
struct RunSetup {
    std::string model, display, template_text, system, route; // see ReplContext
    std::vector<engine::Message> history;                     // messages to start from (a Modelfile's MESSAGE)
    RunParams params;                                         // sampling and limits, the model's PARAMETERs merged in
    Overflow overflow = Overflow::Error;
    bool verbose = false;
    std::vector<std::string> prompt; // the prompt's words; none: stdin when it is not a terminal, else a chat
};

// `hearth run` against any engine (the seam: a LocalEngine, or another engine::Engine such as a router):
// one answer to the prompt (from the words, with a non-terminal stdin appended), or the interactive chat.
// Ctrl-C stops the current answer. Returns the exit code.
int run_with_engine(engine::Engine& engine, RunSetup setup);

// Streams the answer to stdout; 0 on success, 1 on an error, 130 when interrupted.
int answer_once(ReplContext& ctx, const std::string& prompt);
// The chat loop; returns the exit code.
int interactive(ReplContext& ctx);

} // namespace hearth::cli
