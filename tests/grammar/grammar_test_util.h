// tests/grammar/grammar_test_util.h: helpers shared by the grammar tests and the sample tool: parse or fail
// the test, whole-text acceptance, and random sentences of a grammar (a random walk over the code points the
// matcher allows, finished by the shortest completion once a soft length is reached).
#pragma once

#include "base/utf8.h"
#include "grammar/gbnf.h"
#include "grammar/matcher.h"

#include <deque>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace hearth::grammar::test {

inline MatcherLimits roomy_limits() {
    MatcherLimits l;
    l.max_states = 1 << 20; // tests keep MatchStates across many operations: never compact
    l.max_nodes = 1 << 24;
    return l;
}

inline Matcher matcher_for(const std::string& gbnf) {
    auto g = parse_gbnf(gbnf);
    if (!g) throw std::runtime_error("grammar does not parse: " + g.message() + "\n" + gbnf);
    auto m = Matcher::create(std::move(g.value()), roomy_limits());
    if (!m) throw std::runtime_error("matcher: " + m.message());
    return std::move(m.value());
}

// The whole text is a sentence of the grammar.
inline bool accepts(Matcher& m, std::string_view text) {
    m.reset();
    return m.accept_bytes(text).is_ok() && m.can_end();
}

// Code points to try from each allowed range: its ends, a middle one, and all of its ASCII part.
inline std::vector<uint32_t> representatives(const std::vector<CharRange>& ranges) {
    std::vector<uint32_t> out;
    for (CharRange r : ranges) {
        for (uint32_t c = r.lo; c <= r.hi && c < 128; c++)
            out.push_back(c);
        if (r.hi >= 128) {
            uint32_t lo = std::max<uint32_t>(r.lo, 128);
            out.push_back(lo);
            out.push_back(lo + (r.hi - lo) / 2);
            out.push_back(r.hi);
        }
    }
    return out;
}

// The shortest text (in code points, over representatives) that completes the grammar from the matcher's
// state, by breadth-first search over states; nullopt if none within max_states. Leaves the state as it was.
inline std::optional<std::string> shortest_completion(Matcher& m, size_t max_states = 20000) {
    MatchState start = m.state();
    if (m.can_end()) return std::string();
    struct Entry {
        MatchState st;
        size_t prev;
        uint32_t cp;
    };
    std::vector<Entry> seen{{start, SIZE_MAX, 0}};
    std::unordered_map<uint32_t, bool> visited{{start.id, true}};
    std::deque<size_t> queue{0};
    std::optional<std::string> found;
    while (!queue.empty() && seen.size() < max_states && !found) {
        size_t at = queue.front();
        queue.pop_front();
        (void)m.set_state(seen[at].st);
        for (uint32_t cp : representatives(m.next_chars())) {
            (void)m.set_state(seen[at].st);
            std::string b;
            append_utf8(b, cp);
            if (!m.accept_bytes(b).is_ok()) continue;
            if (!m.state().partial.idle() || visited.count(m.state().id)) continue;
            visited[m.state().id] = true;
            seen.push_back({m.state(), at, cp});
            if (m.can_end()) {
                std::vector<uint32_t> cps;
                for (size_t i = seen.size() - 1; seen[i].prev != SIZE_MAX; i = seen[i].prev)
                    cps.push_back(seen[i].cp);
                std::string s;
                for (auto it = cps.rbegin(); it != cps.rend(); ++it)
                    append_utf8(s, *it);
                found = s;
                break;
            }
            queue.push_back(seen.size() - 1);
        }
    }
    (void)m.set_state(start);
    return found;
}

// A random sentence: random allowed code points (mostly printable ASCII where allowed) until the text may
// end (then stop with probability p_end per step) or reaches soft_len code points (then the shortest
// completion). nullopt if the walk gets stuck.
inline std::optional<std::string> random_sentence(Matcher& m, std::mt19937_64& rng, size_t soft_len = 200,
                                                  double p_end = 0.15) {
    m.reset();
    std::string out;
    for (size_t n = 0;; n++) {
        if (m.must_end()) return out;
        if (m.can_end() && std::uniform_real_distribution<double>(0, 1)(rng) < p_end) return out;
        if (n >= soft_len) {
            auto tail = shortest_completion(m);
            if (!tail || !m.accept_bytes(*tail).is_ok()) return std::nullopt;
            return out + *tail;
        }
        std::vector<CharRange> ranges = m.next_chars();
        if (ranges.empty()) return std::nullopt;
        CharRange r = ranges[std::uniform_int_distribution<size_t>(0, ranges.size() - 1)(rng)];
        uint32_t cp;
        bool has_printable = r.lo <= 126 && r.hi >= 32;
        if (has_printable && std::uniform_int_distribution<int>(0, 9)(rng) < 8) {
            cp = std::uniform_int_distribution<uint32_t>(std::max<uint32_t>(r.lo, 32),
                                                         std::min<uint32_t>(r.hi, 126))(rng);
        } else {
            cp = std::uniform_int_distribution<uint32_t>(r.lo, r.hi)(rng);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = r.lo; // never a surrogate (ranges may span them)
        }
        std::string b;
        append_utf8(b, cp);
        if (!m.accept_bytes(b).is_ok()) return std::nullopt;
        out += b;
    }
}

} // namespace hearth::grammar::test
