// convert/hf_vocab.h: a Hugging Face tokenizer.json (+ tokenizer_config.json) as GGUF `tokenizer.*` metadata.
//
// Two kinds of tokenizer.json are read, both model.type "BPE"; every other type (WordPiece, Unigram, WordLevel)
// is refused by name:
// - byte-level BPE (a ByteLevel pre-tokenizer: GPT-2, Qwen 2/3, Llama 3) -> tokenizer.ggml.model "gpt2", as
//   llama.cpp's _set_vocab_gpt2: tokens padded to the config's vocab_size with "[PADi]" (unused), added tokens
//   control when special or special-looking ("<|...|>"), else user-defined; merges "a b" (pairs with spaces
//   written with U+0120). tokenizer.ggml.pre is identified by the pre-tokenizer's regex (llama.cpp hashes the
//   encoding of a check string instead, which needs the tokenizer to run): the Qwen 2 regex -> "qwen2", the
//   Llama 3 one -> "llama-bpe", a ByteLevel pre-tokenizer with its own (GPT-2) regex -> "gpt-2" (with single
//   digits split off first, SmolLM's, -> "smollm"); another regex or pre-tokenizer is refused, quoted.
// - byte-fallback BPE (SentencePiece models saved as tokenizer.json: Llama 2, Gemma 3, Phi-3) -> "llama", as
//   gguf-py's LlamaHfVocab: the base vocabulary in id order (<0xXX> byte tokens, control for the special tokens
//   tokenizer_config names), then added tokens past it, padded to vocab_size like _create_vocab_sentencepiece.
//   Every added token (in the base vocabulary or not) is control when special or special-looking, else
//   user-defined, score -1000, as the SentencePiece path (tokenizer.model + added_tokens_decoder) that real Llama 2,
//   Gemma 3 and Phi-3 conversions take marks them (Gemma 3's <start_of_turn> is in the base vocabulary: control,
//   not normal as LlamaHfVocab would have it). Scores: LlamaHfVocab writes -1000 for all, which makes the SPM
//   tokenizer (llama.cpp's and hearth's) merge leftmost-first instead of by rank; here a token made by merge r
//   scores -r (other tokens 0, added tokens -1000), so merges apply in the file's order. add_space_prefix is
//   written when the normalizer / Metaspace pre-tokenizer does not prepend "▁" (Gemma 3), and from
//   tokenizer_config's add_prefix_space when it has one.
// Special ids and add_*_token flags follow gguf-py's SpecialVocab: tokenizer_config's *_token looked up among
// tokenizer.json's added tokens, then config.json's *_token_id; the post-processor (ByteLevel, TemplateProcessing)
// then tokenizer_config's add_bos_token/add_eos_token. generation_config.json's bos/eos ids fill in only what both
// leave unset (llama.cpp does not read it). tokenizer_config's chat_template (or chat_template.jinja) becomes
// tokenizer.chat_template.
#pragma once

#include "base/status.h"
#include "convert/hf_dir.h"
#include "gguf/gguf.h"

#include <vector>

namespace hearth::convert {

struct VocabMeta {
    std::vector<gguf::KeyValue> kv; // tokenizer.* keys in llama.cpp's order
    int64_t n_tokens = 0;           // entries of tokenizer.ggml.tokens
};

// vocab_size: config.json's (tokens are padded to it); 0 when the config has none.
Result<VocabMeta> convert_vocab(const HfDir& dir, int64_t vocab_size);

} // namespace hearth::convert
