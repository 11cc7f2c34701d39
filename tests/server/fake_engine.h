// tests/server/fake_engine.h: an engine::Engine for adapter tests. It records every Request it gets and
// streams fixed tokens (with made-up logprobs), or fails with a configured Status; plus a Stream that
// collects what a handler writes, and a temporary model store.
#pragma once

#include "engine/engine.h"
#include "server/http.h"
#include "store/store.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hearth::server::testing {

class FakeEngine : public engine::Engine {
public:
    std::vector<std::string> tokens = {"Hello", " world"};
    std::vector<std::string> reasoning; // a thinking model's: events with TokenEvent::reasoning, before `tokens`
    std::optional<Status> fail;         // not ok
    std::vector<engine::LoadedModel> loaded_models;

    std::vector<engine::Request> requests; // every generate() call, in order
    std::vector<std::string> unloaded;
    bool saw_stop = false; // on_event returned false or the cancel flag was set
    // After the first token, wait (at most 10 s) for the caller to cancel, as a long generation would.
    bool wait_for_cancel = false;

    std::variant<engine::Completion, Status> generate(const engine::Request& req,
                                                      const std::function<bool(const engine::TokenEvent&)>& on_event,
                                                      const std::atomic<bool>* cancel) override {
        std::lock_guard lock(mu_);
        requests.push_back(req);
        if (fail) return *fail;
        engine::Completion c;
        c.prompt_tokens = 5;
        c.load_s = 0.5;
        c.prompt_s = 0.25;
        c.generate_s = 1.0;
        c.total_s = 2.0;
        for (const auto& r : reasoning) {
            engine::TokenEvent ev;
            ev.reasoning = r;
            c.reasoning += r;
            ++c.completion_tokens;
            on_event(ev);
        }
        for (size_t i = 0; i < tokens.size(); ++i) {
            if (req.max_tokens >= 0 && static_cast<int32_t>(i) >= req.max_tokens) {
                c.finish = engine::Finish::Length;
                break;
            }
            engine::TokenEvent ev;
            ev.text = tokens[i];
            ev.token = 100 + static_cast<int32_t>(i);
            if (req.sampling.logprobs) {
                ev.logprob = -0.5f * static_cast<float>(i + 1);
                const std::vector<TokenLogprob> alts = {{ev.token, ev.logprob}, {7, -3.0f}};
                const std::vector<std::string> alt_text = {ev.text, "#7"};
                for (int k = 0; k < std::min<int>(req.sampling.top_logprobs, 2); ++k) {
                    ev.top.push_back(alts[static_cast<size_t>(k)]);
                    ev.top_text.push_back(alt_text[static_cast<size_t>(k)]);
                }
            }
            c.text += ev.text;
            ++c.completion_tokens;
            bool go_on = on_event(ev);
            for (int w = 0; go_on && wait_for_cancel && cancel && !cancel->load() && w < 10000; ++w)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if (!go_on || (cancel && cancel->load())) {
                saw_stop = true;
                c.finish = engine::Finish::Cancelled;
                break;
            }
        }
        return c;
    }
    // embed(): every request, in order; each input gets embed_vector (or `fail`).
    std::vector<engine::EmbedRequest> embed_requests;
    std::vector<float> embed_vector = {0.5f, -0.25f, 1.0f, 0.0f};
    std::variant<engine::Embeddings, Status> embed(const engine::EmbedRequest& req,
                                                   const std::atomic<bool>* /*cancel*/) override {
        std::lock_guard lock(mu_);
        embed_requests.push_back(req);
        if (fail) return *fail;
        engine::Embeddings e;
        const size_t n = req.texts.size() + req.token_inputs.size();
        e.vectors.assign(n, embed_vector);
        e.prompt_tokens = 3 * int32_t(n);
        e.load_s = 0.5;
        e.total_s = 2.0;
        return e;
    }
    std::vector<engine::LoadedModel> loaded() const override { return loaded_models; }
    void unload(const std::string& model) override { unloaded.push_back(model); }
    engine::Stats stats() const override { return {}; }

private:
    std::mutex mu_;
};

// Collects a streamed body; after `fail_after` writes it reports the client as gone.
class CollectStream : public Stream {
public:
    std::vector<std::string> chunks;
    size_t fail_after = SIZE_MAX;
    bool write(std::string_view chunk) override {
        if (chunks.size() >= fail_after) return false;
        chunks.emplace_back(chunk);
        return true;
    }
    bool alive() const override { return chunks.size() < fail_after; }
    std::string all() const {
        std::string s;
        for (const auto& c : chunks)
            s += c;
        return s;
    }
};

inline const Route& find_route(const std::vector<Route>& routes, const std::string& method, const std::string& path) {
    for (const auto& r : routes)
        if (r.method == method && r.path == path) return r;
    ADD_FAILURE() << "no route " << method << " " << path;
    return routes.front();
}

inline HttpResponse call(const std::vector<Route>& routes, const std::string& method, const std::string& path,
                         const std::string& body) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    return find_route(routes, method, path).handler(req);
}

// Runs a response's stream (if any) and returns the whole body.
inline std::string body_of(const HttpResponse& r, CollectStream* stream = nullptr) {
    if (!r.stream) return r.body;
    CollectStream local;
    CollectStream& s = stream ? *stream : local;
    r.stream(s);
    return s.all();
}

// A store in a fresh temporary directory, removed afterwards.
class TempStore {
public:
    TempStore() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "hearth-api-XXXXXX").string();
        const char* dir = mkdtemp(tmpl.data());
        EXPECT_NE(dir, nullptr);
        root_ = tmpl;
        auto st = store::open_store(root_);
        EXPECT_TRUE(st.is_ok()) << st.message();
        if (st) store_ = *st;
    }
    ~TempStore() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    const store::Store& get() const { return store_; }
    // Imports tests/data/tiny/<file> as `name`.
    void import(const std::string& file, const std::string& name) {
        auto n = store::parse_name(name);
        ASSERT_TRUE(n.is_ok()) << n.message();
        auto m = store::import_gguf(store_, std::string(HEARTH_TEST_DATA) + "/tiny/" + file, *n, /*link=*/false);
        ASSERT_TRUE(m.is_ok()) << m.message();
    }

private:
    std::filesystem::path root_;
    store::Store store_;
};

} // namespace hearth::server::testing
