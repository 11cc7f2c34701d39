// grammar/matcher_mask.cpp: the vocabulary trie, token masks by trie walk, the mask cache and the reference
// mask (token_mask.h, matcher.h).
#include "grammar/matcher.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace hearth::grammar {

VocabTrie VocabTrie::build(std::vector<std::string> token_bytes) {
    VocabTrie t;
    t.bytes_ = std::move(token_bytes);
    std::vector<int32_t> order;
    for (int32_t id = 0; id < int32_t(t.bytes_.size()); id++) {
        if (!t.bytes_[size_t(id)].empty()) order.push_back(id);
    }
    // Sorted byte strings give the trie in preorder: each token shares with the previous one the path of
    // their common prefix and adds nodes for the rest. A token ends at the last node of its path, which is
    // never before the previous token's (a proper prefix sorts first), so appending ids as we go groups them
    // by node, and a node's ids are [its tok_begin, the next node's tok_begin).
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return t.bytes_[size_t(a)] < t.bytes_[size_t(b)]; });
    t.nodes_.push_back({});        // root
    std::vector<uint32_t> path{0}; // path[d] = node at depth d on the current branch
    std::string_view prev;
    for (int32_t id : order) {
        std::string_view cur = t.bytes_[size_t(id)];
        size_t common = 0;
        while (common < prev.size() && common < cur.size() && prev[common] == cur[common])
            common++;
        while (path.size() > common + 1) { // close the nodes below the common prefix
            t.nodes_[path.back()].subtree_end = uint32_t(t.nodes_.size());
            path.pop_back();
        }
        for (size_t d = common; d < cur.size(); d++) {
            Node n;
            n.depth = uint32_t(d + 1);
            n.byte = uint8_t(cur[d]);
            n.tok_begin = uint32_t(t.ids_.size());
            path.push_back(uint32_t(t.nodes_.size()));
            t.nodes_.push_back(n);
        }
        t.ids_.push_back(id);
        t.max_depth_ = std::max(t.max_depth_, cur.size());
        prev = cur;
    }
    while (!path.empty()) {
        t.nodes_[path.back()].subtree_end = uint32_t(t.nodes_.size());
        path.pop_back();
    }
    Node sentinel;
    sentinel.tok_begin = uint32_t(t.ids_.size());
    t.nodes_.push_back(sentinel);
    return t;
}

size_t TokenMask::count() const {
    size_t n = 0;
    for (uint64_t w : bits)
        n += size_t(std::popcount(w));
    return n;
}

void apply_token_mask(const TokenMask& mask, std::span<float> logits, std::span<const int32_t> keep) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    for (size_t w = 0; w * 64 < logits.size(); w++) { // 64 tokens at a time
        uint64_t allowed = w < mask.bits.size() ? mask.bits[w] : 0;
        for (int32_t id : keep) // a kept id counts as allowed: its logit stays as it is
            if (id >= 0 && size_t(id) >> 6 == w) allowed |= uint64_t(1) << (id & 63);
        if (allowed == ~uint64_t(0)) continue;
        size_t end = std::min(logits.size(), w * 64 + 64);
        for (size_t i = w * 64; i < end; i++)
            if (!((allowed >> (i & 63)) & 1)) logits[i] = kNegInf;
    }
}

Status Matcher::walk_trie(const VocabTrie& vocab, TokenMask& out) {
    out.reset(vocab.n_vocab());
    std::span<const VocabTrie::Node> nodes = vocab.nodes();
    walk_.resize(vocab.max_depth() + 1);
    walk_[0] = {cur_.id, cur_.partial};
    uint32_t i = 1;
    const uint32_t n = uint32_t(nodes.size());
    while (i < n) {
        const VocabTrie::Node& nd = nodes[i];
        WalkFrame f = walk_[nd.depth - 1];
        uint32_t cp = 0;
        Utf8Step k = f.partial.feed(nd.byte, cp);
        bool alive = false;
        if (k == Utf8Step::Done) {
            const State& s = states_[f.id];
            uint32_t to = kDead;
            if (s.n_stacks > 0) {
                uint32_t sym = cp < 128 ? cp : symbol_of(cp);
                to = (sym < width_ && s.table != kNil) ? table_pool_[s.table + sym] : kUnknown;
                if (to == kUnknown) {
                    auto r = next(f.id, cp);
                    if (!r) return r.status();
                    to = *r;
                }
            }
            f.id = to;
            alive = to != kDead;
        } else if (k == Utf8Step::More) {
            alive = accepts_range(f.id, f.partial.pending_range());
        }
        if (!alive) {
            i = nd.subtree_end;
            continue;
        }
        walk_[nd.depth] = f;
        for (int32_t id : vocab.tokens_at(i))
            out.allow(id);
        i++;
    }
    return Status::ok();
}

Status Matcher::fill_mask(const VocabTrie& vocab, TokenMask& out) {
    begin_op();
    if (mask_vocab_ != &vocab) {
        mask_index_.clear();
        masks_.clear();
        mask_bytes_ = 0;
        mask_vocab_ = &vocab;
    }
    std::pair<uint32_t, uint64_t> key{cur_.id, cur_.partial.key()};
    if (auto it = mask_index_.find(key); it != mask_index_.end()) {
        out = masks_[it->second];
        return Status::ok();
    }
    HEARTH_TRY(walk_trie(vocab, out));
    size_t bytes = out.bits.size() * sizeof(uint64_t);
    if (mask_bytes_ + bytes > lim_.max_mask_cache_bytes) { // full: start over (states recur locally)
        mask_index_.clear();
        masks_.clear();
        mask_bytes_ = 0;
    }
    if (bytes <= lim_.max_mask_cache_bytes) {
        mask_index_.emplace(key, masks_.size());
        masks_.push_back(out);
        mask_bytes_ += bytes;
    }
    return Status::ok();
}

Status Matcher::fill_mask_reference(const VocabTrie& vocab, TokenMask& out) {
    begin_op();
    out.reset(vocab.n_vocab());
    for (int32_t id = 0; id < vocab.n_vocab(); id++) {
        if (vocab.token(id).empty()) continue;
        MatchState t = cur_;
        auto ok = try_advance(t, vocab.token(id), /*memo=*/false);
        if (!ok) return ok.status();
        if (*ok) out.allow(id);
    }
    return Status::ok();
}

} // namespace hearth::grammar
