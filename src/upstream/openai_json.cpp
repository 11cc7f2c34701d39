// upstream/openai_json.cpp: see openai_json.h. Every field access checks the type first, so a hostile
// answer yields an error, never an exception.
#include "upstream/openai_json.h"

#include <utility>

namespace hearth::upstream {
namespace {

using nlohmann::json;

const json* field(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// Reads an optional string field into `out`; a non-string is an error.
Status get_string(const json& obj, const char* key, std::string& out) {
    const json* f = field(obj, key);
    if (!f) return Status::ok();
    if (!f->is_string()) return error(Code::Upstream, std::string("\"") + key + "\" is not a string");
    out = f->get<std::string>();
    return Status::ok();
}

Status get_count(const json& obj, const char* key, int64_t& out) {
    const json* f = field(obj, key);
    if (!f) return Status::ok();
    if (!f->is_number_integer()) return error(Code::Upstream, std::string("\"") + key + "\" is not an integer");
    out = f->get<int64_t>();
    return Status::ok();
}

Status read_common(const json& body, Response& resp) {
    if (const json* e = field(body, "error")) {
        std::string msg = e->is_string() ? e->get<std::string>() : "";
        if (const json* m = field(*e, "message"); m && m->is_string()) msg = m->get<std::string>();
        return error(Code::Upstream, "the upstream reported an error: " + printable_snippet(msg));
    }
    HEARTH_TRY(get_string(body, "model", resp.model));
    if (const json* u = field(body, "usage")) {
        HEARTH_TRY(get_count(*u, "prompt_tokens", resp.prompt_tokens));
        HEARTH_TRY(get_count(*u, "completion_tokens", resp.completion_tokens));
    }
    return Status::ok();
}

// choices[0], or null when choices is an empty array; an error when choices is missing or not an array.
Result<const json*> first_choice(const json& body) {
    const json* c = field(body, "choices");
    if (!c || !c->is_array()) return error(Code::Upstream, "the answer has no \"choices\" array");
    if (c->empty()) return static_cast<const json*>(nullptr);
    if (!(*c)[0].is_object()) return error(Code::Upstream, "choices[0] is not an object");
    return &(*c)[0];
}

// One entry of a tool_calls array (streamed piece or whole call). `position` is the entry's place in the
// array, the index when the server sends none.
Result<ToolCallDelta> read_tool_call(const json& tc, size_t position) {
    if (!tc.is_object()) return error(Code::Upstream, "a tool call is not an object");
    ToolCallDelta out;
    out.index = static_cast<int>(position);
    if (const json* i = field(tc, "index")) {
        if (!i->is_number_integer() || i->get<int64_t>() < 0 || i->get<int64_t>() > 1024)
            return error(Code::Upstream, "a tool call's \"index\" is not a small integer");
        out.index = i->get<int>();
    }
    HEARTH_TRY(get_string(tc, "id", out.id));
    if (const json* fn = field(tc, "function")) {
        HEARTH_TRY(get_string(*fn, "name", out.name));
        // Some servers send arguments as an object in a non-streamed answer; keep them as JSON text.
        if (const json* a = field(*fn, "arguments"); a && !a->is_string())
            out.arguments = a->dump();
        else
            HEARTH_TRY(get_string(*fn, "arguments", out.arguments));
    }
    return out;
}

Result<std::vector<ToolCallDelta>> read_tool_calls(const json& holder) {
    std::vector<ToolCallDelta> out;
    const json* tcs = field(holder, "tool_calls");
    if (!tcs) return out;
    if (!tcs->is_array()) return error(Code::Upstream, "\"tool_calls\" is not an array");
    for (size_t i = 0; i < tcs->size(); ++i) {
        auto tc = read_tool_call((*tcs)[i], i);
        if (!tc) return tc.status();
        out.push_back(std::move(*tc));
    }
    return out;
}

// Merges a streamed piece into the assembled calls.
void assemble(std::vector<ToolCallDelta>& calls, const ToolCallDelta& piece) {
    for (auto& c : calls) {
        if (c.index != piece.index) continue;
        if (c.id.empty()) c.id = piece.id;
        if (c.name.empty()) c.name = piece.name;
        c.arguments += piece.arguments;
        return;
    }
    calls.push_back(piece);
}

} // namespace

std::string printable_snippet(std::string_view text, size_t max) {
    std::string out;
    for (char ch : text.substr(0, max))
        out += (ch >= 32 && ch < 127) ? ch : ' ';
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

Result<bool> apply_stream_chunk(const json& chunk, Response& resp, Delta& delta) {
    if (!chunk.is_object()) return error(Code::Upstream, "a stream chunk is not a JSON object");
    HEARTH_TRY(read_common(chunk, resp));
    if (!field(chunk, "choices") && field(chunk, "usage")) return false; // the usage-only chunk
    auto choice = first_choice(chunk);
    if (!choice) return choice.status();
    if (!*choice) return false;
    const json& c = **choice;
    if (const json* d = field(c, "delta")) {
        HEARTH_TRY(get_string(*d, "content", delta.content));
        auto tcs = read_tool_calls(*d);
        if (!tcs) return tcs.status();
        delta.tool_calls = std::move(*tcs);
    }
    HEARTH_TRY(get_string(c, "finish_reason", delta.finish_reason));
    if (const json* lp = field(c, "logprobs")) {
        delta.logprobs = *lp;
        if (const json* content = field(*lp, "content"); content && content->is_array()) {
            json& all = resp.logprobs["content"];
            if (!all.is_array()) all = json::array();
            for (const auto& e : *content)
                all.push_back(e);
        }
    }
    resp.content += delta.content;
    for (const auto& piece : delta.tool_calls)
        assemble(resp.tool_calls, piece);
    if (!delta.finish_reason.empty()) resp.finish_reason = delta.finish_reason;
    return !delta.content.empty() || !delta.tool_calls.empty() || !delta.finish_reason.empty() ||
           !delta.logprobs.is_null();
}

Status parse_full_response(std::string_view body, Response& resp) {
    const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return error(Code::Upstream, "the answer is not a JSON object: " + printable_snippet(body, 80));
    HEARTH_TRY(read_common(j, resp));
    auto choice = first_choice(j);
    if (!choice) return choice.status();
    if (!*choice) return error(Code::Upstream, "the answer has an empty \"choices\" array");
    const json& c = **choice;
    const json* m = field(c, "message");
    if (!m || !m->is_object()) return error(Code::Upstream, "choices[0] has no \"message\" object");
    HEARTH_TRY(get_string(*m, "content", resp.content));
    auto tcs = read_tool_calls(*m);
    if (!tcs) return tcs.status();
    resp.tool_calls = std::move(*tcs);
    HEARTH_TRY(get_string(c, "finish_reason", resp.finish_reason));
    if (const json* lp = field(c, "logprobs")) resp.logprobs = *lp;
    return Status::ok();
}

} // namespace hearth::upstream
