// grammar/char_class.cpp: CharClass normalization and queries (grammar.h).
#include "grammar/grammar.h"

#include <algorithm>

namespace hearth::grammar {

void CharClass::normalize() {
    std::vector<CharRange> in;
    in.reserve(ranges.size());
    for (CharRange r : ranges) {
        if (r.lo > kMaxCodePoint || r.lo > r.hi) continue;
        in.push_back({r.lo, std::min(r.hi, kMaxCodePoint)});
    }
    std::sort(in.begin(), in.end(), [](CharRange a, CharRange b) { return a.lo < b.lo; });
    ranges.clear();
    for (CharRange r : in) {
        if (!ranges.empty() && r.lo <= ranges.back().hi + 1) {
            ranges.back().hi = std::max(ranges.back().hi, r.hi);
        } else {
            ranges.push_back(r);
        }
    }
    ascii = {};
    for (CharRange r : ranges) {
        for (uint32_t c = r.lo; c <= std::min(r.hi, 127u); c++)
            ascii[c >> 6] |= uint64_t(1) << (c & 63);
    }
}

void CharClass::negate() {
    std::vector<CharRange> out;
    uint32_t next = 0;
    for (CharRange r : ranges) {
        if (r.lo > next) out.push_back({next, r.lo - 1});
        next = r.hi + 1;
    }
    if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
    ranges = std::move(out);
    normalize();
}

bool CharClass::contains_slow(uint32_t cp) const {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), cp, [](uint32_t c, CharRange r) { return c < r.lo; });
    return it != ranges.begin() && cp <= std::prev(it)->hi;
}

bool CharClass::intersects(uint32_t lo, uint32_t hi) const {
    // The first range that ends at or after lo; it intersects iff it starts at or before hi.
    auto it = std::lower_bound(ranges.begin(), ranges.end(), lo, [](CharRange r, uint32_t c) { return r.hi < c; });
    return it != ranges.end() && it->lo <= hi;
}

} // namespace hearth::grammar
