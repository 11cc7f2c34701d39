// tokenizer/tokenizer.h: text <-> token ids for the vocabularies GGUF models carry.
//
// Three algorithms, chosen by `tokenizer.ggml.model`:
//   "llama" -> VocabType::Spm: SentencePiece-style BPE. Spaces become U+2581 '▁' (with a leading one when
//              add_space_prefix), pieces merge by highest score, unknown characters fall back to <0xNN>
//              byte tokens. (Llama 2, TinyLlama, Phi-3, Gemma, Baichuan.)
//   "gpt2"  -> VocabType::Bpe: byte-level BPE. A regex pre-tokenizer chosen by `tokenizer.ggml.pre` splits
//              the text into words (pretokenize.h), each byte maps to a printable code point, pieces merge
//              by lowest merge rank. (GPT-2, Llama 3, Qwen 2, SmolLM2, DeepSeek, StarCoder, Falcon, MPT.)
//   "bert"  -> VocabType::Wpm: WordPiece, greedy longest match per word after BERT normalization.
// The behaviour follows llama.cpp's (llama-vocab.cpp), whose tokenizer tests are our conformance data.
//
// Special tokens: tokens of type Control (3), UserDefined (4) and Unknown (2) are matched in the raw text
// before the algorithm runs; Control/Unknown ones only when parse_special is set, UserDefined ones always
// (as HF tokenizers do). is_eog() covers EOS, EOT, EOM and the end-of-turn and FIM tokens llama.cpp
// recognises by text ("<|im_end|>", "<end_of_turn>", "</s>", "<|file_sep|>", ...); like llama.cpp, a token
// recognised that way becomes a Control token even if the file says otherwise (Gemma 3's "</s>").
//
// Robustness: any byte string is accepted. Invalid UTF-8 is handled as llama.cpp handles it: for BPE and
// WPM its lenient decoder (overlong forms and surrogates decode, other bad bytes become U+FFFD), for SPM
// byte tokens over llama.cpp's lead-byte character split; NUL bytes are ordinary characters. Merging uses
// a priority queue over a linked list of symbols, O(n log n) in the length of a word, so long or
// pathological inputs stay fast.
//
// A Tokenizer is immutable after load_tokenizer() and may be shared by threads; it is movable, not copyable.
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"
#include "tokenizer/pretokenize.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hearth {

enum class VocabType { Spm, Bpe, Wpm };

// `tokenizer.ggml.token_type` values (SentencePiece's piece types).
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

inline constexpr int32_t kNoToken = -1;

namespace tok {
// Hash/equality that let unordered_map<std::string, ...> be queried with a string_view (no allocation).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct MergeInfo {
    int32_t rank = 0;   // position in tokenizer.ggml.merges: lower merges first
    int32_t merged = 0; // id of left+right (kNoToken if that text is not in the vocabulary)
};
// Special-token matcher: a byte trie over the texts of Control/UserDefined/Unknown tokens.
struct SpecialTrie {
    struct Node {
        int32_t token = kNoToken;                      // token ending here, if any
        std::vector<std::pair<uint8_t, int32_t>> next; // (byte, child node), sorted by byte
    };
    std::vector<Node> nodes; // nodes[0] is the root
};
} // namespace tok

struct Tokenizer {
    VocabType type = VocabType::Spm;
    std::string model; // tokenizer.ggml.model
    std::string pre;   // tokenizer.ggml.pre ("" when absent)

    std::vector<std::string> pieces; // (n_vocab) token text as stored (SPM: '▁' for space; BPE: byte alphabet)
    std::vector<float> scores;       // (n_vocab) SPM merge priority (higher first); 0 when absent
    std::vector<TokenType> types;    // (n_vocab)
    std::unordered_map<std::string, int32_t, tok::StringHash, std::equal_to<>> piece_to_id;
    std::unordered_map<uint64_t, tok::MergeInfo> merges; // BPE: (left id << 32 | right id) -> merge
    std::array<int32_t, 256> byte_tokens{};  // byte -> its fallback token (<0xNN> or byte char), or kNoToken
    std::array<std::string, 256> byte_chars; // BPE: byte -> UTF-8 of its byte-alphabet code point
    tok::PreTokenizer pre_tokenizer;         // BPE only
    tok::SpecialTrie specials;
    size_t max_piece_len = 0; // bytes

    int32_t bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken, unk = kNoToken;
    int32_t sep = kNoToken, pad = kNoToken, mask = kNoToken, nl = kNoToken;
    int32_t fim_pre = kNoToken, fim_suf = kNoToken, fim_mid = kNoToken; // fill-in-the-middle (code models)
    int32_t fim_rep = kNoToken, fim_sep = kNoToken; // repository-level FIM: the repo name, a file's start
    std::vector<int32_t> eog;                       // sorted: every end-of-generation token

    bool add_bos = false;
    bool add_eos = false;
    bool add_sep = false;          // WPM: [SEP] after the text when add_special
    bool add_space_prefix = false; // SPM: '▁' before the first text
    bool ignore_merges = false;    // BPE (Llama 3): a word that is itself a token skips merging
    bool clean_spaces = false;     // detokenize: " ," -> ",", " 's" -> "'s" (clean_up_tokenization_spaces)
    bool lowercase = true;         // WPM normalizer
    bool strip_accents = true;     // WPM normalizer

    int32_t n_vocab() const { return int32_t(pieces.size()); }
};

// Reads `tokenizer.ggml.*` metadata. Errors name the key and say what is wrong with it.
Result<Tokenizer> load_tokenizer(const gguf::File& file);

// Text -> ids. add_special: BOS/EOS (and WPM's SEP) as the vocabulary asks. parse_special: text of control
// tokens (e.g. "<|im_start|>") becomes those tokens instead of being tokenized as plain text.
std::vector<int32_t> tokenize(const Tokenizer& tok, std::string_view text, bool add_special, bool parse_special);

// The bytes one token stands for. special: render Control/Unknown tokens as their text (else "").
// Ids outside the vocabulary give "". The bytes need not be complete UTF-8 (byte tokens).
std::string token_to_piece(const Tokenizer& tok, int32_t id, bool special);
// Ids -> text: pieces concatenated, the SPM leading space removed, spaces cleaned up if the vocabulary
// asks. Bytes that do not form valid UTF-8 are kept as they are.
std::string detokenize(const Tokenizer& tok, std::span<const int32_t> ids, bool special);

bool is_eog(const Tokenizer& tok, int32_t id);
bool is_control(const Tokenizer& tok, int32_t id);

// Streaming detokenization: push one token at a time, get text that is always valid UTF-8 and never ends
// in the middle of a character. Bytes of an incomplete character (split byte-fallback tokens, byte-level
// BPE pieces) wait for the next token; bytes that can never form a character come out as U+FFFD.
// at_text_start: the tokens begin a text (e.g. echoing a prompt), so the first non-empty piece loses the
// space SPM's add_space_prefix put there; pass false when continuing after a prompt (generated text).
struct Detokenizer {
    const Tokenizer* tok = nullptr;
    bool special = false;
    bool strip_leading_space = false;
    std::string pending; // bytes of an incomplete UTF-8 character (at most 3)

    explicit Detokenizer(const Tokenizer& t, bool render_special = false, bool at_text_start = false)
        : tok(&t), special(render_special), strip_leading_space(at_text_start && t.add_space_prefix) {}
    std::string push(int32_t id);
    // Whatever is still pending, as U+FFFD (call at the end of the stream).
    std::string flush();
};

} // namespace hearth
