#include "tokenizer/unicode.h"

#include "base/utf8.h"

namespace hearth::tok {

uint32_t utf8_decode(std::string_view text, size_t pos, size_t* n) {
    const auto* s = reinterpret_cast<const uint8_t*>(text.data()) + pos;
    const size_t avail = text.size() - pos;
    const size_t len = utf8_len(s[0]);
    *n = 1;
    if (len == 1) return s[0] < 0x80 ? s[0] : kReplacementChar;
    if (avail < len) return kReplacementChar;
    uint32_t cp = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; ++i) {
        if ((s[i] & 0xC0) != 0x80) return kReplacementChar;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF, as a strict decoder must.
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kReplacementChar;
    *n = len;
    return cp;
}

uint32_t utf8_decode_lenient(std::string_view text, size_t pos, size_t* n) {
    const auto* s = reinterpret_cast<const uint8_t*>(text.data()) + pos;
    const size_t avail = text.size() - pos;
    *n = 1;
    if (s[0] < 0x80) return s[0];
    const size_t len = s[0] < 0xC0 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF8 ? 4 : 0;
    if (len == 0 || avail < len) return kReplacementChar;
    uint32_t cp = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; ++i) {
        if ((s[i] & 0xC0) != 0x80) return kReplacementChar;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp > 0x10FFFF) return kReplacementChar;
    *n = len;
    return cp;
}

void utf8_append(std::string& out, uint32_t cp) {
    append_utf8(out, cp);
}

std::string utf8_sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        size_t n = 0;
        const uint32_t cp = utf8_decode(text, pos, &n);
        if (cp == kReplacementChar && n == 1) {
            utf8_append(out, cp);
        } else {
            out.append(text.data() + pos, n);
        }
        pos += n;
    }
    return out;
}

size_t utf8_complete_prefix(std::string_view text) {
    // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
    const size_t n = text.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto b = static_cast<uint8_t>(text[n - back]);
        if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
        const size_t len = utf8_len(b);
        return len > back ? n - back : n;
    }
    return n;
}

namespace {

struct ByteAlphabet {
    uint16_t to_cp[256] = {};
    int16_t to_byte[0x144] = {}; // code points of the alphabet are all below U+0144
};

constexpr ByteAlphabet make_byte_alphabet() {
    // Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100.. in byte order.
    ByteAlphabet a;
    for (int i = 0; i < 0x144; ++i)
        a.to_byte[i] = -1;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        a.to_cp[b] = uint16_t(printable ? b : 0x100 + n++);
        a.to_byte[a.to_cp[b]] = int16_t(b);
    }
    return a;
}

constexpr ByteAlphabet kByteAlphabet = make_byte_alphabet();

} // namespace

uint32_t byte_to_unicode(uint8_t b) {
    return kByteAlphabet.to_cp[b];
}

int unicode_to_byte(uint32_t cp) {
    return cp < 0x144 ? kByteAlphabet.to_byte[cp] : -1;
}

} // namespace hearth::tok
