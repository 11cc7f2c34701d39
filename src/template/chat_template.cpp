// template/chat_template.cpp: the public API over lexer, parser and renderer.
#include "template/chat_template.h"

#include "template/evaluator.h"
#include "template/lexer.h"
#include "template/parser.h"

namespace hearth {

struct CompiledTemplate::Impl {
    tmpl::Body body;
};

CompiledTemplate::CompiledTemplate() : impl_(std::make_unique<Impl>()) {}
CompiledTemplate::CompiledTemplate(CompiledTemplate&&) noexcept = default;
CompiledTemplate& CompiledTemplate::operator=(CompiledTemplate&&) noexcept = default;
CompiledTemplate::~CompiledTemplate() = default;

Result<CompiledTemplate> CompiledTemplate::compile(std::string_view source) {
    auto tokens = tmpl::tokenize(source);
    if (!tokens) return tokens.status();
    auto body = tmpl::parse(*tokens);
    if (!body) return body.status();
    CompiledTemplate t;
    t.impl_->body = std::move(*body);
    return t;
}

Result<std::string> CompiledTemplate::render(const nlohmann::ordered_json& context,
                                             const TemplateOptions& options) const {
    if (!context.is_object()) return Status::error("chat template context must be a JSON object");
    tmpl::Renderer renderer(options);
    return renderer.render(impl_->body, tmpl::from_json(context));
}

Result<std::string> render_chat_template(std::string_view tmpl, const nlohmann::ordered_json& context,
                                         const TemplateOptions& options) {
    auto t = CompiledTemplate::compile(tmpl);
    if (!t) return t.status();
    return t->render(context, options);
}

Result<std::string> render_chat_template(std::string_view tmpl, const nlohmann::ordered_json& context,
                                         const TemplateLimits& limits) {
    TemplateOptions options;
    options.limits = limits;
    return render_chat_template(tmpl, context, options);
}

} // namespace hearth
