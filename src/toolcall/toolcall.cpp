#include "toolcall/toolcall.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

namespace hearth::toolcall {

using json = nlohmann::json;

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

size_t skip_space(std::string_view s, size_t i) {
    while (i < s.size() && is_space(s[i]))
        ++i;
    return i;
}

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_space(s[b]))
        ++b;
    while (e > b && is_space(s[e - 1]))
        --e;
    return std::string(s.substr(b, e - b));
}

bool starts_at(std::string_view s, size_t i, std::string_view what) {
    return s.size() >= i && s.substr(i).starts_with(what);
}

// The end (one past) of the JSON object or array starting at s[i], by bracket matching outside strings;
// nullopt when s[i] opens neither or the value is not closed.
std::optional<size_t> json_end(std::string_view s, size_t i) {
    if (i >= s.size() || (s[i] != '{' && s[i] != '[')) return std::nullopt;
    int depth = 0;
    bool in_string = false;
    for (size_t k = i; k < s.size(); ++k) {
        const char c = s[k];
        if (in_string) {
            if (c == '\\')
                ++k;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return k + 1;
        }
    }
    return std::nullopt;
}

// The JSON value (object or array) at s[i] and where it ends.
std::optional<std::pair<json, size_t>> json_at(std::string_view s, size_t i) {
    const auto end = json_end(s, i);
    if (!end) return std::nullopt;
    json j = json::parse(s.substr(i, *end - i), nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return std::pair{std::move(j), *end};
}

// Compact JSON text; invalid UTF-8 in strings (a model can write any bytes) becomes U+FFFD instead of throwing.
std::string compact(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A function name as OpenAI allows them (1-64 of [a-zA-Z0-9_-], plus '.' which some tool sets use), and one
// of the offered tools when there is a list.
bool offered(std::span<const std::string> tools, const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
    return tools.empty() || std::find(tools.begin(), tools.end(), name) != tools.end();
}

// Arguments as compact object text: an object, or a string holding one; absent means no arguments.
std::optional<std::string> arguments_text(const json* args) {
    if (!args || args->is_null()) return "{}";
    if (args->is_object()) return compact(*args);
    if (args->is_string()) {
        json j = json::parse(args->get<std::string>(), nullptr, false);
        if (!j.is_discarded() && j.is_object()) return compact(j);
    }
    return std::nullopt;
}

const json* field(const json& o, std::initializer_list<const char*> keys) {
    for (const char* k : keys)
        if (auto it = o.find(k); it != o.end()) return &*it;
    return nullptr;
}

// One call object: {NAME_KEY: name, ARGS_KEY: {...}} with the usual key spellings.
std::optional<Call> call_of(const json& o, std::span<const std::string> tools) {
    if (!o.is_object()) return std::nullopt;
    const json* name = field(o, {"name", "tool_name"});
    if (!name || !name->is_string() || name->get<std::string>().empty()) return std::nullopt;
    // {"function": {"name", "arguments"}} (OpenAI's own shape, which some models echo)
    auto args = arguments_text(field(o, {"arguments", "parameters"}));
    if (!args) return std::nullopt;
    Call c{name->get<std::string>(), std::move(*args)};
    if (!offered(tools, c.name)) return std::nullopt;
    return c;
}

// A call object or a list of them.
std::optional<std::vector<Call>> calls_of(const json& j, std::span<const std::string> tools) {
    std::vector<Call> out;
    if (j.is_array()) {
        if (j.empty()) return std::nullopt;
        for (const json& o : j) {
            auto c = call_of(o, tools);
            if (!c) return std::nullopt;
            out.push_back(std::move(*c));
        }
    } else {
        auto c = call_of(j, tools);
        if (!c) return std::nullopt;
        out.push_back(std::move(*c));
    }
    return out;
}

// What follows the marker, per format: parses calls starting at s[i]; returns where they end, or nullopt
// when the text there is not a well-formed call.
using Tail = std::optional<std::pair<std::vector<Call>, size_t>>;

// marker JSON (a call or a list), then an optional closing marker.
Tail json_calls(std::string_view s, size_t i, std::string_view close, std::span<const std::string> tools) {
    i = skip_space(s, i);
    auto j = json_at(s, i);
    if (!j) return std::nullopt;
    auto calls = calls_of(j->first, tools);
    if (!calls) return std::nullopt;
    size_t end = j->second;
    if (!close.empty()) {
        const size_t k = skip_space(s, end);
        if (starts_at(s, k, close))
            end = k + close.size();
        else if (k < s.size())
            return std::nullopt; // something else where the closing marker belongs
    }
    return std::pair{std::move(*calls), end};
}

// <function=NAME>{...}</function> (Functionary v3.1), `i` after "<function=".
Tail function_tag(std::string_view s, size_t i, std::span<const std::string> tools) {
    const size_t gt = s.find('>', i);
    if (gt == std::string_view::npos) return std::nullopt;
    const std::string name = trim(s.substr(i, gt - i));
    const size_t k = skip_space(s, gt + 1);
    auto j = json_at(s, k);
    if (name.empty() || !j || !j->first.is_object() || !offered(tools, name)) return std::nullopt;
    size_t end = skip_space(s, j->second);
    if (starts_at(s, end, "</function>"))
        end += 11;
    else if (end < s.size())
        return std::nullopt;
    return std::pair{std::vector<Call>{{name, compact(j->first)}}, end};
}

// <function=NAME><parameter=P>value</parameter>...</function> inside <tool_call>...</tool_call> (Qwen3-Coder);
// `i` after "<tool_call>". A value that parses as JSON is that JSON, else it is a string.
Tail qwen_xml(std::string_view s, size_t i, std::span<const std::string> tools) {
    i = skip_space(s, i);
    if (!starts_at(s, i, "<function=")) return std::nullopt;
    const size_t gt = s.find('>', i);
    if (gt == std::string_view::npos) return std::nullopt;
    const std::string name = trim(s.substr(i + 10, gt - i - 10));
    if (name.empty() || !offered(tools, name)) return std::nullopt;
    json args = json::object();
    size_t k = skip_space(s, gt + 1);
    while (starts_at(s, k, "<parameter=")) {
        const size_t pg = s.find('>', k);
        const size_t close = pg == std::string_view::npos ? pg : s.find("</parameter>", pg);
        if (close == std::string_view::npos) return std::nullopt;
        const std::string pname = trim(s.substr(k + 11, pg - k - 11));
        std::string value(s.substr(pg + 1, close - pg - 1));
        if (value.starts_with('\n')) value.erase(0, 1);
        if (value.ends_with('\n')) value.pop_back();
        json v = json::parse(value, nullptr, false);
        args[pname] = v.is_discarded() ? json(value) : std::move(v);
        k = skip_space(s, close + 12);
    }
    if (!starts_at(s, k, "</function>")) return std::nullopt;
    k = skip_space(s, k + 11);
    if (starts_at(s, k, "</tool_call>"))
        k += 12;
    else if (k < s.size())
        return std::nullopt;
    return std::pair{std::vector<Call>{{name, compact(args)}}, k};
}

// [TOOL_CALLS] then a JSON list, or NAME[ARGS]{...} (Mistral Small 3.2 / Devstral).
Tail mistral(std::string_view s, size_t i, std::span<const std::string> tools) {
    const size_t k = skip_space(s, i);
    if (k < s.size() && s[k] == '[') return json_calls(s, k, "", tools);
    const size_t a = s.find("[ARGS]", k);
    if (a == std::string_view::npos) return std::nullopt;
    const std::string name = trim(s.substr(k, a - k));
    auto j = json_at(s, skip_space(s, a + 6));
    if (name.empty() || !j || !j->first.is_object() || !offered(tools, name)) return std::nullopt;
    return std::pair{std::vector<Call>{{name, compact(j->first)}}, j->second};
}

// Action: ```json [...] ``` (Command R+), `i` after "Action:".
Tail command_r_action(std::string_view s, size_t i, std::span<const std::string> tools) {
    i = skip_space(s, i);
    if (!starts_at(s, i, "```")) return std::nullopt;
    i += 3;
    if (starts_at(s, i, "json")) i += 4;
    return json_calls(s, i, "```", tools);
}

// Functionary v3.2 parts: "all\n" + text, or NAME + "\n" + {...}.
Tail functionary32_part(std::string_view s, size_t i, std::span<const std::string> tools) {
    const size_t nl = s.find('\n', i);
    if (nl == std::string_view::npos) return std::nullopt;
    const std::string name = trim(s.substr(i, nl - i));
    auto j = json_at(s, skip_space(s, nl + 1));
    if (name.empty() || name == "all" || !j || !j->first.is_object() || !offered(tools, name)) return std::nullopt;
    return std::pair{std::vector<Call>{{name, compact(j->first)}}, j->second};
}

struct Marker {
    std::string_view text;
    Tail (*read)(std::string_view, size_t, std::span<const std::string>);
};

Tail hermes_tail(std::string_view s, size_t i, std::span<const std::string> t) {
    return json_calls(s, i, "</tool_call>", t);
}
Tail end_action_tail(std::string_view s, size_t i, std::span<const std::string> t) {
    return json_calls(s, i, "<|END_ACTION|>", t);
}
Tail plain_tail(std::string_view s, size_t i, std::span<const std::string> t) {
    return json_calls(s, i, "", t);
}
Tail qwen_tail(std::string_view s, size_t i, std::span<const std::string> t) {
    // Qwen3-Coder writes the XML form; accept Hermes JSON inside the same tags too.
    if (auto x = qwen_xml(s, i, t)) return x;
    return hermes_tail(s, i, t);
}
Tail functionary32_tail(std::string_view s, size_t i, std::span<const std::string> t) {
    return functionary32_part(s, i, t);
}
Tail python_tag_tail(std::string_view s, size_t i, std::span<const std::string> t) {
    // One or more call objects separated by ';' or white space.
    std::vector<Call> calls;
    size_t k = skip_space(s, i);
    while (k < s.size()) {
        auto one = json_calls(s, k, "", t);
        if (!one) return std::nullopt;
        for (auto& c : one->first)
            calls.push_back(std::move(c));
        k = skip_space(s, one->second);
        if (k < s.size() && s[k] == ';') k = skip_space(s, k + 1);
    }
    if (calls.empty()) return std::nullopt;
    return std::pair{std::move(calls), k};
}

// The whole text as calls: optional ``` / ```json fence, then call objects (python_tag_tail's form).
std::optional<std::vector<Call>> bare_calls(std::string_view text, std::span<const std::string> tools) {
    size_t b = skip_space(text, 0), e = text.size();
    while (e > b && is_space(text[e - 1]))
        --e;
    std::string_view body = text.substr(b, e - b);
    if (body.starts_with("```")) {
        if (!body.ends_with("```") || body.size() < 6) return std::nullopt;
        body = body.substr(3, body.size() - 6);
        if (body.starts_with("json")) body.remove_prefix(4);
    }
    const size_t k = skip_space(body, 0);
    if (k >= body.size() || (body[k] != '{' && body[k] != '[')) return std::nullopt;
    auto whole = python_tag_tail(body, k, tools);
    if (whole && skip_space(body, whole->second) == body.size()) return std::move(whole->first);
    // {{"name": N, "arguments": {...}}}: one call in doubled braces. Templates written as Python format strings
    // show the call syntax as "{{...}}" (Qwen2.5-Coder's does), and models copy it.
    size_t end = body.size();
    while (end > k && is_space(body[end - 1]))
        --end;
    if (end - k >= 4 && body.substr(k, 2) == "{{" && body.substr(end - 2, 2) == "}}") {
        const std::string_view inner = body.substr(k + 1, end - k - 2);
        auto one = json_calls(inner, 0, "", tools);
        if (one && one->first.size() == 1 && skip_space(inner, one->second) == inner.size())
            return std::move(one->first);
    }
    return std::nullopt;
}

std::span<const Marker> markers(Format f) {
    static constexpr Marker kHermes[] = {{"<tool_call>", hermes_tail}};
    static constexpr Marker kQwen[] = {{"<tool_call>", qwen_tail}};
    static constexpr Marker kLlama3[] = {{"<|python_tag|>", python_tag_tail}};
    static constexpr Marker kMistral[] = {{"[TOOL_CALLS]", mistral}};
    static constexpr Marker kFunc31[] = {{"<function=", function_tag}};
    static constexpr Marker kFunc32[] = {{">>>", functionary32_tail}};
    static constexpr Marker kCommandR[] = {{"<|START_ACTION|>", end_action_tail}, {"Action:", command_r_action}};
    static constexpr Marker kFire[] = {{"functools", plain_tail}};
    static constexpr Marker kGranite[] = {{"<|tool_call|>", plain_tail}};
    switch (f) {
    case Format::Hermes:
        return kHermes;
    case Format::QwenXml:
        return kQwen;
    case Format::Llama3:
        return kLlama3;
    case Format::Mistral:
        return kMistral;
    case Format::Functionary31:
        return kFunc31;
    case Format::Functionary32:
        return kFunc32;
    case Format::CommandR:
        return kCommandR;
    case Format::FireFunction:
        return kFire;
    case Format::Granite:
        return kGranite;
    case Format::None:
        break;
    }
    return {};
}

// The earliest marker occurrence at or after `from`.
std::optional<std::pair<size_t, const Marker*>> find_marker(Format f, std::string_view s, size_t from) {
    std::optional<std::pair<size_t, const Marker*>> best;
    for (const Marker& m : markers(f)) {
        const size_t at = s.find(m.text, from);
        if (at != std::string_view::npos && (!best || at < best->first)) best = std::pair{at, &m};
    }
    return best;
}

} // namespace

const char* format_name(Format f) {
    switch (f) {
    case Format::None:
        return "none";
    case Format::Hermes:
        return "hermes";
    case Format::QwenXml:
        return "qwen-xml";
    case Format::Llama3:
        return "llama3";
    case Format::Mistral:
        return "mistral";
    case Format::Functionary31:
        return "functionary-v3.1";
    case Format::Functionary32:
        return "functionary-v3.2";
    case Format::CommandR:
        return "command-r";
    case Format::FireFunction:
        return "firefunction";
    case Format::Granite:
        return "granite";
    }
    return "none";
}

Format detect_format(std::string_view t) {
    auto has = [&](std::string_view s) { return t.find(s) != std::string_view::npos; };
    if (has("<tool_call>") && has("<function=") && has("<parameter=")) return Format::QwenXml;
    if (has("<tool_call>")) return Format::Hermes;
    if (has("[TOOL_CALLS]")) return Format::Mistral;
    if (has(">>>all")) return Format::Functionary32;
    if (has("<function=")) return Format::Functionary31;
    if (has("<|START_ACTION|>") || (has("Action:") && has("tool_name"))) return Format::CommandR;
    if (has("functools[")) return Format::FireFunction;
    if (has("<|tool_call|>")) return Format::Granite;
    if (has("<|python_tag|>") || (has("ipython") && has("\"parameters\""))) return Format::Llama3;
    return Format::None;
}

Parsed parse(Format f, std::string_view text, std::span<const std::string> tools) {
    Parsed out;
    if (f == Format::None) {
        out.content = std::string(text);
        return out;
    }
    size_t pos = 0;
    if (f == Format::Functionary32) {
        // The first part has no ">>>" (the generation prompt ended with it).
        if (starts_at(text, 0, "all\n")) {
            const size_t next = text.find(">>>", 4);
            out.content = std::string(text.substr(4, next == std::string_view::npos ? next : next - 4));
            pos = next == std::string_view::npos ? text.size() : next;
        } else if (!starts_at(text, 0, ">>>")) {
            auto first = functionary32_part(text, 0, tools);
            if (!first) return {std::string(text), {}};
            out.calls = std::move(first->first);
            pos = first->second;
        }
    } else if (f == Format::Llama3 || !tools.empty()) {
        // A bare call object (or several, ';'-separated, or a list), possibly in a ``` fence, as the whole answer:
        // Llama 3's form, and what small models of other families often write instead of their own syntax
        // (taken as calls only when every name is an offered tool).
        if (auto whole = bare_calls(text, tools)) return {"", std::move(*whole)};
    }
    while (pos < text.size()) {
        if (f == Format::Functionary32 && starts_at(text, pos, ">>>all\n")) { // a text part
            const size_t next = text.find(">>>", pos + 7);
            out.content += text.substr(pos + 7, next == std::string_view::npos ? next : next - pos - 7);
            pos = next == std::string_view::npos ? text.size() : next;
            continue;
        }
        const auto m = find_marker(f, text, pos);
        if (!m) break;
        auto tail = m->second->read(text, m->first + m->second->text.size(), tools);
        if (!tail) break; // a malformed call: it and the rest stay text
        out.content += text.substr(pos, m->first - pos);
        for (auto& c : tail->first)
            out.calls.push_back(std::move(c));
        pos = tail->second;
    }
    if (pos < text.size()) out.content += text.substr(pos);
    if (!out.calls.empty()) out.content = trim(out.content);
    return out;
}

Stream::Stream(Format f, std::vector<std::string> tools) : format_(f), tools_(std::move(tools)) {}

std::string Stream::feed(std::string_view text) {
    if (format_ == Format::None) return std::string(text);
    held_ += text;
    if (in_call_) return "";
    if (!started_) {
        const size_t k = skip_space(held_, 0);
        if (k == held_.size()) return ""; // only white space so far: wait
        started_ = true;
        // Formats whose call can be the answer's very start without a marker.
        const char c0 = held_[k];
        if ((format_ == Format::Llama3 && c0 == '{') || (!tools_.empty() && (c0 == '{' || c0 == '[' || c0 == '`'))) {
            in_call_ = true;
            return "";
        }
        if (format_ == Format::Functionary32) {
            // "all\n" + text, or a call: decide once the first line is complete.
            const size_t nl = held_.find('\n');
            if (nl == std::string::npos && std::string_view("all").starts_with(trim(held_))) {
                started_ = false;
                return "";
            }
            if (starts_at(held_, 0, "all\n")) {
                held_.erase(0, 4);
            } else {
                in_call_ = true;
                return "";
            }
        }
    }
    if (const auto m = find_marker(format_, held_, 0)) {
        std::string out = held_.substr(0, m->first);
        held_.erase(0, m->first);
        in_call_ = true;
        released_ += out;
        return out;
    }
    // Hold back the longest end of the text that could begin a marker.
    size_t keep = 0;
    for (const Marker& m : markers(format_))
        for (size_t n = std::min(m.text.size() - 1, held_.size()); n > keep; --n)
            if (std::string_view(held_).substr(held_.size() - n) == m.text.substr(0, n)) {
                keep = n;
                break;
            }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    released_ += out;
    return out;
}

Parsed Stream::finish() {
    // In a call: the held text starts at a marker (or is the whole answer, for the marker-less starts).
    Parsed p = in_call_ ? parse(format_, held_, tools_) : Parsed{std::move(held_), {}};
    held_.clear();
    return p;
}

} // namespace hearth::toolcall
