// privacy/detect_tokens.cpp: emails, URLs with credentials, IPv6 and MAC addresses, and secrets (known key
// prefixes, JWTs, PEM private keys, high-entropy tokens).
#include "privacy/detect.h"

#include <cmath>
#include <cstring>

namespace hearth::privacy::detail {

namespace {

bool word_char(char c) {
    return is_alnum(c) || c == '_';
}

// Valid dotted IPv4 filling all of s.
bool ipv4_exact(std::string_view s) {
    const size_t end = ipv4_end(s, 0);
    return end != 0 && end == s.size();
}

// RFC 4291 section 2.2 text forms: eight hextets, one "::" for a run of zero groups, an IPv4 tail.
// Besides the grammar, a match needs a digit and either three groups or one of three or more hex digits,
// so C++ scopes ("ab::cd") and Python slices ("1::2", "::1" in x[::1]) are not addresses.
bool ipv6_exact(std::string_view s) {
    size_t i = 0;
    int groups = 0, longest = 0;
    bool dbl = false, digit = false;
    if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
        dbl = true;
        i = 2;
    } else if (at(s, 0) == ':') {
        return false;
    }
    while (i < s.size()) {
        size_t j = i;
        while (j < s.size() && is_hex(s[j]) && j - i <= 4)
            ++j;
        if (at(s, j) == '.') {
            if (!ipv4_exact(s.substr(i))) return false;
            groups += 2;
            digit = true;
            longest = 4;
            break;
        }
        if (j == i || j - i > 4) return false;
        for (size_t k = i; k < j; ++k)
            digit = digit || is_digit(s[k]);
        ++groups;
        longest = std::max(longest, static_cast<int>(j - i));
        i = j;
        if (i == s.size()) break;
        if (s[i] != ':') return false;
        if (at(s, i + 1) == ':') {
            if (dbl) return false;
            dbl = true;
            i += 2;
            if (i == s.size()) break;
        } else {
            ++i;
            if (i == s.size()) return false;
        }
    }
    if (dbl ? groups > 7 : groups != 8) return false;
    return digit && (groups >= 3 || longest >= 3);
}

int hex_pair(std::string_view t, size_t i) {
    return is_hex(at(t, i)) && is_hex(at(t, i + 1));
}

} // namespace

size_t match_ipv6(std::string_view t, size_t pos) {
    const char p = before(t, pos);
    if (word_char(p) || p == ':' || p == '.') return 0;
    // A hextet has at most 4 digits: a ':' must come within the first five bytes.
    if (at(t, pos) != ':' && at(t, pos + 1) != ':' && at(t, pos + 2) != ':' && at(t, pos + 3) != ':' &&
        at(t, pos + 4) != ':')
        return 0;
    size_t i = pos;
    while (i < t.size() && i - pos <= 45 && (is_hex(t[i]) || t[i] == ':' || t[i] == '.'))
        ++i;
    if (i - pos > 45 || word_char(at(t, i))) return 0;
    size_t end = i;
    if (t[end - 1] == '.') --end; // sentence end
    if (end - pos >= 2 && t[end - 1] == ':' && t[end - 2] != ':') --end;
    return ipv6_exact(t.substr(pos, end - pos)) ? end : 0;
}

size_t match_mac(std::string_view t, size_t pos) {
    const char p = before(t, pos);
    if (word_char(p) || p == ':' || p == '-' || p == '.') return 0;
    size_t end = 0;
    const char sep = at(t, pos + 2);
    if (sep == ':' || sep == '-') {
        // 00:1A:2B:3C:4D:5E or 00-1A-2B-3C-4D-5E
        for (int g = 0; g < 6; ++g) {
            const size_t i = pos + static_cast<size_t>(g) * 3;
            if (!hex_pair(t, i) || (g < 5 && at(t, i + 2) != sep)) return 0;
        }
        end = pos + 17;
    } else if (at(t, pos + 4) == '.') {
        // Cisco 0011.2233.4455
        for (int g = 0; g < 3; ++g) {
            const size_t i = pos + static_cast<size_t>(g) * 5;
            if (!hex_pair(t, i) || !hex_pair(t, i + 2) || (g < 2 && at(t, i + 4) != '.')) return 0;
        }
        end = pos + 14;
    } else {
        return 0;
    }
    const char c = at(t, end);
    if (word_char(c) || ((c == ':' || c == '-' || c == '.') && is_hex(at(t, end + 1)))) return 0;
    return end;
}

namespace {

enum class Charset { Alnum, AlnumDash, Upper, AlnumDashDot };

bool in_charset(Charset cs, char c) {
    switch (cs) {
    case Charset::Alnum:
        return is_alnum(c);
    case Charset::AlnumDash:
        return is_alnum(c) || c == '_' || c == '-';
    case Charset::Upper:
        return is_upper(c) || is_digit(c);
    case Charset::AlnumDashDot:
        return is_alnum(c) || c == '_' || c == '-' || c == '.';
    }
    return false;
}

struct Prefix {
    std::string_view prefix;
    Charset body;
    int min_len, max_len; // of the body after the prefix
    bool need_digit;      // the body must mix digits and letters (for short, word-like prefixes)
    const char* name;
};

// Published token formats of common providers. Longer prefixes come before their shorter heads.
constexpr Prefix kPrefixes[] = {
    {"sk-proj-", Charset::AlnumDash, 20, 256, false, "openai_key"},
    {"sk-ant-", Charset::AlnumDash, 20, 256, false, "anthropic_key"},
    {"sk-", Charset::AlnumDash, 20, 256, true, "openai_key"},
    {"sk_live_", Charset::Alnum, 16, 256, false, "stripe_key"},
    {"sk_test_", Charset::Alnum, 16, 256, false, "stripe_key"},
    {"rk_live_", Charset::Alnum, 16, 256, false, "stripe_key"},
    {"rk_test_", Charset::Alnum, 16, 256, false, "stripe_key"},
    {"ghp_", Charset::Alnum, 30, 255, false, "github_token"},
    {"gho_", Charset::Alnum, 30, 255, false, "github_token"},
    {"ghu_", Charset::Alnum, 30, 255, false, "github_token"},
    {"ghs_", Charset::Alnum, 30, 255, false, "github_token"},
    {"ghr_", Charset::Alnum, 30, 255, false, "github_token"},
    {"github_pat_", Charset::AlnumDash, 22, 255, false, "github_token"},
    {"glpat-", Charset::AlnumDash, 20, 255, false, "gitlab_token"},
    {"xoxb-", Charset::AlnumDash, 10, 255, true, "slack_token"},
    {"xoxp-", Charset::AlnumDash, 10, 255, true, "slack_token"},
    {"xoxa-", Charset::AlnumDash, 10, 255, true, "slack_token"},
    {"xoxr-", Charset::AlnumDash, 10, 255, true, "slack_token"},
    {"xoxs-", Charset::AlnumDash, 10, 255, true, "slack_token"},
    {"xoxe-", Charset::AlnumDash, 10, 255, true, "slack_token"},
    {"AKIA", Charset::Upper, 16, 16, false, "aws_access_key"},
    {"ASIA", Charset::Upper, 16, 16, false, "aws_access_key"},
    {"AIza", Charset::AlnumDash, 35, 35, false, "google_api_key"},
    {"hf_", Charset::Alnum, 30, 255, true, "huggingface_token"},
    {"npm_", Charset::Alnum, 36, 36, false, "npm_token"},
    {"pypi-", Charset::AlnumDash, 50, 512, false, "pypi_token"},
    {"shpat_", Charset::Alnum, 32, 32, false, "shopify_token"},
    {"shpss_", Charset::Alnum, 32, 32, false, "shopify_token"},
    {"SG.", Charset::AlnumDashDot, 60, 80, true, "sendgrid_key"},
};

} // namespace

size_t match_secret_prefix(std::string_view t, size_t pos, const char** name) {
    const char p = before(t, pos);
    if (word_char(p) || p == '-') return 0;
    const std::string_view rest = t.substr(pos);
    if (rest.size() < 2) return 0;
    // Cheap filter on the first two bytes before comparing whole prefixes.
    static constexpr std::string_view kHeads[] = {"sk", "rk", "gh", "gl", "xo", "AK", "AS",
                                                  "AI", "hf", "np", "py", "sh", "SG"};
    bool head = false;
    for (std::string_view h : kHeads)
        head = head || (rest[0] == h[0] && rest[1] == h[1]);
    if (!head) return 0;
    for (const Prefix& k : kPrefixes) {
        if (rest.size() < k.prefix.size() + static_cast<size_t>(k.min_len) || !rest.starts_with(k.prefix)) continue;
        size_t i = k.prefix.size();
        bool digit = false, alpha = false;
        while (i < rest.size() && in_charset(k.body, rest[i]) &&
               i - k.prefix.size() <= static_cast<size_t>(k.max_len)) {
            digit = digit || is_digit(rest[i]);
            alpha = alpha || is_alpha(rest[i]);
            ++i;
        }
        const size_t len = i - k.prefix.size();
        if (len < static_cast<size_t>(k.min_len) || len > static_cast<size_t>(k.max_len)) continue;
        if (k.need_digit && !(digit && alpha)) continue;
        *name = k.name;
        return pos + i;
    }
    return 0;
}

namespace {

int b64url_value(char c) {
    if (is_upper(c)) return c - 'A';
    if (is_lower(c)) return c - 'a' + 26;
    if (is_digit(c)) return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}

bool b64url_char(char c) {
    return is_alnum(c) || c == '-' || c == '_';
}

} // namespace

size_t match_jwt(std::string_view t, size_t pos) {
    // header.payload.signature, each base64url; the header decodes to a JSON object naming "alg" (RFC 7519).
    if (!t.substr(pos).starts_with("eyJ") || b64url_char(before(t, pos)) || before(t, pos) == '.') return 0;
    size_t i = pos;
    size_t dots[2];
    for (int part = 0; part < 3; ++part) {
        const size_t s = i;
        while (i < t.size() && b64url_char(t[i]) && i - s < 8192)
            ++i;
        if (part < 2) {
            if (i == s || at(t, i) != '.') return 0;
            dots[part] = i;
            ++i;
        }
    }
    if (dots[0] - pos < 10 || dots[1] - dots[0] < 2) return 0;
    // Decode the header (at most 512 bytes of it).
    char json[384];
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t k = pos; k < dots[0] && k - pos < 512; ++k) {
        acc = (acc << 6) | static_cast<unsigned>(b64url_value(t[k]));
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            json[n++] = static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    const std::string_view header(json, n);
    if (header.empty() || header[0] != '{' || header.find("\"alg\"") == std::string_view::npos) return 0;
    return i;
}

namespace {

bool entropy_char(char c) {
    return is_alnum(c) || c == '+' || c == '/' || c == '_' || c == '-';
}

int char_class(char c) {
    return is_upper(c) ? 0 : is_lower(c) ? 1 : is_digit(c) ? 2 : 3;
}

struct TokenStats {
    bool upper = false, lower = false, digit = false, hex_only = true;
    double entropy = 0;     // Shannon, bits per byte
    double change_rate = 0; // how often consecutive letters/digits change class (upper, lower, digit)
    double wordiness = 0;   // share of bytes in runs of 3+ lower-case letters (after an optional capital)
};

TokenStats token_stats(std::string_view s) {
    TokenStats st;
    int count[256] = {};
    int changes = 0, alnum = 0, last = -1, in_words = 0, run = 0;
    for (size_t k = 0; k < s.size(); ++k) {
        const char c = s[k];
        ++count[static_cast<unsigned char>(c)];
        const int cl = char_class(c);
        st.upper = st.upper || cl == 0;
        st.lower = st.lower || cl == 1;
        st.digit = st.digit || cl == 2;
        if (cl == 1) {
            ++run;
        } else {
            if (run >= 3) in_words += run + (k >= static_cast<size_t>(run) + 1 && is_upper(s[k - run - 1]) ? 1 : 0);
            run = 0;
        }
        if (cl == 3) continue;
        st.hex_only = st.hex_only && is_hex(c);
        ++alnum;
        if (last >= 0 && cl != last) ++changes;
        last = cl;
    }
    if (run >= 3) in_words += run + (s.size() > static_cast<size_t>(run) && is_upper(s[s.size() - run - 1]) ? 1 : 0);
    for (size_t k = 0; k < s.size(); ++k) { // each distinct byte once: clear its count after use
        int& c = count[static_cast<unsigned char>(s[k])];
        if (c == 0) continue;
        const double p = static_cast<double>(c) / static_cast<double>(s.size());
        st.entropy -= p * std::log2(p);
        c = 0;
    }
    st.change_rate = alnum > 1 ? static_cast<double>(changes) / (alnum - 1) : 0.0;
    st.wordiness = s.empty() ? 0.0 : static_cast<double>(in_words) / static_cast<double>(s.size());
    return st;
}

// The longest piece of the token between '-' and '_' (names join words with them; base64 keeps '+' and '/').
std::string_view longest_segment(std::string_view tok) {
    std::string_view best;
    size_t s = 0;
    for (size_t i = 0; i <= tok.size(); ++i) {
        if (i == tok.size() || tok[i] == '-' || tok[i] == '_') {
            if (i - s > best.size()) best = tok.substr(s, i - s);
            s = i + 1;
        }
    }
    return best;
}

// A path ("com/amd/ZenDNN/blob/..."): two or more '/' and a piece between them that is a lower-case word.
bool looks_like_path(std::string_view tok) {
    size_t slashes = 0, s = 0;
    bool word = false;
    for (size_t i = 0; i <= tok.size(); ++i) {
        if (i == tok.size() || tok[i] == '/') {
            slashes += i < tok.size();
            bool lower = i - s >= 2;
            for (size_t k = s; k < i; ++k)
                lower = lower && is_lower(tok[k]);
            word = word || lower;
            s = i + 1;
        }
    }
    return slashes >= 2 && word;
}

// `key = "..."`, `"api_token": "..."`, `PASSWORD=...`, `Authorization: Bearer ...` right before pos.
bool keyword_assignment(std::string_view t, size_t pos) {
    auto skip_back = [&](size_t i) {
        while (i > 0 && pos - i < 8 &&
               (t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '"' || t[i - 1] == '\'' || t[i - 1] == '`'))
            --i;
        return i;
    };
    auto word_before = [&](size_t i) {
        size_t k = i;
        while (k > 0 && i - k < 48 && (is_alnum(t[k - 1]) || t[k - 1] == '_' || t[k - 1] == '-' || t[k - 1] == '.'))
            --k;
        std::string lower;
        for (size_t m = k; m < i; ++m)
            lower += to_lower(t[m]);
        return lower;
    };
    size_t i = skip_back(pos);
    if (i == 0) return false;
    if (t[i - 1] != '=' && t[i - 1] != ':') {
        const std::string w = word_before(i);
        return w == "bearer" || w == "token";
    }
    i = skip_back(i - 1);
    const std::string w = word_before(i);
    for (std::string_view k : {"key", "token", "secret", "passw", "pwd", "auth", "credential"})
        if (w.find(k) != std::string::npos) return true;
    return false;
}

} // namespace

// A token of [A-Za-z0-9+/_-] (and up to two '=' of padding) is a "high_entropy" secret when its longest
// piece between '-' and '_' has 20+ characters, mixes upper, lower and digits, has a Shannon entropy of at
// least 3.5 bits per character, changes character class (upper / lower / digit) at least 40% of the time
// (random keys ~62%, CamelCase names far less) and has at most half its bytes in lower-case words; and the
// token is not a path. Model names ("DeepSeek-R1-Distill-Qwen-32B") fail on the pieces, class names
// ("Llama3VisionAlphaChatHandler") on the class changes. Random IDs that are not secrets (completion IDs)
// do pass: the rule cannot tell them from keys.
// Hex-only strings (hashes, UUIDs, addresses) and shorter tokens are secrets only as the value of a key-like
// name (`api_key = "..."`, `"token": "..."`, `Authorization: Bearer ...`): "keyword_secret" (16+
// characters, letters and digits, entropy >= 3, class changes >= 25%).
size_t match_entropy(std::string_view t, size_t pos, const char** name, size_t* token_end) {
    size_t i = pos;
    while (i < t.size() && entropy_char(t[i]))
        ++i;
    const size_t len = i - pos;
    for (int pad = 0; pad < 2 && at(t, i) == '='; ++pad) // base64 padding belongs to the token
        ++i;
    *token_end = i;
    if (entropy_char(before(t, pos)) || len < 16) return 0;
    const std::string_view tok = t.substr(pos, len < 1024 ? len : 1024); // statistics over a prefix
    const std::string_view seg = longest_segment(tok);
    if (seg.size() >= 20) {
        const TokenStats st = token_stats(seg);
        if (!st.hex_only && st.upper && st.lower && st.digit && st.entropy >= 3.5 && st.change_rate >= 0.40 &&
            st.wordiness <= 0.5 && !looks_like_path(tok)) {
            *name = "high_entropy";
            return i;
        }
    }
    if (!keyword_assignment(t, pos)) return 0;
    const TokenStats st = token_stats(tok);
    if (st.digit && (st.upper || st.lower) && st.entropy >= 3.0 && st.change_rate >= 0.25) {
        *name = "keyword_secret";
        return i;
    }
    return 0;
}

namespace {

bool email_local_char(char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

// Top-level "domains" that are really file extensions in code and docs ("icon@2x.png").
bool file_extension(std::string_view tld) {
    static constexpr std::string_view kExt[] = {"png", "jpg", "jpeg", "gif", "svg", "webp", "py",  "cpp",  "hpp",
                                                "js",  "ts",  "json", "md",  "txt", "html", "css", "gguf", "bin"};
    for (std::string_view e : kExt)
        if (tld.size() == e.size() &&
            std::equal(tld.begin(), tld.end(), e.begin(), [](char a, char b) { return to_lower(a) == b; }))
            return true;
    return false;
}

} // namespace

void find_emails(std::string_view t, std::vector<Hit>& out) {
    // local@domain: local part [A-Za-z0-9._%+-]{1,64} not starting or ending in '.', domain labels of
    // [A-Za-z0-9-] (no leading or trailing '-'), two or more, the last alphabetic of 2-24 letters.
    for (size_t a = t.find('@'); a != std::string_view::npos; a = t.find('@', a + 1)) {
        size_t l = a;
        while (l > 0 && a - l <= 64 && email_local_char(t[l - 1]))
            --l;
        while (l < a && (t[l] == '.' || t[l] == '-' || t[l] == '+'))
            ++l;
        if (l == a || a - l > 64 || t[a - 1] == '.') continue;
        if (t.substr(l, a - l) == "git") continue; // git@host: the SSH service account, not a person
        size_t i = a + 1, end = 0, tld = 0;
        int labels = 0;
        while (true) {
            const size_t s = i;
            while (i < t.size() && (is_alnum(t[i]) || t[i] == '-') && i - s < 63)
                ++i;
            if (i == s || t[s] == '-' || t[i - 1] == '-') break;
            ++labels;
            end = i;
            tld = s;
            if (at(t, i) == '.' && is_alnum(at(t, i + 1))) {
                ++i;
                continue;
            }
            break;
        }
        if (labels < 2 || (end < t.size() && (is_alnum(t[end]) || t[end] == '_' || t[end] == '-'))) continue;
        const std::string_view top = t.substr(tld, end - tld);
        bool alpha = top.size() >= 2 && top.size() <= 24;
        for (char c : top)
            alpha = alpha && is_alpha(c);
        if (!alpha || file_extension(top)) continue;
        out.push_back({Entity::Email, l, end, "email"});
    }
}

void find_url_credentials(std::string_view t, std::vector<Hit>& out) {
    // scheme://user:password@host[:port] (RFC 3986 userinfo); the whole authority is the finding.
    for (size_t p = t.find("://"); p != std::string_view::npos; p = t.find("://", p + 3)) {
        size_t s = p;
        while (s > 0 && p - s < 32 && (is_alnum(t[s - 1]) || t[s - 1] == '+' || t[s - 1] == '.' || t[s - 1] == '-'))
            --s;
        while (s < p && !is_alpha(t[s]))
            ++s;
        if (s == p) continue;
        size_t i = p + 3, colon = std::string_view::npos;
        bool ok = false;
        for (; i < t.size() && i - p < 256; ++i) {
            const char c = t[i];
            if (c == '@') {
                ok = true;
                break;
            }
            if (static_cast<unsigned char>(c) <= ' ' || std::strchr("/?#\"'<>\\`[]{}|", c) != nullptr) break;
            if (c == ':' && colon == std::string_view::npos) colon = i;
        }
        if (!ok || colon == std::string_view::npos || colon + 1 == i) continue;
        size_t h = i + 1;
        if (at(t, h) == '[') {
            while (h < t.size() && h - i < 64 && t[h] != ']')
                ++h;
            if (at(t, h) != ']') continue;
            ++h;
        } else {
            while (h < t.size() && h - i < 256 && (is_alnum(t[h]) || t[h] == '.' || t[h] == '-' || t[h] == '_'))
                ++h;
            while (h > i + 1 && t[h - 1] == '.')
                --h;
        }
        if (h == i + 1) continue;
        if (at(t, h) == ':' && is_digit(at(t, h + 1))) {
            ++h;
            while (h < t.size() && is_digit(t[h]))
                ++h;
        }
        out.push_back({Entity::UrlCredentials, s, h, "url_credentials"});
        p = h - 3 > p ? h - 3 : p;
    }
}

void find_pem_keys(std::string_view t, std::vector<Hit>& out) {
    // -----BEGIN ... PRIVATE KEY----- through its -----END ...-----; without an END line, to the end of the
    // text (a truncated key is still a key).
    constexpr std::string_view kBegin = "-----BEGIN ";
    for (size_t p = t.find(kBegin); p != std::string_view::npos; p = t.find(kBegin, p + 1)) {
        const size_t label_end = t.find("-----", p + kBegin.size());
        if (label_end == std::string_view::npos || label_end - p > 80) continue;
        if (t.substr(p, label_end - p).find("PRIVATE KEY") == std::string_view::npos) continue;
        size_t end = t.size();
        const size_t e = t.find("-----END ", label_end + 5);
        if (e != std::string_view::npos) {
            const size_t e2 = t.find("-----", e + 9);
            if (e2 != std::string_view::npos) end = e2 + 5;
        }
        out.push_back({Entity::Secret, p, end, "pem_private_key"});
        p = end - 1;
    }
}

} // namespace hearth::privacy::detail
