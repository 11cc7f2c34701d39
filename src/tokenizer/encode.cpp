// tokenizer/encode.cpp: special-token partition, SentencePiece-style BPE and byte-level BPE.
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wpm.h"

#include <algorithm>

namespace hearth {
namespace {

// A run of raw text, or a special token found in it.
struct Fragment {
    int32_t token = kNoToken; // kNoToken: raw text
    size_t offset = 0;
    size_t length = 0;
};

// Splits text at special-token occurrences, leftmost first, longest at each position. UserDefined tokens
// always match; Control and Unknown ones only with parse_special. Cost: O(text * matched depth).
std::vector<Fragment> partition_special(const Tokenizer& t, std::string_view text, bool parse_special) {
    std::vector<Fragment> out;
    const auto& nodes = t.specials.nodes;
    size_t raw_start = 0;
    size_t i = 0;
    while (i < text.size()) {
        int32_t best = kNoToken;
        size_t best_len = 0;
        int32_t node = 0;
        for (size_t j = i; j < text.size() && !nodes.empty(); ++j) {
            const auto& next = nodes[node].next;
            const auto b = uint8_t(text[j]);
            auto it = std::lower_bound(next.begin(), next.end(), std::pair<uint8_t, int32_t>(b, INT32_MIN));
            if (it == next.end() || it->first != b) break;
            node = it->second;
            const int32_t id = nodes[node].token;
            if (id != kNoToken && (parse_special || t.types[id] == TokenType::UserDefined)) {
                best = id;
                best_len = j + 1 - i;
            }
        }
        if (best == kNoToken) {
            ++i;
            continue;
        }
        if (i > raw_start) out.push_back({kNoToken, raw_start, i - raw_start});
        out.push_back({best, i, best_len});
        i += best_len;
        raw_start = i;
    }
    if (raw_start < text.size()) out.push_back({kNoToken, raw_start, text.size() - raw_start});
    return out;
}

// A symbol of the merge list: a byte range of the text being merged, linked to its neighbours.
struct Symbol {
    int32_t prev = -1;
    int32_t next = -1;
    uint32_t start = 0;
    uint32_t n = 0;        // bytes; 0 once merged into its left neighbour
    int32_t id = kNoToken; // BPE: the token these bytes form
};

// A candidate merge of symbols left and left's next. Stale once either side changed size.
struct Bigram {
    float priority = 0; // SPM: score (higher first); BPE: -rank
    int32_t left = 0;
    int32_t right = 0;
    uint32_t size = 0;
    bool operator<(const Bigram& o) const { // "lower priority" for std::priority_queue
        return priority < o.priority || (priority == o.priority && left > o.left);
    }
};

// SPM's characters, split as llama.cpp's unicode_len_utf8 does: by the lead byte's high nibble alone (so
// F8..FF start 4-byte "characters" too, and continuation bytes are not checked). This matters only for
// invalid UTF-8, whose characters end up as byte tokens, but it decides which bytes may still merge.
size_t spm_char_len(uint8_t lead) {
    static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kLen[lead >> 4];
}

std::vector<Symbol> split_chars(std::string_view text) {
    std::vector<Symbol> syms;
    syms.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        const size_t len = std::min(spm_char_len(uint8_t(text[pos])), text.size() - pos);
        Symbol s;
        s.prev = int32_t(syms.size()) - 1;
        s.next = pos + len == text.size() ? -1 : int32_t(syms.size()) + 1;
        s.start = uint32_t(pos);
        s.n = uint32_t(len);
        syms.push_back(s);
        pos += len;
    }
    return syms;
}

void push_bytes(const Tokenizer& t, std::string_view bytes, std::vector<int32_t>& out) {
    for (char c : bytes) {
        const int32_t id = t.byte_tokens[uint8_t(c)];
        if (id != kNoToken) {
            out.push_back(id);
        } else if (t.unk != kNoToken) {
            out.push_back(t.unk);
        }
    }
}

// SentencePiece BPE (llama.cpp's llm_tokenizer_spm): repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring token; characters left without a token become byte tokens.
void encode_spm(const Tokenizer& t, std::string_view text, std::vector<int32_t>& out) {
    if (text.empty()) return;
    std::vector<Symbol> syms = split_chars(text);
    std::vector<Bigram> heap; // max-heap on priority; built in O(n), then O(log n) per merge
    auto candidate = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return false;
        auto it = t.piece_to_id.find(text.substr(syms[l].start, syms[l].n + syms[r].n));
        if (it == t.piece_to_id.end()) return false;
        heap.push_back({t.scores[it->second], l, r, syms[l].n + syms[r].n});
        return true;
    };
    for (int32_t i = 1; i < int32_t(syms.size()); ++i)
        candidate(i - 1, i);
    std::make_heap(heap.begin(), heap.end());
    auto try_add = [&](int32_t l, int32_t r) {
        if (candidate(l, r)) std::push_heap(heap.begin(), heap.end());
    };
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end());
        const Bigram b = heap.back();
        heap.pop_back();
        Symbol& l = syms[b.left];
        Symbol& r = syms[b.right];
        if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
        l.n += r.n;
        r.n = 0;
        l.next = r.next;
        if (r.next >= 0) syms[r.next].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }
    for (int32_t i = 0; i != -1; i = syms[i].next) {
        const std::string_view piece = text.substr(syms[i].start, syms[i].n);
        auto it = t.piece_to_id.find(piece);
        if (it != t.piece_to_id.end()) {
            out.push_back(it->second);
        } else {
            push_bytes(t, piece, out);
        }
    }
}

// Reused buffers for byte-level BPE over many words.
struct BpeScratch {
    std::string encoded;          // the word in the byte alphabet
    std::vector<uint32_t> origin; // (encoded symbol) -> offset of its byte in the word
    std::vector<Symbol> syms;
    std::vector<Bigram> heap;
};

// Byte-level BPE of one pre-tokenized word (llama.cpp's llm_tokenizer_bpe_session): symbols start as one
// per byte; the adjacent pair with the lowest merge rank merges first (ties: leftmost).
void encode_bpe_word(const Tokenizer& t, std::string_view word, BpeScratch& s, std::vector<int32_t>& out) {
    s.encoded.clear();
    for (char c : word)
        s.encoded += t.byte_chars[uint8_t(c)];
    if (t.ignore_merges) {
        if (auto it = t.piece_to_id.find(s.encoded); it != t.piece_to_id.end()) {
            out.push_back(it->second);
            return;
        }
    }
    s.syms.clear();
    for (size_t i = 0, pos = 0; i < word.size(); ++i) {
        const std::string& ch = t.byte_chars[uint8_t(word[i])];
        Symbol sym;
        sym.prev = int32_t(i) - 1;
        sym.next = i + 1 == word.size() ? -1 : int32_t(i) + 1;
        sym.start = uint32_t(pos);
        sym.n = uint32_t(ch.size());
        auto it = t.piece_to_id.find(ch);
        sym.id = it == t.piece_to_id.end() ? kNoToken : it->second;
        s.syms.push_back(sym);
        pos += ch.size();
    }
    auto& syms = s.syms;
    auto& heap = s.heap;
    heap.clear();
    auto try_add = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0 || syms[l].id == kNoToken || syms[r].id == kNoToken) return;
        auto it = t.merges.find((uint64_t(uint32_t(syms[l].id)) << 32) | uint32_t(syms[r].id));
        if (it == t.merges.end()) return;
        heap.push_back({-float(it->second.rank), l, r, syms[l].n + syms[r].n});
        std::push_heap(heap.begin(), heap.end());
    };
    for (int32_t i = 1; i < int32_t(syms.size()); ++i)
        try_add(i - 1, i);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end());
        const Bigram b = heap.back();
        heap.pop_back();
        Symbol& l = syms[b.left];
        Symbol& r = syms[b.right];
        if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
        const auto it = t.merges.find((uint64_t(uint32_t(l.id)) << 32) | uint32_t(r.id));
        l.id = it->second.merged;
        l.n += r.n;
        r.n = 0;
        l.next = r.next;
        if (r.next >= 0) syms[r.next].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }
    // Map encoded symbols back to the word's bytes for the byte fallback.
    for (int32_t i = 0; i != -1; i = syms[i].next) {
        if (syms[i].id != kNoToken) {
            out.push_back(syms[i].id);
            continue;
        }
        const std::string_view enc = std::string_view(s.encoded).substr(syms[i].start, syms[i].n);
        if (auto it = t.piece_to_id.find(enc); it != t.piece_to_id.end()) {
            out.push_back(it->second);
            continue;
        }
        for (size_t pos = 0; pos < enc.size();) {
            size_t n = 0;
            const int b = tok::unicode_to_byte(tok::utf8_decode(enc, pos, &n));
            if (b >= 0 && t.byte_tokens[b] != kNoToken) out.push_back(t.byte_tokens[b]);
            pos += n;
        }
    }
}

// The bytes llama.cpp's byte-level BPE works on: the text decoded by unicode_cpts_from_utf8 and encoded
// again (tok::utf8_decode_lenient): invalid sequences become U+FFFD, overlong forms their shortest form,
// surrogates stay. Valid UTF-8 comes back unchanged. *regex_text: the same with every surrogate replaced
// by U+E000 (same length, same class for llama.cpp: both are "control" code points in its tables), since
// PCRE2 cannot match text holding surrogates; empty when there are none.
std::string bpe_normalize(std::string_view raw, std::string* regex_text) {
    std::string text;
    text.reserve(raw.size());
    regex_text->clear();
    for (size_t pos = 0; pos < raw.size();) {
        size_t n = 0;
        const uint32_t cp = tok::utf8_decode_lenient(raw, pos, &n);
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            if (regex_text->empty()) *regex_text = text;
            tok::utf8_append(*regex_text, 0xE000);
        } else if (!regex_text->empty()) {
            tok::utf8_append(*regex_text, cp);
        }
        tok::utf8_append(text, cp);
        pos += n;
    }
    return text;
}

void encode_bpe(const Tokenizer& t, std::string_view raw, std::vector<int32_t>& out) {
    std::string regex_text;
    const std::string text = bpe_normalize(raw, &regex_text);
    BpeScratch scratch;
    // A float priority holds ranks exactly up to 2^24 merges; larger merge lists would need another key.
    for (const tok::Piece& p : t.pre_tokenizer.split(regex_text.empty() ? text : regex_text)) {
        encode_bpe_word(t, std::string_view(text).substr(p.offset, p.length), scratch, out);
    }
}

std::string escape_spaces(std::string_view text, bool prefix) {
    std::string out;
    out.reserve(text.size() + 3);
    if (prefix) out += "\xE2\x96\x81";
    for (char c : text) {
        if (c == ' ') {
            out += "\xE2\x96\x81";
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace

std::vector<int32_t> tokenize(const Tokenizer& t, std::string_view text, bool add_special, bool parse_special) {
    std::vector<int32_t> out;
    const std::vector<Fragment> frags = partition_special(t, text, parse_special);
    if (add_special && t.add_bos && t.type != VocabType::Wpm) out.push_back(t.bos);
    if (add_special && t.type == VocabType::Wpm && t.bos != kNoToken) out.push_back(t.bos);
    bool prev_special = true; // SPM: the text after BOS or a special token gets the space prefix
    for (const Fragment& f : frags) {
        if (f.token != kNoToken) {
            out.push_back(f.token);
            prev_special = true;
            continue;
        }
        const std::string_view raw = text.substr(f.offset, f.length);
        switch (t.type) {
        case VocabType::Spm:
            encode_spm(t, escape_spaces(raw, t.add_space_prefix && prev_special), out);
            break;
        case VocabType::Bpe:
            encode_bpe(t, raw, out);
            break;
        case VocabType::Wpm:
            tok::encode_wpm(t, raw, out);
            break;
        }
        prev_special = false;
    }
    if (add_special && t.add_eos && t.type != VocabType::Wpm) out.push_back(t.eos);
    if (add_special && t.type == VocabType::Wpm && t.sep != kNoToken) out.push_back(t.sep);
    return out;
}

} // namespace hearth
