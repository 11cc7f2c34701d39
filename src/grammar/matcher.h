// grammar/matcher.h: incremental recognition of a Grammar (grammar.h) and the token masks for constrained
// decoding.
//
// Model: a pushdown automaton as in llama.cpp's grammar sampler. A parse stack is a list of element positions:
// the top is the character class to match next, the frames below it are where to continue when the rules
// above finish. A state is the set of stacks the text so far allows; a code point advances every stack whose
// top matches and expands rule references until each top is a character class again (references in tail
// position push no frame, so `x*` and other right recursion run in constant stack depth).
//
// What this adds, so that masks cost little per token:
//   - Stacks are interned: a stack is a node (position, parent node) in a tree shared by all stacks, so a
//     state is a short sorted list of node ids, compared and hashed in O(stacks).
//   - States are interned too, and transitions between them are memoized per code point class, which makes
//     the automaton a lazily built DFA: inside a JSON string, `"ab` and `"abc` are the same state.
//   - fill_mask() walks the vocabulary's byte trie (token_mask.h) from the current state, one memoized
//     transition per trie node, skipping every subtree the grammar rejects; masks are cached per state, so
//     a state seen before (the same place in a repeated structure) costs one copy.
//
// Text is UTF-8; a token may end inside a code point, whose bytes wait in the state (MatchState::partial)
// for the next token. Bytes are accepted iff every completed code point advances the automaton and the
// unfinished one, if any, can still become a code point the grammar accepts next. Ill-formed UTF-8
// (overlong forms, surrogates, stray continuation bytes) is never accepted.
//
// Limits: an ambiguous grammar can make the number of stacks grow exponentially with the text; more than
// MatcherLimits::max_stacks in one state, or more work than max_closure_steps for one code point, is an
// error (Code::TooLarge), as is a single operation creating more than max_states states. Caches are bounded:
// when they pass half their limits between operations the matcher rebuilds them around the current state
// (a compaction); MatchStates saved before it are then refused by set_state().
//
// Errors: text the grammar does not allow is Code::BadField (field "grammar"); the limits above are
// Code::TooLarge. A failed operation leaves the state as it was.
//
// A Matcher serves one sequence from one thread; it owns its Grammar and caches. The VocabTrie it reads is
// shared and immutable; use one vocabulary per matcher (the mask cache belongs to it). Matchers are movable
// and copyable (a copy has its own caches).
//
// In a decode loop (one VocabTrie per model, one Matcher per sequence):
//   VocabTrie vocab = VocabTrie::build(bytes);       // once per model: bytes[id] = token_to_piece(tok, id, false)
//   auto g = compile_json_schema(schema);            // per request (or parse_gbnf, json_object_gbnf()):
//                                                    // an error is a 400 naming g.status().field()
//   auto m = Matcher::create(std::move(g.value()));
//   per step: m->fill_mask(vocab, mask);
//             apply_token_mask(mask, logits, m->can_end() ? eog_ids : {}); // EOS only where the text may end
//             sample id; an end-of-generation id ends the text (finish "stop");
//             else m->accept_token(vocab, id), and if m->must_end() nothing can follow: finish "stop".
// fill_mask on a cached state and accept_token on a memoized transition allocate nothing (given a `mask`
// already sized for the vocabulary); a state's first visit builds caches.
#pragma once

#include "base/status.h"
#include "grammar/grammar.h"
#include "grammar/token_mask.h"
#include "grammar/utf8_decode.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hearth::grammar {

struct MatcherLimits {
    size_t max_stacks = 1024;           // parse stacks in one state
    size_t max_closure_steps = 1 << 16; // expansion work for one code point
    size_t max_states = 1 << 15;        // interned states (each may hold a table of 128 + a few transitions)
    size_t max_nodes = 1 << 20;         // interned stack nodes
    size_t max_mask_cache_bytes = 32 << 20;
};

// Where a matcher is: cheap to copy, meaningful only to the matcher that made it (and only until its next
// compaction).
struct MatchState {
    uint32_t id = 0;     // interned state
    uint32_t epoch = 0;  // compaction count when `id` was made
    Utf8Decoder partial; // bytes of an unfinished code point
};

class Matcher {
public:
    // Fails only if the grammar's start already exceeds the limits.
    static Result<Matcher> create(Grammar grammar, const MatcherLimits& limits = {});

    const Grammar& grammar() const { return g_; }
    const MatchState& state() const { return cur_; }
    // Returns to a state from state() (e.g. to try alternatives); refused after a compaction.
    Status set_state(const MatchState& s);
    void reset(); // back to the start of the grammar (caches kept)

    // Advances over `bytes`; on error the state is unchanged.
    Status accept_bytes(std::string_view bytes);
    // accept_bytes(vocab.token(id)); a token with no bytes (a special token) is refused.
    Status accept_token(const VocabTrie& vocab, int32_t id);

    // The text so far is a complete sentence of the grammar (end of generation may be allowed).
    bool can_end() const;
    // Complete, and nothing more can follow: generation should stop.
    bool must_end() const;
    // The code points the grammar accepts next (sorted, disjoint), for tests and diagnostics.
    std::vector<CharRange> next_chars() const;

    // The tokens allowed next, by walking the vocabulary trie (cached per state). out: reset to n_vocab.
    Status fill_mask(const VocabTrie& vocab, TokenMask& out);
    // The same by trying every token on a copy of the state, stepping the automaton without the transition
    // memo: slow and obviously right (tests use it against fill_mask).
    Status fill_mask_reference(const VocabTrie& vocab, TokenMask& out);

    size_t n_states() const { return states_.size(); } // for tests and benchmarks
    size_t n_cached_masks() const { return mask_index_.size(); }

private:
    Matcher() = default; // create() makes the start state

    static constexpr uint32_t kNil = 0xFFFFFFFF;     // no parent node / no table
    static constexpr uint32_t kDead = 0xFFFFFFFF;    // transition to "nothing accepted"
    static constexpr uint32_t kUnknown = 0xFFFFFFFE; // transition not computed yet

    struct Node {
        uint32_t pos;    // element position: a Chars at a stack's top, a return position below
        uint32_t parent; // node below, or kNil
    };
    struct State {
        uint32_t stacks_begin; // into stack_pool_: sorted top-node ids
        uint32_t n_stacks;
        uint32_t table = kNil; // into table_pool_: width_ memoized transitions, or kNil
        uint32_t next_same_hash = kNil;
        bool accepting;
    };
    // An open-addressing set of 64-bit keys, cleared in O(1) by bumping a generation stamp.
    struct StampSet {
        std::vector<uint64_t> keys;
        std::vector<uint32_t> stamps;
        uint32_t gen = 1;
        size_t size = 0;
        void clear();
        bool insert(uint64_t key); // true if it was not there
    };

    Grammar g_;
    MatcherLimits lim_;
    MatchState cur_;
    uint32_t start_state_ = 0;
    uint32_t epoch_ = 0;

    // Code points >= 128 fall in intervals within which every class of the grammar agrees.
    std::vector<uint32_t> wide_starts_; // sorted interval starts, wide_starts_[0] == 128
    uint32_t width_ = 0;                // transitions per table: 128 ASCII + one per interval

    std::vector<Node> nodes_;
    std::unordered_map<uint64_t, uint32_t> node_ids_; // (pos << 32 | parent) -> node
    std::vector<State> states_;
    std::vector<uint32_t> stack_pool_;
    std::unordered_map<uint64_t, uint32_t> state_heads_; // hash -> first state with that hash
    std::vector<uint32_t> table_pool_;
    std::unordered_map<uint64_t, uint32_t> wide_next_; // (state << 32 | symbol) -> state, when width_ == 128

    // Scratch for one step (kept to avoid allocating).
    std::vector<std::pair<uint32_t, uint32_t>> work_;
    StampSet visited_;
    std::vector<uint32_t> tops_;
    bool accepting_ = false;
    size_t steps_ = 0;

    // Mask cache: (state id, partial) -> masks_ entry.
    std::map<std::pair<uint32_t, uint64_t>, size_t> mask_index_;
    std::vector<TokenMask> masks_;
    size_t mask_bytes_ = 0;
    const VocabTrie* mask_vocab_ = nullptr; // the vocabulary the cached masks are for
    struct WalkFrame {
        uint32_t id;
        Utf8Decoder partial;
    };
    std::vector<WalkFrame> walk_;

    Status init();
    void begin_op();
    void maybe_compact();
    uint32_t intern_node(uint32_t pos, uint32_t parent);
    Status close(uint32_t pos, uint32_t parent);
    Result<uint32_t> finish_state();
    Result<uint32_t> step(uint32_t state, uint32_t cp);
    Result<uint32_t> next(uint32_t state, uint32_t cp);
    uint32_t symbol_of(uint32_t cp) const;
    bool accepts_range(uint32_t state, CharRange r) const;
    Result<bool> try_advance(MatchState& st, std::string_view bytes, bool memo = true);
    Status walk_trie(const VocabTrie& vocab, TokenMask& out);
    static Status rejected(std::string_view what);
    static Status too_large(std::string msg);
};

} // namespace hearth::grammar
