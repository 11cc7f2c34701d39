// Unit tests of the Jinja2 interpreter: each expectation is what Python jinja2 3.1 renders with the
// transformers environment (trim_blocks, lstrip_blocks).
#include "template/chat_template.h"

#include <gtest/gtest.h>

namespace {

using nlohmann::ordered_json;

std::string render(std::string_view tmpl, const ordered_json& ctx = ordered_json::object()) {
    auto r = hearth::render_chat_template(tmpl, ctx);
    return r.is_ok() ? *r : "ERROR: " + r.message();
}

TEST(Template, TextAndExpressions) {
    EXPECT_EQ(render("hello"), "hello");
    EXPECT_EQ(render("{{ 1 + 2 * 3 }}"), "7");
    EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }}"),
              "3 -4 1 2 1024 3.5");
    EXPECT_EQ(render("{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 0.0001 }} {{ 0.00001 }}"),
              "1.0 0.30000000000000004 1e+20 0.0001 1e-05");
    EXPECT_EQ(render("{{ 'a' ~ 1 ~ none }} {{ 'ab' * 3 }}"), "a1None ababab");
    EXPECT_EQ(render("{{ [1, 'a', none, true] }} {{ {'k': 'v'} }} {{ (1,) }}"), "[1, 'a', None, True] {'k': 'v'} (1,)");
    EXPECT_EQ(render("{{ 'x' if false }}|{{ 'y' if 1 else 'n' }}"), "|y");
    EXPECT_EQ(render("{{ 'abc'[::-1] }} {{ [1,2,3,4][1:3] }} {{ 'hello'[-1] }}"), "cba [2, 3] o");
    EXPECT_EQ(render("{{ 'b' in 'abc' }} {{ 3 not in [1,2] }} {{ 'k' in {'k': 1} }}"), "True True True");
    EXPECT_EQ(render("{{ not 1 == 2 and (1 < 2 or x) }}"), "True");
    EXPECT_EQ(render("{{ \"it's\" }} {{ 'a\\nb' }}"), "it's a\nb");
}

TEST(Template, WhitespaceControl) {
    EXPECT_EQ(render("a\n{% if true %}\nb\n{% endif %}\nc"), "a\nb\nc");
    EXPECT_EQ(render("a\n    {% if true %}\n    b\n    {% endif %}\nc\n"), "a\n    b\nc");
    EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
    EXPECT_EQ(render("a\n  {%+ if true %}b{% endif %}"), "a\n  b");
    EXPECT_EQ(render("{{ 'x' }}\n{# c #}\ny"), "x\ny");
    EXPECT_EQ(render("  {{- 'x' -}}  \n y"), "xy");
    EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(Template, Loops) {
    ordered_json ctx = {{"xs", {"a", "b", "c"}}};
    EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}{{ x }}{{ ',' if not loop.last }}{% endfor %}", ctx),
              "1a,2b,3c");
    EXPECT_EQ(
        render("{% for x in xs %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.length }} {% endfor %}",
               ctx),
        "03True3 12False3 21False3 ");
    EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
    EXPECT_EQ(render("{% for x in range(10) if x is odd %}{{ x }}{% endfor %}"), "13579");
    EXPECT_EQ(render("{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "012");
    EXPECT_EQ(render("{% for x in range(5) %}{% if x is even %}{% continue %}{% endif %}{{ x }}{% endfor %}"), "13");
    EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
    EXPECT_EQ(render("{% for x in xs %}{{ loop.previtem }}{{ loop.nextitem }}|{% endfor %}", ctx), "b|ac|b|");
}

TEST(Template, SetNamespaceMacro) {
    EXPECT_EQ(render("{% set x = 1 %}{% for i in range(3) %}{% set x = i %}{% endfor %}{{ x }}"), "1");
    EXPECT_EQ(
        render("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
        "3");
    EXPECT_EQ(render("{% set b %}in {{ 1 }}{% endset %}[{{ b }}]"), "[in 1]");
    EXPECT_EQ(render("{% macro m(a, b='d') %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, b=2) }}"), "1-d 1-2");
    EXPECT_EQ(render("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}body{% endcall %}"), "<body>");
    EXPECT_EQ(render("{% filter upper %}abc{% endfilter %}"), "ABC");
    EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
}

TEST(Template, FiltersAndMethods) {
    EXPECT_EQ(render("{{ '  x  ' | trim }}|{{ 'ab' | upper }}|{{ [1,2] | length }}|{{ 'hello world' | title }}"),
              "x|AB|2|Hello World");
    EXPECT_EQ(render("{{ [1,2,3] | join(', ') }}|{{ x | default('d') }}|{{ [3,1,2] | sort | list }}"),
              "1, 2, 3|d|[1, 2, 3]");
    EXPECT_EQ(render("{{ [{'a': 1}, {'a': 2}] | map(attribute='a') | list }}"), "[1, 2]");
    EXPECT_EQ(render("{{ [{'t': 'x'}, {}] | selectattr('t', 'defined') | list | length }}"), "1");
    EXPECT_EQ(render("{{ ['a', 'A', 'b'] | unique | list }}|{{ [1, 2, 3] | reject('odd') | list }}"), "['a', 'b']|[2]");
    EXPECT_EQ(render("{{ 'a\\nb' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}"), "a\n  b|  a\n  b");
    EXPECT_EQ(render("{{ {'a': '<&>\\'', 'b': [1, 2.5, none, true], 'c': 'é'} | tojson }}"),
              "{\"a\": \"<&>'\", \"b\": [1, 2.5, null, true], \"c\": \"é\"}");
    EXPECT_EQ(render("{{ {'a': [1]} | tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ]\n}");
    EXPECT_EQ(render("{{ ' a b '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'abc'.startswith('a') }}|{{ 'x'.upper() }}"),
              "a b|['a', 'b']|True|X");
    EXPECT_EQ(
        render("{{ {'a': 1}.get('b', 2) }}|{{ {'a': 1}.keys() | list }}|{{ '3' | int + 1 }}|{{ 2.567 | round(1) }}"),
        "2|['a']|4|2.6");
    EXPECT_EQ(render("{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ 1 is number }}"),
              "FalseTrueTrueTrueTrue");
}

// {template, what Python jinja2 3.1.6 renders (or the error it raises)}, printed by the golden environment of
// tools/make-template-golden.py.
TEST(Template, StrFormatAndDictsort) {
    const std::pair<const char*, const char*> cases[] = {
        {"{{ '<t{}>'.format('_x') }}|{{ '{0}-{1}-{0}'.format('a', 2) }}|{{ '{name}={v!r}'.format(name='k', v='s') }}",
         "<t_x>|a-2-a|k='s'"},
        {"{{ '{{}}{}'.format(none) }}|{{ '[{:>5}][{:*^7}][{:<3}]'.format('ab', 'mid', 1.5) }}",
         "{}None|[   ab][**mid**][1.5]"},
        {"{{ '{0[k]}{1.a}'.format({'k': 'K'}, {'a': 'A'}) }}", "KA"},
        {"{{ '{} {0}'.format(1) }}",
         "ERROR: ValueError: cannot switch from manual field specification to automatic field numbering"},
        {"{{ '{1}'.format(1) }}", "ERROR: IndexError: tuple index out of range"},
        {"{{ '{x}'.format(y=1) }}", "ERROR: KeyError: 'x'"},
        // jinja2 renders an unsafe attribute as an empty undefined here; we refuse it outright.
        {"{{ '{0.__class__}'.format('a') }}",
         "ERROR: SecurityError: access to attribute '__class__' of 'str' object is unsafe."},
        {"{% for k, v in {'b': 1, 'A': 2, 'a': 3} | dictsort %}{{ k }}={{ v }},{% endfor %}", "A=2,a=3,b=1,"},
        {"{{ {'b': 1, 'A': 2, 'a': 3} | dictsort(true) }}", "[('A', 2), ('a', 3), ('b', 1)]"},
        {"{{ {'x': 2, 'y': 1} | dictsort(by='value') }}|{{ {'x': 2, 'y': 1} | dictsort(reverse=true) }}",
         "[('y', 1), ('x', 2)]|[('y', 1), ('x', 2)]"},
    };
    for (const auto& [tmpl, want] : cases)
        EXPECT_EQ(render(tmpl), want) << tmpl;
}

TEST(Template, Globals) {
    EXPECT_EQ(render("{{ raise_exception('bad role') }}"), "ERROR: TemplateError: bad role");
    hearth::TemplateOptions o;
    o.now = [] {
        std::tm tm{};
        tm.tm_year = 124;
        tm.tm_mon = 6;
        tm.tm_mday = 26;
        return tm;
    };
    auto r = hearth::render_chat_template("{{ strftime_now('%d %b %Y') }}", ordered_json::object(), o);
    ASSERT_TRUE(r.is_ok()) << r.message();
    EXPECT_EQ(*r, "26 Jul 2024");
    EXPECT_EQ(render("{{ dict(a=1) }}"), "{'a': 1}");
}

TEST(Template, ChatMlFallback) {
    ordered_json ctx = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"add_generation_prompt", true}};
    EXPECT_EQ(render(hearth::kChatMlTemplate, ctx), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Template, Errors) {
    EXPECT_NE(render("{{ x.y }}").find("UndefinedError"), std::string::npos);
    EXPECT_NE(render("{% for %}").find("TemplateSyntaxError"), std::string::npos);
    EXPECT_NE(render("{% if x %}").find("TemplateSyntaxError"), std::string::npos);
    EXPECT_NE(render("{{ 'a' + 1 }}").find("TypeError"), std::string::npos);
    EXPECT_NE(render("{{ 1 / 0 }}").find("ZeroDivisionError"), std::string::npos);
    EXPECT_NE(render("{% include 'x' %}").find("not supported"), std::string::npos);
}

} // namespace
