// server/api.h: what the OpenAI and Ollama adapters share: the ApiContext they are built from, typed
// reading of JSON request fields (errors name the field), engine failures as HTTP statuses, and
// GenerationPump, which runs engine requests on a helper thread so a streaming handler can still answer
// with a proper status (404, 503, 400) when the engine fails before the first token.
#pragma once

#include "engine/engine.h"
#include "server/http.h"
#include "store/store.h"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace hearth::server {

struct ApiContext {
    engine::Engine& engine;
    const store::Store* store = nullptr; // null: no store (management routes answer 503, tags are empty)
    std::string version;
    bool log_prompts = false; // the adapters never log prompts or `user` themselves
    int max_n = 8;            // OpenAI `n` cap
};

// Where a routed answer came from, as the `hearth` object of OpenAI and Ollama responses (and the
// x-hearth-route header carries `route`).
inline nlohmann::json route_json(const engine::RouteInfo& r) {
    nlohmann::json j = {{"route", r.route}, {"reason", r.reason}};
    j["score"] = r.score >= 0 ? nlohmann::json(r.score) : nlohmann::json(nullptr);
    j["upstream"] = r.upstream.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.upstream);
    if (!r.pseudonymized.empty()) j["pseudonymized"] = r.pseudonymized;
    return j;
}

// A rejected request: the HTTP status, a message a user can act on, and the field at fault.
struct ApiError {
    int status = 400;
    std::string message;
    std::string field;
};

// Reads optional fields of one JSON object with type and range checks. A field that is absent or null
// is "not given" (nullopt). The first error is kept; later reads return nullopt.
// Every top-level field of a request must be one the endpoint honours: anything else is refused with a 400
// naming it, never silently ignored (a null value counts as absent). `known` is the endpoint's table.
inline std::optional<ApiError> refuse_unknown_fields(const nlohmann::json& body,
                                                     std::initializer_list<std::string_view> known,
                                                     const std::string& prefix = "") {
    if (!body.is_object()) return std::nullopt;
    for (const auto& [k, v] : body.items()) {
        if (v.is_null() || std::find(known.begin(), known.end(), k) != known.end()) continue;
        return ApiError{400, prefix + k + " is not supported: hearth does not honour this field", prefix + k};
    }
    return std::nullopt;
}

// The same with the endpoint's table in two parts (fields shared with a sibling endpoint, and its own).
inline std::optional<ApiError> refuse_unknown_fields(const nlohmann::json& body,
                                                     std::span<const std::string_view> known,
                                                     std::span<const std::string_view> more) {
    if (!body.is_object()) return std::nullopt;
    for (const auto& [k, v] : body.items()) {
        if (v.is_null() || std::find(known.begin(), known.end(), k) != known.end() ||
            std::find(more.begin(), more.end(), k) != more.end())
            continue;
        return ApiError{400, k + " is not supported: hearth does not honour this field", k};
    }
    return std::nullopt;
}

class Fields {
public:
    Fields(const nlohmann::json& obj, std::string prefix = "") : obj_(obj), prefix_(std::move(prefix)) {}

    const nlohmann::json* get(const std::string& name) const {
        if (!obj_.is_object()) return nullptr;
        auto it = obj_.find(name);
        if (it == obj_.end() || it->is_null()) return nullptr;
        return &*it;
    }
    std::optional<double> number(const std::string& name, double lo, double hi) {
        const nlohmann::json* v = get(name);
        if (!v || error_) return std::nullopt;
        if (!v->is_number()) return fail(name, "must be a number"), std::nullopt;
        const double x = v->get<double>();
        if (!std::isfinite(x) || x < lo || x > hi)
            return fail(name, "must be in [" + num(lo) + ", " + num(hi) + "], got " + v->dump()), std::nullopt;
        return x;
    }
    // Integers only (5.0 is refused), checked against [lo, hi] without overflow.
    std::optional<int64_t> integer(const std::string& name, int64_t lo, int64_t hi) {
        const nlohmann::json* v = get(name);
        if (!v || error_) return std::nullopt;
        const std::string want = "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
        if (!v->is_number_integer()) return fail(name, want + ", got " + v->dump()), std::nullopt;
        if (v->is_number_unsigned()) {
            const uint64_t u = v->get<uint64_t>();
            if (hi < 0 || u > static_cast<uint64_t>(hi) || (lo > 0 && u < static_cast<uint64_t>(lo)))
                return fail(name, want + ", got " + v->dump()), std::nullopt;
            return static_cast<int64_t>(u);
        }
        const int64_t x = v->get<int64_t>();
        if (x < lo || x > hi) return fail(name, want + ", got " + v->dump()), std::nullopt;
        return x;
    }
    std::optional<bool> boolean(const std::string& name) {
        const nlohmann::json* v = get(name);
        if (!v || error_) return std::nullopt;
        if (!v->is_boolean()) return fail(name, "must be true or false"), std::nullopt;
        return v->get<bool>();
    }
    std::optional<std::string> string(const std::string& name) {
        const nlohmann::json* v = get(name);
        if (!v || error_) return std::nullopt;
        if (!v->is_string()) return fail(name, "must be a string"), std::nullopt;
        return v->get<std::string>();
    }

    // Records an error about `name` (relative to the prefix): "<prefix><name> <what>".
    void fail(const std::string& name, const std::string& what) {
        if (error_) return;
        error_ = ApiError{400, prefix_ + name + " " + what, prefix_ + name};
    }
    const std::optional<ApiError>& error() const { return error_; }
    bool ok() const { return !error_; }

private:
    static std::string num(double x) {
        nlohmann::json j = x;
        return j.dump();
    }
    const nlohmann::json& obj_;
    std::string prefix_;
    std::optional<ApiError> error_;
};

// How much structure a request body may have. A parsed JSON value takes 16 bytes and more (a message
// object ~100), so an 8 MiB body of small values took ~85 MB once parsed, and 32 such requests at once
// 2.8 GB; 100,000 values (a chat of 30,000 messages) bound that to ~10 MB a request.
inline constexpr size_t kMaxJsonValues = 100'000;
inline constexpr size_t kMaxJsonDepth = 256;

// Counts a JSON text's values and nesting without building it; stops at the first limit passed.
class JsonShape final : public nlohmann::json_sax<nlohmann::json> {
public:
    size_t values = 0, depth = 0;
    bool too_many = false, too_deep = false;
    bool null() override { return value(); }
    bool boolean(bool) override { return value(); }
    bool number_integer(number_integer_t) override { return value(); }
    bool number_unsigned(number_unsigned_t) override { return value(); }
    bool number_float(number_float_t, const string_t&) override { return value(); }
    bool string(string_t&) override { return value(); }
    bool binary(binary_t&) override { return value(); }
    bool start_object(size_t) override { return open(); }
    bool key(string_t&) override { return true; }
    bool end_object() override { return close(); }
    bool start_array(size_t) override { return open(); }
    bool end_array() override { return close(); }
    bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    bool value() {
        too_many = ++values > kMaxJsonValues;
        return !too_many;
    }
    bool open() {
        too_deep = ++depth > kMaxJsonDepth;
        return !too_deep && value();
    }
    bool close() {
        --depth;
        return true;
    }
};

// Parses a request body that must be a JSON object, within kMaxJsonValues (else 413) and kMaxJsonDepth (400).
inline std::optional<ApiError> parse_body(const std::string& body, nlohmann::json& out) {
    JsonShape shape;
    (void)nlohmann::json::sax_parse(body, &shape, nlohmann::json::input_format_t::json, /*strict=*/true);
    if (shape.too_many)
        return ApiError{413, "the request body has more than " + std::to_string(kMaxJsonValues) + " JSON values", ""};
    if (shape.too_deep)
        return ApiError{400, "the request body nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels",
                        ""};
    out = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (out.is_discarded()) return ApiError{400, "the request body is not valid JSON", ""};
    if (!out.is_object()) return ApiError{400, "the request body must be a JSON object", ""};
    return std::nullopt;
}

// `stop`: a string or a list of strings (empty ones dropped), at most engine::kMaxStop.
inline std::optional<ApiError> parse_stop(Fields& f, std::vector<std::string>& out) {
    const nlohmann::json* v = f.get("stop");
    if (!v) return std::nullopt;
    std::vector<std::string> stops;
    if (v->is_string()) {
        stops.push_back(v->get<std::string>());
    } else if (v->is_array()) {
        for (const auto& s : *v) {
            if (!s.is_string()) return ApiError{400, "stop must be a string or a list of strings", "stop"};
            stops.push_back(s.get<std::string>());
        }
    } else {
        return ApiError{400, "stop must be a string or a list of strings", "stop"};
    }
    std::erase(stops, std::string());
    if (stops.size() > engine::kMaxStop)
        return ApiError{400,
                        "stop has " + std::to_string(stops.size()) + " strings; at most " +
                            std::to_string(engine::kMaxStop) + " are allowed",
                        "stop"};
    out = std::move(stops);
    return std::nullopt;
}

// The value at `pointer` (a JSON pointer) in a request body that parse_body() accepted, as JSON text with its
// objects' keys in the client's order (nlohmann::json sorts them): a JSON Schema's properties, and a tool's
// parameters, then come out in the order the client declared. "" when absent.
inline std::string ordered_value(const std::string& body, const std::string& pointer) {
    const auto doc = nlohmann::ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
    const nlohmann::ordered_json::json_pointer ptr(pointer);
    if (doc.is_discarded() || !doc.contains(ptr)) return {};
    return doc.at(ptr).dump();
}

// The HTTP status for an engine failure (a Status that is not ok).
inline int failure_status(Code code) {
    switch (code) {
    case Code::BadField:
    case Code::ContextFull:
        return 400;
    case Code::PolicyBlocked:
        return 403;
    case Code::NotFound:
        return 404;
    case Code::TooLarge:
        return 413;
    case Code::Cancelled:
        return 499; // the client closed the request (nginx's code): it is rarely there to read it
    case Code::Ok:  // not a failure: an engine bug, reported as one
    case Code::Internal:
        return 500;
    case Code::Upstream:
        return 502;
    case Code::Busy:
        return 503;
    case Code::Timeout:
        return 504;
    }
    return 500;
}

// Seconds after which a client may retry a request refused as Busy.
inline constexpr const char* kRetryAfterSeconds = "1";

inline const char* finish_reason(engine::Finish f) {
    return f == engine::Finish::Length || f == engine::Finish::ContextFull ? "length" : "stop";
}

inline std::string dump_json(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Runs requests one after another on a helper thread and hands their events to the thread that writes
// the response. The queue is bounded: a slow client slows generation instead of growing memory.
class GenerationPump {
public:
    struct Item {
        size_t index = 0;                                            // which request
        std::optional<engine::TokenEvent> event;                     // a token, or:
        std::optional<std::variant<engine::Completion, Status>> end; // the request is done
    };

    GenerationPump(engine::Engine& engine, std::vector<engine::Request> reqs)
        : engine_(engine), reqs_(std::move(reqs)), thread_([this] { run(); }) {}
    GenerationPump(const GenerationPump&) = delete;
    GenerationPump& operator=(const GenerationPump&) = delete;
    ~GenerationPump() {
        cancel();
        thread_.join();
    }

    // Blocks until something is queued (or everything is done); returns the first item without taking it.
    std::optional<Item> peek() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || finished_; });
        if (queue_.empty()) return std::nullopt;
        return queue_.front();
    }
    // Blocks for the next item; nullopt when all requests are done and everything was taken.
    std::optional<Item> next() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || finished_; });
        if (queue_.empty()) return std::nullopt;
        Item it = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
        return it;
    }
    // Stops the running request (the engine sees the flag) and skips the rest.
    void cancel() {
        cancel_.store(true);
        std::lock_guard lock(mu_);
        cv_.notify_all();
    }

private:
    static constexpr size_t kMaxQueued = 256;

    void push(Item item) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return queue_.size() < kMaxQueued || cancel_.load(); });
        if (cancel_.load() && !item.end) return;
        queue_.push_back(std::move(item));
        cv_.notify_all();
    }
    void run() {
        for (size_t i = 0; i < reqs_.size() && !cancel_.load(); ++i) {
            auto on_event = [&](const engine::TokenEvent& ev) {
                push(Item{i, ev, std::nullopt});
                return !cancel_.load();
            };
            auto result = engine_.generate(reqs_[i], on_event, &cancel_);
            const bool failed = std::holds_alternative<Status>(result);
            push(Item{i, std::nullopt, std::move(result)});
            if (failed) break;
        }
        std::lock_guard lock(mu_);
        finished_ = true;
        cv_.notify_all();
    }

    engine::Engine& engine_;
    std::vector<engine::Request> reqs_;
    std::atomic<bool> cancel_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool finished_ = false;
    std::thread thread_; // last: starts after every other member is ready
};

} // namespace hearth::server
