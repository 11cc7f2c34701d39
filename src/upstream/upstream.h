// upstream/upstream.h: a client for "any OpenAI-compatible endpoint" (a hosted API, vLLM, SGLang,
// llama-server, another `hearth serve`): one chat-completions request, streamed or not, with the limits a
// router needs to fall back to a local answer quickly and safely.
//
// What it owns and guarantees:
//   - The URL comes from the Endpoint (configuration), never from a request. It must be https:// and must
//     connect to a public address, unless allow_insecure (a user's own cluster, the tests' loopback server).
//     The address is checked on the socket curl is about to connect (not only the name: DNS rebinding).
//   - TLS verification on (peer and host name); redirects are never followed (any 3xx is an error);
//     protocols limited to http/https; no proxy, not even one from http(s)_proxy in the environment: a
//     proxy would see what leaves the machine and defeat the address check, so egress is direct only.
//   - The request carries exactly: Host, Content-Length, Content-Type: application/json, and
//     Authorization: Bearer <api_key> when a key is set. No User-Agent, Accept or client headers.
//   - Limits: connect, first byte (after the connection is up), idle gap (between received bytes), total
//     time, and max_response_bytes (headers and body). Cancellation is polled every 50 ms, and on every
//     piece received. The deadlines
//     see bytes as curl hands them over: body bytes as they arrive, header lines only once complete (a
//     server trickling its head is stopped by the first-byte or total timeout).
//   - Error messages name the endpoint by `name` and never contain the API key (it is masked out of
//     anything an upstream echoes) nor the URL; curl's detail may name the host and port it tried (the URL
//     can hold no credentials: check_endpoint refuses user:password@).
//   - libcurl's global state is initialised once, on first use, through a function-local static (thread-
//     safe in C++11 and later; libcurl >= 7.84 built "threadsafe", as Debian's is, also makes
//     curl_global_init safe against other modules' calls), and never cleaned up. Each call has its own easy
//     and multi handles, so calls on different threads share nothing (no connection reuse: each call opens
//     its own connection, and TLS handshake). on_delta runs on the calling thread.
#pragma once

#include "base/status.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::upstream {

struct Endpoint {
    std::string name;            // how messages name this upstream (e.g. "openai", "my-vllm")
    std::string base_url;        // e.g. https://api.openai.com/v1 ; the client appends "/chat/completions"
    std::string model;           // the upstream's model name (the caller puts it in the body; kept here for config)
    std::string api_key;         // the resolved secret; may be empty (then no Authorization header)
    bool allow_insecure = false; // permits http:// and private/loopback/link-local/ULA addresses
    double connect_timeout_s = 5, first_byte_timeout_s = 30, idle_timeout_s = 20, total_timeout_s = 120;
    uint64_t max_response_bytes = 16u << 20;
};

// One tool call, or in a Delta one piece of it: `index` says which call a piece belongs to; id and name
// usually come in the first piece, arguments in fragments to concatenate.
struct ToolCallDelta {
    int index = 0;
    std::string id, name, arguments;
};

// One streamed chunk's choices[0]: what to show the client now.
struct Delta {
    std::string content;
    std::vector<ToolCallDelta> tool_calls;
    std::string finish_reason; // set on the last chunk with choices
    nlohmann::json logprobs;   // choices[0].logprobs of this chunk as sent; null when absent
};

struct Response {
    std::string content;
    std::vector<ToolCallDelta> tool_calls; // assembled: one per index, arguments concatenated
    std::string finish_reason, model;
    int64_t prompt_tokens = -1, completion_tokens = -1; // from "usage" when the upstream sends it
    nlohmann::json logprobs;              // choices[0].logprobs as sent; streamed: {"content": [...all chunks'...]}
    double first_byte_s = 0, total_s = 0; // since the call started
    uint64_t bytes_received = 0;          // headers and body
};

// POSTs `body` (the exact bytes, already serialized and checked by the caller) to base_url +
// "/chat/completions". The answer is read as SSE when its Content-Type is text/event-stream, else as one
// JSON object. With `stream` and an on_delta, each streamed chunk that carries something goes to on_delta
// in order (a non-streamed answer goes as one Delta); on_delta returning false aborts (Code::Cancelled).
// `cancel` (may be null) is polled at least every 100 ms; once set, the transfer is aborted.
// Errors: Code::Upstream (refused or failed connection, TLS failure, HTTP status >= 300 including every
// redirect, malformed JSON or SSE, no choices, a stream that ends without [DONE] or a finish_reason, more
// than max_response_bytes), Code::Timeout (connect, first byte, idle gap, total), Code::Cancelled,
// Code::PolicyBlocked (http:// or a non-public address without allow_insecure; nothing was sent),
// Code::BadField (the Endpoint is malformed, see check_endpoint).
Result<Response> chat(const Endpoint& ep, std::string_view body, bool stream,
                      const std::function<bool(const Delta&)>& on_delta, const std::atomic<bool>* cancel);

// Static checks of the configuration, no network: base_url parses, has a host, no user:password@, no
// query or fragment (Code::BadField); scheme https, or http with allow_insecure, and no literal non-public
// address without allow_insecure (Code::PolicyBlocked); positive timeouts and size limit, an API key
// without control characters (Code::BadField).
Status check_endpoint(const Endpoint& ep);

} // namespace hearth::upstream
