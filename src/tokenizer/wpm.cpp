#include "tokenizer/wpm.h"

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#include <algorithm>
#include <string>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

namespace hearth::tok {
namespace {

bool is_chinese_char(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Appends cp's canonical decomposition (NFD of one code point), or cp itself.
void append_nfd(const UNormalizer2* nfd, uint32_t cp, std::vector<uint32_t>& out) {
    UChar buf[32];
    UErrorCode err = U_ZERO_ERROR;
    const int32_t n = nfd ? unorm2_getDecomposition(nfd, UChar32(cp), buf, 32, &err) : -1;
    if (n < 0 || U_FAILURE(err)) {
        out.push_back(cp);
        return;
    }
    for (int32_t i = 0; i < n;) {
        UChar32 c;
        U16_NEXT(buf, i, n, c);
        out.push_back(uint32_t(c));
    }
}

// Normalizes and splits text into words (llama.cpp's llm_tokenizer_wpm_session::preprocess).
std::vector<std::string> bert_words(const Tokenizer& t, std::string_view text) {
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2* nfd = t.strip_accents ? unorm2_getNFDInstance(&err) : nullptr;
    std::vector<uint32_t> cps;
    cps.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        size_t n = 0;
        const uint32_t cp = utf8_decode_lenient(text, pos, &n); // as llama.cpp decodes invalid UTF-8
        pos += n;
        if (t.strip_accents) {
            append_nfd(nfd, cp, cps);
        } else {
            cps.push_back(cp);
        }
    }
    std::vector<std::string> words(1);
    for (const uint32_t cp : cps) {
        if (u_isUWhiteSpace(UChar32(cp))) {
            if (!words.back().empty()) words.emplace_back();
            continue;
        }
        const int cat = u_charType(UChar32(cp));
        const uint32_t mask = U_MASK(cat);
        if (cp == 0 || cp == kReplacementChar || (mask & (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK))) {
            continue;
        }
        if (t.strip_accents && (mask & U_GC_M_MASK)) continue;
        std::string s;
        utf8_append(s, t.lowercase ? uint32_t(u_tolower(UChar32(cp))) : cp);
        if ((mask & U_GC_P_MASK) || (cp < 0x7F && (mask & U_GC_S_MASK)) || is_chinese_char(cp)) {
            if (!words.back().empty()) words.emplace_back();
            words.back() = std::move(s);
            words.emplace_back();
        } else {
            words.back() += s;
        }
    }
    if (words.back().empty()) words.pop_back();
    return words;
}

} // namespace

void encode_wpm(const Tokenizer& t, std::string_view text, std::vector<int32_t>& out) {
    for (const std::string& word : bert_words(t, text)) {
        const std::string w = "\xE2\x96\x81" + word; // the phantom space marks a word start
        const size_t n = w.size();
        const size_t before = out.size();
        for (size_t i = 0; i < n;) {
            size_t matched = 0;
            for (size_t j = std::min(n, i + t.max_piece_len); j > i; --j) {
                auto it = t.piece_to_id.find(std::string_view(w).substr(i, j - i));
                if (it != t.piece_to_id.end()) {
                    out.push_back(it->second);
                    matched = j - i;
                    break;
                }
            }
            if (matched == 0) { // the word cannot be covered: all of it becomes [UNK]
                out.resize(before);
                break;
            }
            i += matched;
        }
        if (out.size() == before && t.unk != kNoToken) out.push_back(t.unk);
    }
}

} // namespace hearth::tok
