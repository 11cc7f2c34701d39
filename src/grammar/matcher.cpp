// grammar/matcher.cpp: the pushdown automaton with interned stacks and states, and its memoized transitions
// (matcher.h). The token-mask walk and the mask cache are in matcher_mask.cpp.
#include "grammar/matcher.h"

#include "base/check.h"

#include <algorithm>

namespace hearth::grammar {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDull;
}

} // namespace

void Matcher::StampSet::clear() {
    size = 0;
    if (++gen == 0) { // the stamps wrapped: really clear
        std::fill(stamps.begin(), stamps.end(), 0);
        gen = 1;
    }
}

bool Matcher::StampSet::insert(uint64_t key) {
    if ((size + 1) * 2 > keys.size()) { // grow to keep the load under one half
        std::vector<uint64_t> old_keys;
        std::vector<uint32_t> old_stamps;
        old_keys.swap(keys);
        old_stamps.swap(stamps);
        size_t cap = std::max<size_t>(64, old_keys.size() * 2);
        keys.assign(cap, 0);
        stamps.assign(cap, 0);
        size = 0;
        for (size_t i = 0; i < old_keys.size(); i++) {
            if (old_stamps[i] == gen) insert(old_keys[i]);
        }
    }
    size_t mask = keys.size() - 1;
    for (size_t i = mix(0, key) & mask;; i = (i + 1) & mask) {
        if (stamps[i] != gen) {
            stamps[i] = gen;
            keys[i] = key;
            size++;
            return true;
        }
        if (keys[i] == key) return false;
    }
}

Status Matcher::rejected(std::string_view what) {
    std::string shown;
    for (char c : what.substr(0, 40)) {
        uint8_t u = uint8_t(c);
        if (u == '"' || u == '\\') {
            shown += '\\';
            shown += c;
        } else if (u < 0x20 || u >= 0x7F) { // bytes, not characters: the text may end mid-character
            static const char* hex = "0123456789abcdef";
            shown += "\\x";
            shown += hex[u >> 4];
            shown += hex[u & 15];
        } else {
            shown += c;
        }
    }
    if (what.size() > 40) shown += "...";
    return bad_field("grammar", "\"" + shown + "\" is not allowed by the grammar here");
}

Status Matcher::too_large(std::string msg) {
    return Status::error(Code::TooLarge, "grammar: " + msg);
}

Result<Matcher> Matcher::create(Grammar grammar, const MatcherLimits& limits) {
    Matcher m;
    m.g_ = std::move(grammar);
    m.lim_ = limits;
    // Code points >= 128 split into intervals on which every class agrees.
    std::vector<uint32_t> starts{128};
    for (const CharClass& c : m.g_.classes) {
        for (CharRange r : c.ranges) {
            if (r.lo > 128) starts.push_back(r.lo);
            if (r.hi >= 128 && r.hi < kMaxCodePoint) starts.push_back(r.hi + 1);
        }
    }
    std::sort(starts.begin(), starts.end());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    m.wide_starts_ = std::move(starts);
    // A dense table covers the intervals too when there are few (a JSON grammar has a handful); else the
    // wide transitions go to a hash map.
    m.width_ = 128 + (m.wide_starts_.size() <= 256 ? uint32_t(m.wide_starts_.size()) : 0);
    HEARTH_TRY(m.init());
    return m;
}

Status Matcher::init() {
    visited_.clear();
    tops_.clear();
    accepting_ = false;
    steps_ = 0;
    for (uint32_t alt : g_.rules[g_.root].alts)
        HEARTH_TRY(close(alt, kNil));
    auto s = finish_state();
    if (!s) return s.status();
    if (*s == kDead) return bad_field("grammar", "the grammar accepts nothing");
    start_state_ = *s;
    cur_ = {start_state_, epoch_, {}};
    return Status::ok();
}

Status Matcher::set_state(const MatchState& s) {
    if (s.epoch != epoch_ || s.id >= states_.size()) {
        return Status::error(Code::Internal, "grammar: a matcher state from before the caches were rebuilt");
    }
    cur_ = s;
    return Status::ok();
}

void Matcher::reset() {
    cur_ = {start_state_, epoch_, {}};
}

uint32_t Matcher::intern_node(uint32_t pos, uint32_t parent) {
    auto [it, inserted] = node_ids_.emplace(uint64_t(pos) << 32 | parent, uint32_t(nodes_.size()));
    if (inserted) nodes_.push_back({pos, parent});
    return it->second;
}

// Expands the stack (pos, parent) until every top is a character class, adding the tops to tops_ (and
// setting accepting_ when the whole grammar can end). Shares visited_ with the other expansions of the same
// step, so a stack reached twice is expanded once.
Status Matcher::close(uint32_t pos, uint32_t parent) {
    work_.clear();
    work_.push_back({pos, parent});
    while (!work_.empty()) {
        auto [p, par] = work_.back();
        work_.pop_back();
        if (!visited_.insert(uint64_t(p) << 32 | par)) continue;
        if (++steps_ > lim_.max_closure_steps) {
            return too_large("more than " + std::to_string(lim_.max_closure_steps) +
                             " expansion steps for one character: the grammar is too ambiguous");
        }
        const Elem e = g_.elems[p];
        if (e.kind == ElemKind::End) {
            if (par == kNil) {
                accepting_ = true;
            } else {
                work_.push_back({nodes_[par].pos, nodes_[par].parent});
            }
        } else if (e.kind == ElemKind::Chars) {
            tops_.push_back(intern_node(p, par));
            if (tops_.size() > lim_.max_stacks) {
                return too_large("more than " + std::to_string(lim_.max_stacks) +
                                 " parse stacks at once: the grammar is too ambiguous");
            }
        } else {
            // A reference in tail position continues where its caller continues: no frame.
            uint32_t ret = g_.elems[p + 1].kind == ElemKind::End ? par : intern_node(p + 1, par);
            const std::vector<uint32_t>& alts = g_.rules[e.arg].alts;
            for (auto it = alts.rbegin(); it != alts.rend(); ++it)
                work_.push_back({*it, ret});
        }
        if (nodes_.size() > lim_.max_nodes) {
            return too_large("more than " + std::to_string(lim_.max_nodes) + " parse stack nodes");
        }
    }
    return Status::ok();
}

// Interns the state made of tops_ and accepting_.
Result<uint32_t> Matcher::finish_state() {
    if (tops_.empty() && !accepting_) return kDead;
    std::sort(tops_.begin(), tops_.end());
    uint64_t h = mix(accepting_ ? 1 : 2, tops_.size());
    for (uint32_t t : tops_)
        h = mix(h, t);
    auto head = state_heads_.find(h);
    uint32_t first = head == state_heads_.end() ? kNil : head->second;
    for (uint32_t s = first; s != kNil; s = states_[s].next_same_hash) {
        const State& st = states_[s];
        if (st.accepting == accepting_ && st.n_stacks == tops_.size() &&
            std::equal(tops_.begin(), tops_.end(), stack_pool_.begin() + st.stacks_begin)) {
            return s;
        }
    }
    if (states_.size() >= lim_.max_states) {
        return too_large("more than " + std::to_string(lim_.max_states) + " distinct parse states");
    }
    uint32_t id = uint32_t(states_.size());
    states_.push_back({uint32_t(stack_pool_.size()), uint32_t(tops_.size()), kNil, first, accepting_});
    stack_pool_.insert(stack_pool_.end(), tops_.begin(), tops_.end());
    state_heads_[h] = id;
    return id;
}

// The state after `cp`, computed from the stacks (no memo).
Result<uint32_t> Matcher::step(uint32_t state, uint32_t cp) {
    visited_.clear();
    tops_.clear();
    accepting_ = false;
    steps_ = 0;
    const State st = states_[state];
    for (uint32_t i = 0; i < st.n_stacks; i++) {
        const Node n = nodes_[stack_pool_[st.stacks_begin + i]];
        if (g_.classes[g_.elems[n.pos].arg].contains(cp)) HEARTH_TRY(close(n.pos + 1, n.parent));
    }
    return finish_state();
}

uint32_t Matcher::symbol_of(uint32_t cp) const {
    if (cp < 128) return cp;
    auto it = std::upper_bound(wide_starts_.begin(), wide_starts_.end(), cp);
    return 128 + uint32_t(it - wide_starts_.begin() - 1);
}

// The state after `cp`, memoized per (state, symbol).
Result<uint32_t> Matcher::next(uint32_t state, uint32_t cp) {
    if (states_[state].n_stacks == 0) return kDead;
    uint32_t sym = symbol_of(cp);
    uint32_t* slot = nullptr;
    if (sym < width_) {
        if (states_[state].table == kNil) {
            states_[state].table = uint32_t(table_pool_.size());
            table_pool_.resize(table_pool_.size() + width_, kUnknown);
        }
        slot = &table_pool_[states_[state].table + sym];
    } else {
        auto [it, inserted] = wide_next_.emplace(uint64_t(state) << 32 | sym, kUnknown);
        slot = &it->second;
    }
    if (*slot != kUnknown) return *slot;
    auto r = step(state, cp);
    if (!r) return r;
    // step() may have grown states_ but not the pools the slot points into.
    if (sym < width_) {
        table_pool_[states_[state].table + sym] = *r;
    } else {
        wide_next_[uint64_t(state) << 32 | sym] = *r;
    }
    return r;
}

bool Matcher::accepts_range(uint32_t state, CharRange r) const {
    const State& st = states_[state];
    for (uint32_t i = 0; i < st.n_stacks; i++) {
        const Node& n = nodes_[stack_pool_[st.stacks_begin + i]];
        if (g_.classes[g_.elems[n.pos].arg].intersects(r.lo, r.hi)) return true;
    }
    return false;
}

// memo = false steps the automaton without the transition memo (the reference mask uses it).
Result<bool> Matcher::try_advance(MatchState& st, std::string_view bytes, bool memo) {
    MatchState t = st;
    for (char c : bytes) {
        uint32_t cp = 0;
        Utf8Step k = t.partial.feed(uint8_t(c), cp);
        if (k == Utf8Step::Invalid) return false;
        if (k == Utf8Step::More) continue;
        auto n = memo ? next(t.id, cp) : states_[t.id].n_stacks == 0 ? Result<uint32_t>(kDead) : step(t.id, cp);
        if (!n) return n.status();
        if (*n == kDead) return false;
        t.id = *n;
    }
    if (!t.partial.idle() && !accepts_range(t.id, t.partial.pending_range())) return false;
    st = t;
    return true;
}

void Matcher::begin_op() {
    maybe_compact();
}

// Rebuilds the caches around the current state when they pass half their limits.
void Matcher::maybe_compact() {
    if (states_.size() <= lim_.max_states / 2 && nodes_.size() <= lim_.max_nodes / 2 &&
        wide_next_.size() <= lim_.max_states * 4) {
        return;
    }
    std::vector<std::vector<uint32_t>> paths; // current stacks, top first
    const State cur = states_[cur_.id];
    for (uint32_t i = 0; i < cur.n_stacks; i++) {
        std::vector<uint32_t> path;
        for (uint32_t n = stack_pool_[cur.stacks_begin + i]; n != kNil; n = nodes_[n].parent)
            path.push_back(nodes_[n].pos);
        paths.push_back(std::move(path));
    }
    Utf8Decoder partial = cur_.partial;
    nodes_.clear();
    node_ids_.clear();
    states_.clear();
    stack_pool_.clear();
    state_heads_.clear();
    table_pool_.clear();
    wide_next_.clear();
    mask_index_.clear();
    masks_.clear();
    mask_bytes_ = 0;
    epoch_++;
    Status st = init(); // the start state fitted the limits before, so it does again
    HEARTH_CHECK(st.is_ok(), "rebuilding the grammar's start state");
    tops_.clear();
    for (const std::vector<uint32_t>& path : paths) {
        uint32_t parent = kNil;
        for (auto it = path.rbegin(); it != path.rend(); ++it)
            parent = intern_node(*it, parent);
        tops_.push_back(parent);
    }
    accepting_ = cur.accepting;
    auto id = finish_state();
    HEARTH_CHECK(id.is_ok() && *id != kDead, "rebuilding the current grammar state");
    cur_ = {*id, epoch_, partial};
}

Status Matcher::accept_bytes(std::string_view bytes) {
    begin_op();
    auto r = try_advance(cur_, bytes);
    if (!r) return r.status();
    return *r ? Status::ok() : rejected(bytes);
}

Status Matcher::accept_token(const VocabTrie& vocab, int32_t id) {
    if (id < 0 || id >= vocab.n_vocab()) {
        return bad_field("grammar", "token " + std::to_string(id) + " is outside the vocabulary");
    }
    if (vocab.token(id).empty()) {
        return bad_field("grammar", "token " + std::to_string(id) + " is a special token, never allowed by a grammar");
    }
    return accept_bytes(vocab.token(id));
}

bool Matcher::can_end() const {
    return cur_.partial.idle() && states_[cur_.id].accepting;
}

bool Matcher::must_end() const {
    return can_end() && states_[cur_.id].n_stacks == 0;
}

std::vector<CharRange> Matcher::next_chars() const {
    CharClass all;
    const State& st = states_[cur_.id];
    for (uint32_t i = 0; i < st.n_stacks; i++) {
        const Node& n = nodes_[stack_pool_[st.stacks_begin + i]];
        for (CharRange r : g_.classes[g_.elems[n.pos].arg].ranges)
            all.add_range(r.lo, r.hi);
    }
    all.normalize();
    if (cur_.partial.idle()) return all.ranges;
    CharRange p = cur_.partial.pending_range();
    std::vector<CharRange> out;
    for (CharRange r : all.ranges) {
        if (r.hi >= p.lo && r.lo <= p.hi) out.push_back({std::max(r.lo, p.lo), std::min(r.hi, p.hi)});
    }
    return out;
}

} // namespace hearth::grammar
