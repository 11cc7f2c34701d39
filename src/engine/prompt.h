// engine/prompt.h (internal to hearth_engine): a request's prompt as tokens, made on the caller's thread.
//
// Why not on the inference thread: rendering a chat template is bounded by TemplateLimits (about 1 s for a
// hostile template) and tokenizing a long prompt takes time too; done there, one bad request would stall
// every model's requests behind it. So LocalEngine::generate renders and tokenizes on its caller's (HTTP)
// thread before the job is queued, and the inference thread only ever sees ready token lists (Job::prompt).
//
// ModelText is what that takes from a GGUF: its tokenizer and its chat template. It is immutable once
// loaded and shared, as shared_ptr<const ModelText>, by the callers rendering with it, the jobs carrying it
// and the loaded model (ModelEntry) decoding with it: a model unloaded while a request renders for it
// leaves that request's ModelText alive. ModelTextCache finds the one a holder still has for a path
// (weak_ptr), so a model's tokenizer is loaded once while it is loaded or requested, and dropped with it.
//
// Load errors: clients see "model 'NAME' could not be loaded: REASON" without the server's paths (a
// store's blob path names its $HEARTH_HOME); the full message goes to the operator's log.
#pragma once

#include "engine/engine.h"
#include "engine/local_engine.h"
#include "grammar/token_mask.h"
#include "tokenizer/tokenizer.h"
#include "toolcall/reasoning.h"
#include "toolcall/toolcall.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hearth::engine {

// The vocabulary as bytes for constrained decoding (grammar/token_mask.h), built on first use: about 50 ms
// and 12 MB for Qwen2.5's vocabulary, so only models that are asked for structured output pay for it.
struct LazyVocab {
    std::once_flag once;
    std::optional<grammar::VocabTrie> trie;
};

struct ModelText {
    Tokenizer tok;
    std::optional<std::string> chat_template;                         // tokenizer.chat_template
    std::shared_ptr<LazyVocab> vocab = std::make_shared<LazyVocab>(); // see vocab_trie()
};

// The model's VocabTrie (thread-safe; the first caller builds it).
const grammar::VocabTrie& vocab_trie(const ModelText& text);

// A load failure: the full text to opts.log (stderr when unset; not with log = false), and to the client `reason`
// with `path` (and its folder) left out, after "model 'NAME' could not be loaded: ".
Status load_failure(const LocalEngineOptions& opts, Code code, const std::string& name, const std::string& path,
                    const std::string& reason, bool log = true);

// Thread-safe.
class ModelTextCache {
public:
    // The ModelText of the GGUF at `path`: the one someone still holds, else loaded now (outside the lock,
    // so a slow load does not hold up other models). Failures are load_failure()s: NotFound when there is
    // no such file, else Internal.
    Result<std::shared_ptr<const ModelText>> get(const LocalEngineOptions& opts, const std::string& name,
                                                 const std::string& path);

private:
    std::mutex mu_;
    std::map<std::string, std::weak_ptr<const ModelText>> by_path_; // under mu_
};

// The request's prompt as tokens: its prompt_tokens as they are (checked against the vocabulary), a raw prompt as it is
// (BOS as the vocabulary asks), else the model's MESSAGE history, the system prompt and the messages (or the prompt as
// one user turn) through the chat template (the spec's TEMPLATE, else the model's, else a default). Failures are
// BadField, naming "prompt" or "messages".
Result<std::vector<int32_t>> prompt_tokens(const ModelText& text, const Request& r, const ModelSpec& spec);
// The tool-call syntax the model's chat template (the Modelfile's TEMPLATE if it has one) teaches.
toolcall::Format tool_format(const ModelText& text, const ModelSpec& spec);
// Whether the model's chat template (Jinja only) shows a thinking block, and a switch for it.
toolcall::Thinking thinking_mode(const ModelText& text, const ModelSpec& spec);

} // namespace hearth::engine
