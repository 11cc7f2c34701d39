// tests/privacy/corpus.h: a deterministic generator of prompts carrying sensitive values, for the privacy
// guard's tests and the router's end-to-end tests. Header-only; depends on privacy/checksums.h only.
//
// Every value is valid for its detector (Luhn, mod 97, national check digits computed here), and every
// prompt lists the exact original values it contains. make_corpus(n, seed) returns n prompts: prompt i
// carries a value of kind i % kind_count() (so every kind appears) plus up to two more, embedded in prose,
// JSON, code or config text, the values of one prompt spread over one to four messages. The same seed gives
// the same corpus on every platform (own RNG, no <random> distributions).
//
// invalid_numbers(n, seed) returns numbers that fail their checksum or issuing rules (cards, IBANs, SSNs,
// DNI/NIE, HETU, Aadhaar, BSN, NINO), each in a sentence that gives it any context word it needs.
#pragma once

#include "privacy/checksums.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace hearth::privacy::corpus {

// User terms the corpus uses for Entity::Custom: scan with ScannerOptions{.terms = kTerms}.
inline const std::vector<std::string> kTerms = {"Bluebird", "Project Nightjar"};

struct Prompt {
    std::vector<std::string> messages;  // the texts of one request (e.g. chat messages)
    std::vector<std::string> originals; // every sensitive value in them, as it occurs
    std::vector<std::string> kinds;     // the kind of each original ("card", "iban", ...)
};

class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() { // splitmix64
        uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
    int range(int lo, int hi) { return lo + below(hi - lo + 1); } // inclusive
    template <typename T> const T& pick(const std::vector<T>& v) {
        return v[static_cast<size_t>(below(static_cast<int>(v.size())))];
    }
    std::string digits(int n) {
        std::string s;
        for (int i = 0; i < n; ++i)
            s += static_cast<char>('0' + below(10));
        return s;
    }
    std::string chars(int n, const std::string& alphabet) {
        std::string s;
        for (int i = 0; i < n; ++i)
            s += alphabet[static_cast<size_t>(below(static_cast<int>(alphabet.size())))];
        return s;
    }

private:
    uint64_t s_;
};

inline const std::string kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
inline const std::string kLower = "abcdefghijklmnopqrstuvwxyz";
inline const std::string kDigits = "0123456789";
inline const std::string kAlnum = kUpper + kLower + kDigits;
inline const std::string kHexLower = "0123456789abcdef";

// A random token that changes character class (upper/lower/digit) at every position: random-looking to any
// entropy rule, and never a dictionary word.
inline std::string random_token(Rng& r, int n) {
    const std::string* classes[3] = {&kUpper, &kLower, &kDigits};
    std::string s;
    int last = -1;
    for (int i = 0; i < n; ++i) {
        int c = r.below(3);
        if (c == last) c = (c + 1 + r.below(2)) % 3;
        s += r.pick(std::vector<char>(classes[c]->begin(), classes[c]->end()));
        last = c;
    }
    return s;
}

inline std::string group(const std::string& d, const std::vector<int>& sizes, char sep) {
    std::string out;
    size_t at = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
        if (i) out += sep;
        out += d.substr(at, static_cast<size_t>(sizes[i]));
        at += static_cast<size_t>(sizes[i]);
    }
    return out;
}

inline char luhn_digit(const std::string& body) {
    for (char c = '0'; c <= '9'; ++c)
        if (check::luhn(body + c)) return c;
    return '0';
}

inline std::string card(Rng& r, bool valid = true) {
    static const std::vector<std::pair<std::string, int>> kIins = {{"4", 16},  {"51", 16}, {"55", 16},   {"2221", 16},
                                                                   {"34", 15}, {"37", 15}, {"6011", 16}, {"3530", 16}};
    const auto& [iin, len] = r.pick(kIins);
    std::string d = iin + r.digits(len - 1 - static_cast<int>(iin.size()));
    char c = luhn_digit(d);
    if (!valid) c = static_cast<char>('0' + (c - '0' + 1 + r.below(9)) % 10);
    d += c;
    switch (r.below(3)) {
    case 0:
        return d;
    case 1:
        return len == 15 ? group(d, {4, 6, 5}, ' ') : group(d, {4, 4, 4, 4}, ' ');
    default:
        return len == 15 ? group(d, {4, 6, 5}, '-') : group(d, {4, 4, 4, 4}, '-');
    }
}

inline std::string iban(Rng& r, bool valid = true) {
    struct Country {
        const char* cc;
        const char* shape; // 'A' letter, '9' digit
    };
    static const std::vector<Country> kCountries = {
        {"DE", "999999999999999999"},      {"GB", "AAAA99999999999999"},   {"FR", "99999999999999999999999"},
        {"NL", "AAAA9999999999"},          {"ES", "99999999999999999999"}, {"IT", "A9999999999999999999999"},
        {"CH", "99999999999999999"},       {"BE", "999999999999"},         {"AT", "9999999999999999"},
        {"PL", "999999999999999999999999"}};
    const Country& c = r.pick(kCountries);
    std::string bban;
    for (const char* p = c.shape; *p; ++p)
        bban += *p == 'A' ? kUpper[static_cast<size_t>(r.below(26))] : static_cast<char>('0' + r.below(10));
    const int rem = check::iban_mod97(std::string(c.cc) + "00" + bban);
    int chk = 98 - rem;
    if (!valid) { // any other check number in 2..98 leaves a remainder other than 1
        int bad = chk;
        while (bad == chk)
            bad = r.range(2, 98);
        chk = bad;
    }
    std::string s = std::string(c.cc) + (chk < 10 ? "0" : "") + std::to_string(chk) + bban;
    if (r.below(2)) {
        std::string spaced;
        for (size_t i = 0; i < s.size(); ++i) {
            if (i && i % 4 == 0) spaced += ' ';
            spaced += s[i];
        }
        return spaced;
    }
    return s;
}

inline std::string ssn(Rng& r, bool valid = true) {
    int area = r.range(1, 899);
    if (area == 666) area = 667;
    int grp = r.range(1, 99), serial = r.range(1, 9999);
    if (!valid) {
        switch (r.below(4)) {
        case 0:
            area = 0;
            break;
        case 1:
            area = 666;
            break;
        case 2:
            area = r.range(900, 999);
            break;
        default:
            grp = 0;
        }
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03d-%02d-%04d", area, grp, serial);
    return buf;
}

inline std::string dni(Rng& r, bool valid = true) {
    const bool nie = r.below(3) == 0;
    const int prefix = r.below(3);
    const std::string d = r.digits(nie ? 7 : 8);
    const uint32_t v = static_cast<uint32_t>(std::stoul((nie ? std::to_string(prefix) : "") + d));
    char letter = check::dni_letter(v);
    if (!valid) letter = check::dni_letter(v + 1 + static_cast<uint32_t>(r.below(22)));
    return (nie ? std::string(1, static_cast<char>('X' + prefix)) : "") + d + letter;
}

inline std::string hetu(Rng& r, bool valid = true) {
    const int day = r.range(1, 28), month = r.range(1, 12), year = r.range(0, 99), ind = r.range(2, 899);
    const char sign = r.pick(std::vector<char>{'-', 'A', '+', 'Y'});
    const uint32_t v = static_cast<uint32_t>((day * 10000 + month * 100 + year) * 1000 + ind);
    char q = check::hetu_char(v);
    if (!valid) q = check::hetu_char(v + 1 + static_cast<uint32_t>(r.below(30)));
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d%02d%02d%c%03d%c", day, month, year, sign, ind, q);
    return buf;
}

inline std::string aadhaar(Rng& r, bool valid = true) {
    std::string body = std::to_string(r.range(2, 9)) + r.digits(10);
    char last = '0';
    for (char c = '0'; c <= '9'; ++c)
        if (check::verhoeff(body + c) != !valid) {
            last = c;
            if (valid || r.below(2)) break;
        }
    return group(body + last, {4, 4, 4}, ' ');
}

inline std::string bsn(Rng& r, bool valid = true) {
    while (true) {
        const std::string body = std::to_string(r.range(1, 9)) + r.digits(7);
        for (char c = '0'; c <= '9'; ++c)
            if (check::bsn(body + c) == valid) return body + c;
    }
}

inline std::string nino(Rng& r, bool valid = true) {
    static const std::string kFirst = "ABCEGHJKLMNOPRSTWXYZ", kSecond = "ABCEGHJKLMNPRSTWXYZ";
    std::string p;
    do {
        p = std::string(1, r.pick(std::vector<char>(kFirst.begin(), kFirst.end()))) +
            r.pick(std::vector<char>(kSecond.begin(), kSecond.end()));
    } while (p == "BG" || p == "GB" || p == "KN" || p == "NK" || p == "NT" || p == "TN" || p == "ZZ");
    if (!valid) p = r.pick(std::vector<std::string>{"DA", "FA", "QQ", "AO", "GB", "ZZ", "BG"});
    const std::string d = r.digits(6);
    const char suffix = static_cast<char>('A' + r.below(4));
    if (r.below(2)) return p + " " + d.substr(0, 2) + " " + d.substr(2, 2) + " " + d.substr(4, 2) + " " + suffix;
    return p + d + suffix;
}

inline std::string b64url(const std::string& s) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char c : s) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += k[(acc >> bits) & 63];
        }
    }
    if (bits) out += k[(acc << (6 - bits)) & 63];
    return out;
}

// One sensitive value of kind k; `kind` receives its name. Some kinds come with the context word the
// detector needs ("BSN 123456782"): `original` is then only the number.
inline std::string value(Rng& r, int k, std::string* kind, std::string* original) {
    static const std::vector<std::string> kFirst = {"alice", "bob", "carol", "dmitri", "eva", "farid", "grete"};
    static const std::vector<std::string> kDomains = {"example.com", "mail.example.org", "corp.example.net",
                                                      "uni-hamburg.de", "post.example.co.uk"};
    std::string v, shown;
    switch (k) {
    case 0:
        *kind = "email";
        v = r.pick(kFirst) + "." + r.pick(kFirst) + std::to_string(r.range(1, 99)) + "@" + r.pick(kDomains);
        break;
    case 1: {
        *kind = "phone";
        const std::string sub = r.digits(4);
        switch (r.below(6)) {
        case 0:
            v = "+44 20 " + std::to_string(r.range(7000, 8999)) + " " + sub;
            break;
        case 1:
            v = "(" + std::to_string(r.range(201, 989)) + ") " + std::to_string(r.range(200, 999)) + "-" + sub;
            break;
        case 2:
            v = std::to_string(r.range(201, 989)) + "-" + std::to_string(r.range(200, 999)) + "-" + sub;
            break;
        case 3:
            v = "030 " + std::to_string(r.range(2, 9)) + r.digits(7);
            break;
        case 4:
            v = "0" + std::to_string(r.range(1, 7)) + " " + r.digits(2) + " " + r.digits(2) + " " + r.digits(2) + " " +
                r.digits(2);
            break;
        default:
            v = "+49 " + std::to_string(r.range(151, 179)) + " " + r.digits(7);
        }
        break;
    }
    case 2:
        *kind = "card";
        v = card(r);
        break;
    case 3:
        *kind = "iban";
        v = iban(r);
        break;
    case 4:
        *kind = "us_ssn";
        v = ssn(r);
        break;
    case 5:
        *kind = "es_dni";
        v = dni(r);
        break;
    case 6:
        *kind = "fi_hetu";
        v = hetu(r);
        break;
    case 7:
        *kind = "in_aadhaar";
        v = aadhaar(r);
        break;
    case 8:
        *kind = "nl_bsn";
        v = bsn(r);
        shown = "BSN " + v;
        break;
    case 9:
        *kind = "uk_nino";
        v = nino(r);
        break;
    case 10:
        *kind = "ipv4";
        v = std::to_string(r.range(1, 223)) + "." + std::to_string(r.range(0, 255)) + "." +
            std::to_string(r.range(0, 255)) + "." + std::to_string(r.range(1, 254));
        break;
    case 11: {
        *kind = "ipv6";
        std::vector<std::string> g;
        for (int i = 0; i < 8; ++i)
            g.push_back(r.chars(r.range(1, 4), kHexLower));
        g[0] = "2001";
        g[1] = "db8";
        v = g[0] + ":" + g[1] +
            (r.below(2) ? "::" + g[6] + ":" + g[7]
                        : ":" + g[2] + ":" + g[3] + ":" + g[4] + ":" + g[5] + ":" + g[6] + ":" + g[7]);
        break;
    }
    case 12: {
        *kind = "mac";
        const char sep = r.below(2) ? ':' : '-';
        for (int i = 0; i < 6; ++i)
            v += (i ? std::string(1, sep) : "") + r.chars(2, "0123456789ABCDEF");
        break;
    }
    case 13: {
        *kind = "secret";
        switch (r.below(9)) {
        case 0:
            v = "sk-proj-" + random_token(r, 40);
            break;
        case 1:
            v = "ghp_" + random_token(r, 36);
            break;
        case 2:
            v = "AKIA" + r.chars(16, kUpper + kDigits);
            break;
        case 3:
            v = "AIza" + random_token(r, 35);
            break;
        case 4:
            v = "glpat-" + random_token(r, 20);
            break;
        case 5:
            v = "xoxb-" + r.digits(11) + "-" + r.digits(12) + "-" + random_token(r, 24);
            break;
        case 6:
            v = "sk_live_" + random_token(r, 24);
            break;
        case 7:
            v = b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." +
                b64url("{\"sub\":\"" + r.digits(10) + "\",\"name\":\"" + r.pick(kFirst) + "\"}") + "." +
                random_token(r, 43);
            break;
        default:
            v = random_token(r, r.range(28, 48)); // high entropy, no known prefix
        }
        break;
    }
    case 14:
        *kind = "pem_private_key";
        v = "-----BEGIN RSA PRIVATE KEY-----\n";
        for (int i = 0; i < 4; ++i)
            v += random_token(r, 64) + "\n";
        v += "-----END RSA PRIVATE KEY-----";
        break;
    case 15:
        *kind = "url_credentials";
        v = r.pick(std::vector<std::string>{"postgres", "https", "redis", "mongodb"}) + "://" + r.pick(kFirst) + ":" +
            random_token(r, 12) + "@db" + std::to_string(r.range(1, 9)) +
            ".internal.example.com:" + std::to_string(r.range(1024, 65535));
        break;
    default:
        *kind = "term";
        v = r.pick(kTerms);
    }
    *original = v;
    return shown.empty() ? v : shown;
}
inline constexpr int kKinds = 17;

// `shown` embedded in text of one style; values that contain newlines (PEM keys) stay out of JSON strings.
inline std::string embed(Rng& r, const std::string& shown, const std::string& kind) {
    const bool multiline = shown.find('\n') != std::string::npos;
    int style = r.below(4);
    if (multiline && style == 1) style = 0;
    switch (style) {
    case 0: {
        static const std::vector<std::string> kBefore = {
            "Hi, could you check the account details below?\nThe value is ", "My colleague said to use ",
            "Please summarize this note: the record shows ", "Quick question about "};
        static const std::vector<std::string> kAfter = {" and tell me if it looks right.", ", thanks!",
                                                        " (from the old spreadsheet).", "\nWhat should I do next?"};
        return r.pick(kBefore) + shown + r.pick(kAfter);
    }
    case 1:
        return "{\"customer\": {\"id\": " + std::to_string(r.range(1, 99999)) + ", \"" + kind + "\": \"" + shown +
               "\", \"note\": \"imported\"}}";
    case 2:
        return "def connect():\n    # credentials for the staging job\n    value = \"" + shown +
               "\"\n    return client(value, retries=3)\n";
    default:
        return "[settings]\nowner = " + shown + "\nregion = eu-west-1\n";
    }
}

inline std::vector<Prompt> make_corpus(size_t n, uint64_t seed) {
    Rng r(seed);
    std::vector<Prompt> out;
    for (size_t i = 0; i < n; ++i) {
        Prompt p;
        const int n_values = 1 + r.below(3);
        const int n_messages = 1 + r.below(4);
        p.messages.assign(static_cast<size_t>(n_messages), "");
        for (int j = 0; j < n_values; ++j) {
            const int k = j == 0 ? static_cast<int>(i % kKinds) : r.below(kKinds);
            std::string kind, original;
            const std::string shown = value(r, k, &kind, &original);
            std::string& m = p.messages[static_cast<size_t>(r.below(n_messages))];
            if (!m.empty()) m += "\n\n";
            m += embed(r, shown, kind);
            p.originals.push_back(original);
            p.kinds.push_back(kind);
        }
        for (std::string& m : p.messages)
            if (m.empty()) m = "Thanks, that is all the context I have.";
        out.push_back(std::move(p));
    }
    return out;
}

// Numbers that fail their checksum or issuing rule, each in a sentence (with its context word).
inline std::vector<std::string> invalid_numbers(size_t n, uint64_t seed) {
    Rng r(seed);
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
        switch (i % 8) {
        case 0:
            out.push_back("Card number " + card(r, false) + " was declined.");
            break;
        case 1:
            out.push_back("Transfer to IBAN " + iban(r, false) + " please.");
            break;
        case 2:
            out.push_back("SSN: " + ssn(r, false) + " on file.");
            break;
        case 3:
            out.push_back("DNI " + dni(r, false) + " registered.");
            break;
        case 4:
            out.push_back("Henkilötunnus " + hetu(r, false) + " noted.");
            break;
        case 5:
            out.push_back("Aadhaar " + aadhaar(r, false) + " linked.");
            break;
        case 6:
            out.push_back("BSN " + bsn(r, false) + " bekend.");
            break;
        default:
            out.push_back("NI number " + nino(r, false) + " given.");
        }
    }
    return out;
}

} // namespace hearth::privacy::corpus
