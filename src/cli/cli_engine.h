// cli/cli_engine.h: the request-level engine behind `hearth run` and `hearth generate`: a LocalEngine for
// the one model a command names, kept loaded for the command's lifetime, whose operator log (a load error
// in full, with the file's path) is kept so the command can show it instead of the client's shortened text.
#pragma once

#include "engine/local_engine.h"
#include "store/resolve.h"

#include <memory>
#include <mutex>
#include <string>

namespace hearth::cli {

// The last message the engine logged for the operator. Thread-safe (the engine logs from its threads).
class EngineLog {
public:
    void add(const std::string& msg);
    std::string last() const;

private:
    mutable std::mutex mu_;
    std::string last_;
};

// One model at a time, one request at a time, never unloaded while the command runs.
engine::LocalEngineOptions cli_engine_options(int n_threads, std::shared_ptr<EngineLog> log);

// What a found model is to the engine: its file, and for a store model its template, system prompt,
// parameters and messages.
engine::ModelSpec model_spec(const store::ModelSource& src);

// A resolver for exactly one spec (the command already found its model).
engine::Resolver resolver_for(engine::ModelSpec spec);

// What to print for a failure: the full load error when the engine logged one, else its message.
std::string failure_text(const Status& f, const EngineLog& log);

} // namespace hearth::cli
