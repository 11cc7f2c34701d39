// Hostile templates: each must end in a clear error, never a hang, a crash or unbounded memory.
#include "template/chat_template.h"

#include <gtest/gtest.h>

namespace {

using nlohmann::ordered_json;

std::string error_of(std::string_view tmpl, const hearth::TemplateLimits& limits = {}) {
    auto r = hearth::render_chat_template(tmpl, ordered_json{{"messages", ordered_json::array()}}, limits);
    return r.is_ok() ? "OK: " + r->substr(0, 100) : r.message();
}

TEST(TemplateSandbox, AttributeWalking) {
    EXPECT_NE(error_of("{{ ''.__class__ }}").find("SecurityError"), std::string::npos);
    EXPECT_NE(error_of("{{ ''.__class__.__mro__[1].__subclasses__() }}").find("SecurityError"), std::string::npos);
    EXPECT_NE(error_of("{{ messages.__init__ }}").find("SecurityError"), std::string::npos);
    EXPECT_NE(error_of("{{ messages['__class__'] }}").find("SecurityError"), std::string::npos);
    EXPECT_NE(error_of("{{ raise_exception.__globals__ }}").find("SecurityError"), std::string::npos);
    EXPECT_NE(error_of("{% set ns = namespace() %}{% set ns.__dict__ = 1 %}").find("SecurityError"), std::string::npos);
    // Immutable sandbox, as in transformers: data values cannot be modified.
    EXPECT_NE(error_of("{{ messages.append(1) }}").find("SecurityError"), std::string::npos);
    EXPECT_NE(error_of("{{ {}.update({'a': 1}) }}").find("SecurityError"), std::string::npos);
}

TEST(TemplateSandbox, HugeRangesAndLoops) {
    EXPECT_NE(error_of("{{ range(10**9) }}").find("LimitError"), std::string::npos);
    EXPECT_NE(error_of("{% for i in range(10**9) %}{% endfor %}").find("LimitError"), std::string::npos);
    EXPECT_NE(
        error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}").find("LimitError"),
        std::string::npos);
    EXPECT_NE(error_of("{{ 10 ** 100 }}").find("OverflowError"), std::string::npos);
}

TEST(TemplateSandbox, HugeOutput) {
    EXPECT_NE(error_of("{% for i in range(100000) %}{% for j in range(100) %}xxxxxxxxxx{% endfor %}{% endfor %}")
                  .find("LimitError"),
              std::string::npos);
    EXPECT_NE(
        error_of("{% set s = 'x' * 1000 %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}").find("LimitError"),
        std::string::npos);
    EXPECT_NE(error_of("{{ 'x' * 10**12 }}").find("LimitError"), std::string::npos);
    EXPECT_NE(error_of("{{ [1] * 10**12 }}").find("LimitError"), std::string::npos);
    EXPECT_NE(
        error_of("{% set ns = namespace(l=[0]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}")
            .find("LimitError"),
        std::string::npos);
}

TEST(TemplateSandbox, Recursion) {
    EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("LimitError"), std::string::npos);
    EXPECT_NE(error_of("{% macro f(n) %}{{ f(n) ~ f(n) }}{% endmacro %}{{ f(1) }}").find("LimitError"),
              std::string::npos);
    // Exponential fan-out inside the depth limit is stopped by the iteration or output limit.
    EXPECT_NE(error_of("{% macro f(n) %}{% for i in range(10) %}{{ f(n + 1) }}{% endfor %}{% endmacro %}{{ f(0) }}")
                  .find("Error"),
              std::string::npos);
}

// Work that stays under every other limit (depth 40 < 64, no output, no loop) but doubles at each level:
// 2^40 macro calls. The step budget ends it; with the budget lifted, the wall-clock deadline does.
TEST(TemplateSandbox, ExponentialWorkIsCutOff) {
    const char* expo = "{% macro f(n) %}{% if n < 40 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}";
    // Default limits: whichever ends it first (5M steps, or 1 s on a slow or sanitized build).
    EXPECT_NE(error_of(expo).find("LimitError: template rendering took "), std::string::npos);
    hearth::TemplateLimits budget;
    budget.max_steps = 200'000;
    budget.max_seconds = 60;
    EXPECT_NE(error_of(expo, budget).find("LimitError: template rendering took more than 200000 steps"),
              std::string::npos);
    hearth::TemplateLimits no_budget;
    no_budget.max_steps = UINT64_MAX;
    no_budget.max_seconds = 0.05;
    EXPECT_NE(error_of(expo, no_budget).find("LimitError: template rendering took longer than 0.05 s"),
              std::string::npos);
    // Nested loops under the iteration limit, each iteration doing work through a filter chain.
    hearth::TemplateLimits small;
    small.max_steps = 2'000;
    EXPECT_NE(
        error_of("{% for i in range(999) %}{{ [i, i, i] | map('string') | join(',') | length }}{% endfor %}", small)
            .find("steps"),
        std::string::npos);
    // A real conversation stays far below the default budget.
    EXPECT_EQ(error_of("{% for i in range(2000) %}{{ i }}{% endfor %}").substr(0, 4), "OK: ");
}

TEST(TemplateSandbox, DeepNestingInParser) {
    std::string parens(10000, '(');
    EXPECT_NE(error_of("{{ " + parens + "1" + std::string(10000, ')') + " }}").find("TemplateSyntaxError"),
              std::string::npos);
    std::string nots;
    for (int i = 0; i < 10000; ++i)
        nots += "not ";
    EXPECT_NE(error_of("{{ " + nots + "1 }}").find("TemplateSyntaxError"), std::string::npos);
    std::string minus(10000, '-');
    EXPECT_NE(error_of("{{ " + minus + "1 }}").find("TemplateSyntaxError"), std::string::npos);
    std::string ifs;
    for (int i = 0; i < 10000; ++i)
        ifs += "{% if true %}";
    EXPECT_NE(error_of(ifs).find("TemplateSyntaxError"), std::string::npos);
    std::string lists(10000, '[');
    EXPECT_NE(error_of("{{ " + lists + " }}").find("TemplateSyntaxError"), std::string::npos);
}

TEST(TemplateSandbox, NoFileAccess) {
    EXPECT_NE(error_of("{% include '/etc/passwd' %}").find("TemplateSyntaxError"), std::string::npos);
    EXPECT_NE(error_of("{% extends 'base' %}").find("TemplateSyntaxError"), std::string::npos);
    EXPECT_NE(error_of("{% import 'm' as m %}").find("TemplateSyntaxError"), std::string::npos);
}

TEST(TemplateSandbox, SmallLimitsAreHonoured) {
    hearth::TemplateLimits l;
    l.max_output = 10;
    EXPECT_NE(error_of("{{ 'x' * 11 }}", l).find("LimitError"), std::string::npos);
    l = {};
    l.max_loop_iterations = 5;
    EXPECT_NE(error_of("{% for i in range(6) %}{% endfor %}", l).find("LimitError"), std::string::npos);
    l = {};
    l.max_depth = 2;
    EXPECT_NE(error_of("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", l).find("LimitError"), std::string::npos);
}

} // namespace
