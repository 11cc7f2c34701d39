// grammar/grammar.h: the compiled form of a context-free grammar over Unicode code points.
//
// This is what the GBNF parser (gbnf.h) produces and the matcher (matcher.h) runs. It is plain data, immutable
// once built, cheap to move and safe to share between threads.
//
// Layout: every alternative of every rule is a run of elements in one flat array `elems`, closed by an End
// element. An element is a character class (match one code point from a set) or a reference to a rule. There
// are no groups or repetitions here: the parser turned `( )`, `*`, `+`, `?` and `{m,n}` into generated rules
// (named after the rule they came from: `value-3`), so a position in `elems` is all the matcher needs to know
// where it is in an alternative.
//
// Invariants (the parser guarantees them; the matcher relies on them):
//   - every Ref names an existing rule, every Chars an existing class, every alternative ends with End;
//   - `root` exists and can derive at least one finite string;
//   - no rule can reach itself without consuming a code point (no left recursion, direct or indirect),
//     so expanding references always terminates;
//   - character classes are normalized: sorted, non-overlapping, non-adjacent ranges within [0, 0x10FFFF]
//     (a negated class is stored as its complement), with the ASCII part mirrored in a bitmap.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hearth::grammar {

inline constexpr uint32_t kMaxCodePoint = 0x10FFFF;

struct CharRange {
    uint32_t lo = 0; // inclusive
    uint32_t hi = 0; // inclusive
    bool operator==(const CharRange&) const = default;
};

// A set of code points. Build with add_range()/negate(), then normalize() before use.
struct CharClass {
    std::vector<CharRange> ranges;      // sorted, disjoint, non-adjacent after normalize()
    std::array<uint64_t, 2> ascii = {}; // bit c set iff c < 128 is in the set (valid after normalize())

    void add_range(uint32_t lo, uint32_t hi) { ranges.push_back({lo, hi}); }
    void normalize(); // sort, merge, clamp to [0, kMaxCodePoint], fill the ASCII bitmap
    void negate();    // complement within [0, kMaxCodePoint]; call on a normalized class
    bool contains(uint32_t cp) const {
        if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1;
        return contains_slow(cp);
    }
    bool intersects(uint32_t lo, uint32_t hi) const; // any code point of [lo, hi] in the set
    bool empty() const { return ranges.empty(); }

private:
    bool contains_slow(uint32_t cp) const;
};

enum class ElemKind : uint8_t {
    End,   // end of an alternative
    Chars, // one code point from classes[arg]
    Ref,   // the rule rules[arg]
};

struct Elem {
    ElemKind kind = ElemKind::End;
    uint32_t arg = 0;
};

struct Rule {
    std::string name;           // as written, or "<origin>-<n>" for generated rules
    std::vector<uint32_t> alts; // start position of each alternative in Grammar::elems
};

struct Grammar {
    std::vector<Elem> elems;        // all alternatives, each closed by End
    std::vector<CharClass> classes; // referenced by Chars elements
    std::vector<Rule> rules;
    uint32_t root = 0; // index into rules
};

} // namespace hearth::grammar
