// libFuzzer target for the GBNF parser and the matcher: grammar text, optionally followed by "\0" and bytes
// to feed. Every input must end in a grammar or an error (no crash, hang or leak); a grammar is then run a
// few steps, and at each step the trie-walk mask must equal the reference mask (every token tried).
#include "grammar/gbnf.h"
#include "grammar/matcher.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

const hearth::grammar::VocabTrie& vocab() {
    static const hearth::grammar::VocabTrie v = hearth::grammar::VocabTrie::build({"",
                                                                                   "a",
                                                                                   "b",
                                                                                   "ab",
                                                                                   "ba",
                                                                                   "(",
                                                                                   ")",
                                                                                   "\"",
                                                                                   " ",
                                                                                   "\n",
                                                                                   "{",
                                                                                   "}",
                                                                                   "[",
                                                                                   "]",
                                                                                   ",",
                                                                                   ":",
                                                                                   "0",
                                                                                   "12",
                                                                                   "-",
                                                                                   "x",
                                                                                   "\xC3",
                                                                                   "\xA9",
                                                                                   "\xC3\xA9",
                                                                                   "\xE4\xB8",
                                                                                   "\xAD",
                                                                                   "\xE4\xB8\xAD",
                                                                                   "\xF0\x9F\x98\x80",
                                                                                   "\\",
                                                                                   "true",
                                                                                   "null"});
    return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view text = input.substr(0, input.find('\0'));
    std::string_view feed = text.size() < input.size() ? input.substr(text.size() + 1) : std::string_view("ab(");
    hearth::grammar::GbnfLimits gl;
    gl.max_input_bytes = 1 << 16;
    gl.max_rules = 4096;
    gl.max_elems = 1 << 16;
    gl.max_nesting = 32;
    gl.max_repeat = 100;
    auto g = hearth::grammar::parse_gbnf(text, gl);
    if (!g) {
        if (g.message().empty()) __builtin_trap(); // every error must say something
        return 0;
    }
    hearth::grammar::MatcherLimits ml;
    ml.max_stacks = 256;
    ml.max_closure_steps = 1 << 14;
    ml.max_states = 1 << 14; // no compaction during a run: the reference reuses saved states
    ml.max_nodes = 1 << 18;
    ml.max_mask_cache_bytes = 1 << 20;
    auto m = hearth::grammar::Matcher::create(std::move(g.value()), ml);
    if (!m) return 0;
    hearth::grammar::TokenMask fast, slow;
    for (size_t i = 0; i < feed.size() && i < 24; i++) {
        hearth::Status a = m->fill_mask(vocab(), fast);
        hearth::Status b = m->fill_mask_reference(vocab(), slow);
        if (!a.is_ok() || !b.is_ok()) return 0; // a limit: fine, as long as it is an error
        if (!(fast == slow)) __builtin_trap();
        hearth::grammar::MatchState before = m->state();
        if (!m->accept_bytes(feed.substr(i, 1)).is_ok() && !(m->state().id == before.id)) __builtin_trap();
        (void)m->can_end();
    }
    return 0;
}
