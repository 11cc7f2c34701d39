// tests/template/test_template_hostile.cpp: hostile chat templates through validate_chat_template, the check
// `hearth create` and POST /api/create run before a model is created (template/conversation.h): each one is
// refused, in well under the 5 s this test allows (the budget is 1 s; sanitizer builds are slower), and
// without a render holding more than 256 MiB of heap. Real models' templates pass the same check.
//
// This binary counts heap bytes (operator new/delete below), so it runs apart from the other template tests.
#include "model_paths.h"
#include "template/conversation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <malloc.h>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>

// ---- heap accounting: live bytes and their peak, for the whole process -------------------------------
namespace {
std::atomic<int64_t> g_live{0}, g_peak{0};

void* counted_alloc(size_t n) {
    void* p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    const int64_t live = g_live.fetch_add(int64_t(malloc_usable_size(p))) + int64_t(malloc_usable_size(p));
    int64_t peak = g_peak.load();
    while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
    }
    return p;
}

void counted_free(void* p) noexcept {
    if (!p) return;
    g_live.fetch_sub(int64_t(malloc_usable_size(p)));
    std::free(p);
}
} // namespace

void* operator new(size_t n) {
    return counted_alloc(n);
}
void* operator new[](size_t n) {
    return counted_alloc(n);
}
void operator delete(void* p) noexcept {
    counted_free(p);
}
void operator delete[](void* p) noexcept {
    counted_free(p);
}
void operator delete(void* p, size_t) noexcept {
    counted_free(p);
}
void operator delete[](void* p, size_t) noexcept {
    counted_free(p);
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): every form of new and delete must
// come from the same allocator, or a sanitizer sees memory from its new freed by our delete.
void* operator new(size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept {
    return operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    counted_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    counted_free(p);
}

namespace {

constexpr double kMaxSeconds = 5.0;          // the budget is 1 s; a sanitizer build on a busy machine is slower
constexpr int64_t kMaxHeapBytes = 256 << 20; // what one render may add to the heap at its peak

// One hostile template and what it attacks.
struct Hostile {
    const char* source;
    const char* attack;
};

// The corpus: Jinja, then Ollama Go templates (a Modelfile TEMPLATE that looks like one is rendered as one).
const Hostile kHostile[] = {
    // Exponential work that builds nothing: 2^40 macro calls, each under every other limit.
    {"{% macro f(n) %}{% if n < 40 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}", "2^40 calls"},
    {"{% macro f(n) %}{% if n < 60 %}{{ f(n+1) }}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}",
     "3^60 calls"},
    {"{% macro f(n) %}{% if n < 40 %}{% set a = f(n+1) %}{% set b = f(n+1) %}{% endif %}{% endmacro %}{{ f(0) }}",
     "2^40 calls through set"},
    {"{% macro f(n) %}{% for i in range(10) %}{{ f(n + 1) }}{% endfor %}{% endmacro %}{{ f(0) }}", "10^n fan-out"},
    {"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "unbounded recursion"},
    {"{% macro f(n) %}{{ f(n) ~ f(n) }}{% endmacro %}{{ f(1) }}", "recursion to the depth limit, twice"},
    // Loops.
    {"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "10^10 iterations"},
    {"{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}"
     "{% endfor %}",
     "10^9 iterations"},
    {"{% for i in range(10**9) %}{% endfor %}", "range(10**9)"},
    {"{{ range(10**9)|list|length }}", "range(10**9)|list"},
    {"{{ range(10**9)|join(',') }}", "range(10**9)|join"},
    // Doubling strings and lists.
    {"{% set s = 'x' %}{% for i in range(64) %}{% set s = s ~ s %}{% endfor %}{{ s|length }}", "string doubling"},
    {"{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "ns doubling"},
    {"{% set ns = namespace(l=[0]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
     "list doubling"},
    {"{% set ns = namespace(l=[0]) %}{% for i in range(64) %}{% set ns.l = ns.l * 2 %}{% endfor %}", "list repetition"},
    {"{% set ns = namespace(l=[0]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
     "2^60 shared nodes printed"},
    {"{% set ns = namespace(a=[0], b=[0]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}"
     "{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}",
     "2^60 shared nodes compared"},
    // Huge results of one operation.
    {"{{ 'x' * 10**9 }}", "'x' * 10**9"},
    {"{{ [0] * 10**9 }}", "[0] * 10**9"},
    {"{{ ((range(100000)|list) * 100000)|length }}", "10^10 items"},
    {"{{ range(100000)|join('x' * 100000) }}", "join with a huge separator"},
    {"{{ ('x' * 1000000)|replace('', 'y' * 1000000) }}", "replace between every character"},
    {"{{ ('x\n' * 500000)|indent(256) }}", "indent of 500000 lines"},
    {"{{ [1]|batch(1000000000, 'x')|list }}", "batch filled to 10^9"},
    {"{{ ('x' * 1000000)|list|length }}", "a string as a list of characters"},
    {"{{ ('x ' * 500000).split()|length }}", "split into 500000 parts"},
    // Many references to one big string, then one copy each.
    {"{% set s = 'x' * 1000000 %}{{ ([s] * 100000)|join('') }}", "join 10^11 bytes"},
    {"{% set s = 'x' * 1000000 %}{{ ([s] * 100000)|tojson|length }}", "tojson of 10^11 bytes"},
    {"{% set s = 'x' * 1000000 %}{{ ([s] * 100000)|string|length }}", "repr of 10^11 bytes"},
    {"{% set s = 'x' * 1000000 %}{{ [s] * 100000 }}", "print 10^11 bytes"},
    {"{% set s = 'x' * 1000000 %}{{ ([s] * 1000)|map('upper')|list|length }}", "map building 10^9 bytes"},
    {"{% set s = 'x' * 1000000 %}{{ ([s] * 100000)|sort|length }}", "sort lowering 10^11 bytes"},
    {"{% set s = 'x' * 1000000 %}{{ ([s] * 100000)|unique|list|length }}", "unique of 10^11 bytes"},
    {"{% set s = 'x' * 1000000 %}{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
     "{% set ns.l = ns.l + [s ~ i] %}{% endfor %}",
     "keeping 10^11 bytes of fresh strings"},
    {"{% set s = 'x,' * 500000 %}{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
     "{% set ns.l = ns.l + [s.split(',')] %}{% endfor %}",
     "keeping 10^5 splits"},
    {"{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}",
     "lists nested 10^5 deep"},
    // Work hidden in one step.
    {"{% for i in range(100000) %}{% if ('a' * 500000 ~ 'b') in ('a' * 1000000) %}{% endif %}{% endfor %}",
     "substring search, quadratic with a naive find"},
    {"{% for i in range(100000) %}{% set x = ('a' * 1000000).replace('a' * 500000 ~ 'b', '') %}{% endfor %}",
     "replace, quadratic with a naive find"},
    {"{{ range(100000)|unique|list|length }}", "quadratic unique"},
    {"{% set l = range(100000)|list %}{% for i in range(10000) %}{% set x = l|max %}{% endfor %}", "10^4 sorts"},
    {"{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{% set x = s[::-1] %}{% endfor %}",
     "10^5 reversed megabytes"},
    {"{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{{ s[500000] }}{% endfor %}", "10^5 string indexes"},
    {"{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{% if (s ~ 'y') in [s] * 100000 %}{% endif %}"
     "{% endfor %}",
     "10^10 megabyte compares"},
    // Go templates.
    {"{{ .System }}{{ range $i := 1000000000 }}{{ end }}", "Go: range over 10^9"},
    {"{{ .System }}{{ range $i := 100000 }}{{ range $j := 100000 }}{{ end }}{{ end }}", "Go: 10^10 iterations"},
    {"{{ .System }}{{ $s := \"x\" }}{{ range $i := 64 }}{{ $s = printf \"%s%s\" $s $s }}{{ end }}",
     "Go: string doubling"},
    {"{{ .System }}{{ printf \"%1000000000d\" 1 }}", "Go: printf width 10^9"},
    {"{{ .System }}{{ $s := \"x\" }}{{ range $i := 20 }}{{ $s = printf \"%s%s\" $s $s }}{{ end }}"
     "{{ range $i := 100000 }}{{ $t := printf \"%s\" $s }}{{ end }}",
     "Go: 10^5 megabyte copies"},
    {"{{ .System }}{{ range $i := 100000 }}{{ json $ }}{{ end }}", "Go: output past the limit"},
};

struct Outcome {
    hearth::Status status;
    double seconds = 0;
    int64_t peak_heap = 0; // above what was live before
};

template <typename Source> Outcome validate(const Source& source, bool is_model_template = false) {
    const int64_t before = g_live.load();
    g_peak.store(before);
    const auto t0 = std::chrono::steady_clock::now();
    Outcome o;
    if constexpr (std::is_same_v<Source, hearth::ChatFormat>)
        o.status = hearth::validate_chat_template(source);
    else
        o.status = hearth::validate_chat_template(source, is_model_template);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    o.peak_heap = g_peak.load() - before;
    return o;
}

TEST(HostileTemplates, EachIsRefusedQuicklyAndInBoundedMemory) {
    ASSERT_GE(std::size(kHostile), 40u);
    double worst_s = 0;
    int64_t worst_heap = 0;
    for (const Hostile& h : kHostile) {
        hearth::ChatFormat fmt;
        fmt.source = h.source;
        fmt.kind =
            fmt.source.starts_with("{{ .System }}") ? hearth::ChatFormat::Kind::Go : hearth::ChatFormat::Kind::Jinja;
        fmt.origin = "TEMPLATE";
        if (fmt.kind == hearth::ChatFormat::Kind::Go) {
            EXPECT_EQ(hearth::template_kind(fmt.source), fmt.kind) << h.attack;
        }
        const Outcome o = validate(fmt);
        EXPECT_FALSE(o.status.is_ok()) << h.attack << ": accepted";
        EXPECT_TRUE(o.status.message().starts_with("template ")) << h.attack << ": " << o.status.message();
        EXPECT_LT(o.seconds, kMaxSeconds) << h.attack << ": " << o.status.message();
        EXPECT_LT(o.peak_heap, kMaxHeapBytes) << h.attack << ": " << o.status.message();
        worst_s = std::max(worst_s, o.seconds);
        worst_heap = std::max(worst_heap, o.peak_heap);
    }
    std::printf("worst of %zu hostile templates: %.3f s, %.1f MiB of heap at the peak\n", std::size(kHostile), worst_s,
                double(worst_heap) / (1 << 20));
}

TEST(HostileTemplates, TheBudgetErrorNamesTheLimits) {
    const Outcome o = validate(kHostile[0].source);
    EXPECT_TRUE(o.status.message().starts_with("template exceeds the rendering budget (5000000 steps / 1 s): "))
        << o.status.message();
    // A model's own template is held to the budget too.
    EXPECT_TRUE(validate(kHostile[0].source, /*is_model_template=*/true)
                    .status.message()
                    .starts_with("template exceeds the rendering budget"));
}

TEST(HostileTemplates, BrokenTemplatesSayWhy) {
    const Outcome syntax = validate("{% for %}");
    EXPECT_TRUE(syntax.status.message().starts_with("template does not render a sample conversation: "))
        << syntax.status.message();
    EXPECT_NE(syntax.status.message().find("TemplateSyntaxError"), std::string::npos) << syntax.status.message();
    // A model's own template that fails for other reasons came with the weights: only the budget refuses it.
    EXPECT_TRUE(validate("{{ raise_exception('no') }}", /*is_model_template=*/true).status.is_ok());
    EXPECT_FALSE(validate("{{ raise_exception('no') }}").status.is_ok());
    // A template that refuses system messages (as Gemma 2's) is tried without one.
    EXPECT_TRUE(validate("{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not "
                         "supported') }}{% endif %}{{ m.content }}{% endfor %}")
                    .status.is_ok());
}

// The templates of real models (the fixture set, 70+ of them) pass, as a TEMPLATE and as a model's own.
TEST(HostileTemplates, RealTemplatesPass) {
    const std::filesystem::path dir = hearth::test::fixtures_dir() + "/templates";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << hearth::test::missing_fixture_message(dir.string());
    // Templates that need what a plain conversation does not give (firefunction: `functions`), or a dict
    // with non-string keys (ByteDance Seed-OSS), which hearth's interpreter does not have.
    const std::string known_failures[] = {"fireworks-ai-llama-3-firefunction-v2.jinja", "ByteDance-Seed-OSS.jinja"};
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".jinja") continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        const std::string name = e.path().filename().string();
        const bool known =
            std::find(std::begin(known_failures), std::end(known_failures), name) != std::end(known_failures);
        EXPECT_TRUE(validate(text.str(), /*is_model_template=*/true).status.is_ok()) << name;
        const Outcome as_template = validate(text.str());
        EXPECT_EQ(as_template.status.is_ok(), !known) << name << ": " << as_template.status.message();
        EXPECT_LT(as_template.seconds, kMaxSeconds) << name;
        ++n;
    }
    EXPECT_GE(n, 60);
}

} // namespace
