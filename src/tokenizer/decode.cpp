// tokenizer/decode.cpp: ids -> bytes, whole or streamed.
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace hearth {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81"; // U+2581 '▁'

std::string unescape_spaces(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        if (s.substr(i, 3) == kSpaceMark) {
            out += ' ';
            i += 3;
        } else {
            out += s[i++];
        }
    }
    return out;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// "<0xNN>" -> NN; -1 if the text has another form.
int byte_token_value(std::string_view s) {
    if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
    const int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Byte-level BPE text back to bytes; a code point outside the byte alphabet is kept as UTF-8.
std::string decode_byte_alphabet(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
        size_t n = 0;
        const uint32_t cp = tok::utf8_decode(s, pos, &n);
        const int b = tok::unicode_to_byte(cp);
        if (b >= 0) {
            out += char(b);
        } else {
            out.append(s.data() + pos, n);
        }
        pos += n;
    }
    return out;
}

// llama.cpp's clean_up_tokenization_spaces: " ?" " !" " ." " ," lose the space, " ' " loses both spaces,
// " 's" " 'm" " 're" " 've" lose the space.
std::string clean_spaces(const std::string& in) {
    std::string a;
    for (size_t i = 0; i < in.size(); ++i) {
        const char x = in[i];
        if (i > 0 && in[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
        a += x;
    }
    std::string b;
    for (size_t i = 0; i < a.size(); ++i) {
        const char x = a[i];
        if (x == '\'' && i > 0 && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
            b.pop_back(); // the space before
            b += x;
            ++i; // and the space after
            continue;
        }
        b += x;
    }
    std::string c;
    for (size_t i = 0; i < b.size(); ++i) {
        const char x = b[i];
        if (x == '\'' && i > 0 && b[i - 1] == ' ' && i + 1 < b.size()) {
            const char x1 = b[i + 1];
            const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
            if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) c.pop_back();
        }
        c += x;
    }
    return c;
}

} // namespace

std::string token_to_piece(const Tokenizer& t, int32_t id, bool special) {
    if (id < 0 || id >= t.n_vocab()) return {};
    const std::string& text = t.pieces[id];
    switch (t.types[id]) {
    case TokenType::Control:
    case TokenType::Unknown:
        return special ? text : std::string();
    case TokenType::UserDefined:
        return text;
    case TokenType::Normal:
        return t.type == VocabType::Bpe ? decode_byte_alphabet(text) : unescape_spaces(text);
    case TokenType::Byte: {
        const int b = byte_token_value(text);
        if (b >= 0) return std::string(1, char(b));
        return t.type == VocabType::Bpe ? decode_byte_alphabet(text) : text;
    }
    case TokenType::Unused:
    case TokenType::Undefined:
        break;
    }
    return {};
}

std::string detokenize(const Tokenizer& t, std::span<const int32_t> ids, bool special) {
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
        std::string piece = token_to_piece(t, ids[i], special);
        // As llama.cpp: only the very first token loses the space add_space_prefix put there.
        if (i == 0 && t.add_space_prefix && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
        out += piece;
    }
    return t.clean_spaces ? clean_spaces(out) : out;
}

std::string Detokenizer::push(int32_t id) {
    std::string piece = token_to_piece(*tok, id, special);
    if (strip_leading_space && !piece.empty()) {
        if (piece[0] == ' ') piece.erase(0, 1);
        strip_leading_space = false;
    }
    pending += piece;
    const size_t complete = tok::utf8_complete_prefix(pending);
    std::string out = tok::utf8_sanitize(std::string_view(pending).substr(0, complete));
    pending.erase(0, complete);
    return out;
}

std::string Detokenizer::flush() {
    std::string out = tok::utf8_sanitize(pending);
    pending.clear();
    return out;
}

} // namespace hearth
