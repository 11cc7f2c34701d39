// template/conversation.cpp: a conversation through a Jinja2 or Go chat template; see conversation.h.
#include "template/conversation.h"

#include "template/gotmpl.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace hearth {
namespace {

using Clock = std::chrono::steady_clock;

// An error a client may see: a template's own message (raise_exception, a huge repr) is cut to about 2 KiB,
// at a character boundary.
std::string short_message(std::string msg) {
    constexpr size_t kMax = 2048;
    if (msg.size() <= kMax) return msg;
    size_t at = kMax;
    while (at > 0 && (static_cast<unsigned char>(msg[at]) & 0xc0) == 0x80)
        --at;
    msg.resize(at);
    return msg + "...";
}

// Seconds left until `deadline`, never negative.
double seconds_left(Clock::time_point deadline) {
    return std::max(0.0, std::chrono::duration<double>(deadline - Clock::now()).count());
}

Result<std::string> render_go(const ChatFormat& fmt, const std::vector<ChatMessage>& messages,
                              bool add_generation_prompt) {
    std::string system;
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& m : messages) {
        if (m.role == "system") system = m.content;
        all.push_back({{"Role", m.role}, {"Content", m.content}});
    }
    auto tmpl = GoTemplate::parse(fmt.source);
    if (!tmpl) return tmpl.status();
    GoTemplateOptions opts;
    opts.limits = fmt.limits;
    if (fmt.source.find(".Messages") != std::string::npos) {
        // Ollama's current form: the whole conversation at once; the template opens the assistant turn.
        return tmpl->render({{"System", system}, {"Messages", all}, {"Prompt", ""}, {"Response", ""}}, opts);
    }
    // The legacy form: one rendering per (prompt, response) turn, the system prompt with the first one; the
    // last turn is cut where its response would start. All turns share the deadline of one rendering.
    // Ollama's template data are Go structs whose nested values print as JSON (tool definitions, arguments).
    opts.objects_as_json = true;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                             std::clamp(fmt.limits.max_seconds, 0.0, 1e6)));
    std::string out;
    std::vector<std::pair<std::string, std::string>> turns; // (user, assistant)
    for (const auto& m : messages) {
        if (m.role == "user")
            turns.emplace_back(m.content, "");
        else if (m.role == "assistant") {
            if (turns.empty() || !turns.back().second.empty()) turns.emplace_back("", "");
            turns.back().second = m.content;
        }
    }
    const std::string sentinel = "\x01hearth-response\x01";
    for (size_t i = 0; i < turns.size(); ++i) {
        const bool last = i + 1 == turns.size() && add_generation_prompt && turns[i].second.empty();
        nlohmann::ordered_json data = {{"System", i == 0 ? system : ""},
                                       {"Prompt", turns[i].first},
                                       {"Response", last ? sentinel : turns[i].second},
                                       {"Messages", nlohmann::ordered_json::array()}};
        opts.limits.max_seconds = seconds_left(deadline);
        auto r = tmpl->render(data, opts);
        if (!r) return r;
        if (last) {
            const size_t at = r->find(sentinel);
            if (at != std::string::npos) r->resize(at);
        }
        out += *r;
        if (out.size() > fmt.limits.max_output)
            return error("template: LimitError: output exceeds " + std::to_string(fmt.limits.max_output) + " bytes");
    }
    return out;
}

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
}

bool is_limit_error(const std::string& msg) {
    return msg.find("LimitError") != std::string::npos;
}

} // namespace

ChatFormat::Kind template_kind(std::string_view source) {
    return looks_like_go_template(source) ? ChatFormat::Kind::Go : ChatFormat::Kind::Jinja;
}

Result<std::string> render_chat(const ChatFormat& fmt, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt, std::string_view tools_json,
                                std::optional<bool> enable_thinking) {
    if (fmt.kind == ChatFormat::Kind::Go) {
        if (!tools_json.empty())
            return error("chat template (" + fmt.origin +
                         "): tools need a Jinja chat template (this is a Go template)");
        auto r = render_go(fmt, messages, add_generation_prompt);
        if (!r) return error(short_message(r.message()));
        return r;
    }
    using ojson = nlohmann::ordered_json;
    ojson msgs = ojson::array();
    for (const auto& m : messages) {
        // An assistant turn that only calls tools has no content: null, as OpenAI clients send it (templates
        // test for it).
        ojson jm = {{"role", m.role},
                    {"content", m.content.empty() && !m.tool_calls.empty() ? ojson(nullptr) : ojson(m.content)}};
        if (!m.tool_calls.empty()) {
            ojson calls = ojson::array();
            for (const auto& c : m.tool_calls) {
                ojson args = ojson::parse(c.arguments, nullptr, false);
                if (args.is_discarded()) return error("tool call '" + c.name + "': arguments are not JSON");
                calls.push_back(
                    {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", args}}}});
            }
            jm["tool_calls"] = std::move(calls);
        }
        if (!m.tool_call_id.empty()) jm["tool_call_id"] = m.tool_call_id;
        if (!m.name.empty()) jm["name"] = m.name;
        msgs.push_back(std::move(jm));
    }
    ojson ctx = {{"messages", msgs},
                 {"add_generation_prompt", add_generation_prompt},
                 {"bos_token", fmt.bos_token},
                 {"eos_token", fmt.eos_token}};
    if (!tools_json.empty()) {
        ojson tools = ojson::parse(tools_json, nullptr, false);
        if (tools.is_discarded() || !tools.is_array()) return error("tools: not a JSON array");
        ctx["tools"] = std::move(tools);
    }
    if (enable_thinking) ctx["enable_thinking"] = *enable_thinking;

    TemplateOptions opts;
    opts.limits = fmt.limits;
    auto r = render_chat_template(fmt.source, ctx, opts);
    if (!r) return error(short_message("chat template (" + fmt.origin + "): " + r.message()));
    return r;
}

Status validate_chat_template(const ChatFormat& fmt, bool budget_only) {
    const std::vector<std::vector<ChatMessage>> samples = {
        {{"system", "You are a helpful assistant."},
         {"user", "Hello!"},
         {"assistant", "Hi! How can I help?"},
         {"user", "What is 2 + 2?"}},
        {{"user", "Hello!"}, {"assistant", "Hi! How can I help?"}, {"user", "What is 2 + 2?"}},
        {{"user", "What is 2 + 2?"}},
    };
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                             std::clamp(fmt.limits.max_seconds, 0.0, 1e6)));
    const std::string budget = "template exceeds the rendering budget (" + std::to_string(fmt.limits.max_steps) +
                               " steps / " + seconds_text(fmt.limits.max_seconds) + ")";
    std::string first_error;
    for (const auto& sample : samples) {
        ChatFormat f = fmt;
        f.limits.max_seconds = seconds_left(deadline);
        auto r = render_chat(f, sample, /*add_generation_prompt=*/true);
        if (r) return Status::ok();
        if (is_limit_error(r.message())) return error(budget + ": " + r.message());
        if (first_error.empty()) first_error = r.message();
    }
    if (budget_only) return Status::ok();
    return error("template does not render a sample conversation: " + first_error);
}

Status validate_chat_template(std::string_view source, bool is_model_template) {
    ChatFormat f;
    f.source = std::string(source);
    f.kind = is_model_template ? ChatFormat::Kind::Jinja : template_kind(source);
    f.origin = is_model_template ? "the model's own" : "TEMPLATE";
    return validate_chat_template(f, /*budget_only=*/is_model_template);
}

} // namespace hearth
