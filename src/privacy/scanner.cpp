// privacy/scanner.cpp: one pass over the text dispatching on cheap triggers, whole-text passes for '@',
// "://" and "-----BEGIN ", the user's PCRE2 patterns, then overlap resolution.
//
// The main loop visits each word start (a run of ASCII letters and digits) once and calls only the
// detectors its first byte can begin: digits -> numbers, IPv4, MAC/IPv6; upper-case letters -> IBAN, UK
// NINO, NIE, AWS keys; known prefix letters -> secret prefixes; "eyJ" -> JWT; '+' and '(' -> phones; "::"
// -> IPv6. The high-entropy check runs once per token of [A-Za-z0-9+/=_-] (not again for the words inside
// a token it already examined). After a match the loop continues after it.
#include "privacy/detect.h"
#include "privacy/privacy.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <algorithm>
#include <cstring>
#include <map>
#include <pcre2.h>

namespace hearth::privacy {

using detail::Hit;

namespace {

// Tie-break between candidates of equal length: lower is more specific.
int specificity(Entity e) {
    switch (e) {
    case Entity::Secret:
        return 0;
    case Entity::UrlCredentials:
        return 1;
    case Entity::PaymentCard:
        return 2;
    case Entity::Iban:
        return 3;
    case Entity::NationalId:
        return 4;
    case Entity::Email:
        return 5;
    case Entity::Phone:
        return 6;
    case Entity::IpAddress:
        return 7;
    case Entity::MacAddress:
        return 8;
    case Entity::Custom:
        return 9;
    }
    return 9;
}

bool enabled(unsigned disabled_mask, Entity e) {
    return (disabled_mask & (1u << static_cast<unsigned>(e))) == 0;
}

// The best (longest, then earliest-tried) match at one position.
struct Best {
    Entity entity = Entity::Custom;
    size_t end = 0;
    const char* name = nullptr;
    void offer(bool on, Entity e, size_t match_end, const char* detector) {
        if (on && match_end > end) {
            entity = e;
            end = match_end;
            name = detector;
        }
    }
};

bool secret_first_char(char c) {
    return c == 's' || c == 'r' || c == 'g' || c == 'x' || c == 'A' || c == 'h' || c == 'n' || c == 'p' || c == 'S';
}

void try_digit_start(std::string_view t, size_t i, unsigned mask, Best& best) {
    using namespace detail;
    auto on = [&](Entity e) { return enabled(mask, e); };
    best.offer(on(Entity::PaymentCard), Entity::PaymentCard, match_card(t, i), "luhn_card");
    best.offer(on(Entity::NationalId), Entity::NationalId, match_us_ssn(t, i), "us_ssn");
    best.offer(on(Entity::NationalId), Entity::NationalId, match_in_aadhaar(t, i), "in_aadhaar");
    best.offer(on(Entity::NationalId), Entity::NationalId, match_es_dni(t, i), "es_dni");
    best.offer(on(Entity::NationalId), Entity::NationalId, match_fi_hetu(t, i), "fi_hetu");
    best.offer(on(Entity::NationalId), Entity::NationalId, match_nl_bsn(t, i), "nl_bsn");
    best.offer(on(Entity::Phone), Entity::Phone, match_phone_nanp(t, i), "phone_nanp");
    best.offer(on(Entity::Phone), Entity::Phone, match_phone_national(t, i), "phone_national");
    best.offer(on(Entity::IpAddress), Entity::IpAddress, match_ipv4(t, i), "ipv4");
    best.offer(on(Entity::MacAddress), Entity::MacAddress, match_mac(t, i), "mac");
    best.offer(on(Entity::IpAddress), Entity::IpAddress, match_ipv6(t, i), "ipv6");
}

// word_end: the end of the run of letters and digits at i. Each detector is tried only where its shape
// can start: a secret prefix ends in '-', '_' or '.' or is followed by a long run (AKIA..., AIza...);
// MAC and IPv6 groups are followed by ':', '-' or '.'; IBAN and NINO need digits right after two capitals.
void try_letter_start(std::string_view t, size_t i, size_t word_end, unsigned mask, Best& best) {
    using namespace detail;
    auto on = [&](Entity e) { return enabled(mask, e); };
    const char c = t[i], after = at(t, word_end);
    const bool joined = after == '-' || after == '_' || after == '.' || after == ':';
    if ((joined || word_end - i >= 16) && secret_first_char(c) && on(Entity::Secret)) {
        const char* name = nullptr;
        const size_t end = match_secret_prefix(t, i, &name);
        best.offer(true, Entity::Secret, end, name);
    }
    if (c == 'e' && joined) best.offer(on(Entity::Secret), Entity::Secret, match_jwt(t, i), "jwt");
    if (is_upper(c) && (word_end - i >= 4 || after == ' ')) {
        best.offer(on(Entity::Iban), Entity::Iban, match_iban(t, i), "iban");
        best.offer(on(Entity::NationalId), Entity::NationalId, match_uk_nino(t, i), "uk_nino");
        if (c >= 'X') best.offer(on(Entity::NationalId), Entity::NationalId, match_es_dni(t, i), "es_nie");
    }
    if (is_hex(c) && joined && word_end - i <= 4) {
        best.offer(on(Entity::MacAddress), Entity::MacAddress, match_mac(t, i), "mac");
        best.offer(on(Entity::IpAddress), Entity::IpAddress, match_ipv6(t, i), "ipv6");
    }
}

// True if the word at pos continues a run of short space-separated groups of digits and capitals, one of
// them with a digit ("GB06 DLJR 0237 5820 ...", "4758 3398 0407 6777"): the tail of a longer grouped number
// (an IBAN or card that failed its checksum) is not a number of its own. A group ending at `stop` (the end of
// the previous finding) ends the run, so "4111 1111 1111 1111 5555 5555 5555 4444" gives two cards.
bool inside_group_run(std::string_view t, size_t pos, size_t stop) {
    using namespace detail;
    size_t i = pos;
    for (int hops = 0; hops < 8; ++hops) {
        if (before(t, i) != ' ' || i - 1 <= stop) return false;
        const size_t j = i - 1; // the separator
        size_t k = j;
        while (k > 0 && (is_digit(t[k - 1]) || is_upper(t[k - 1])) && j - k < 7)
            --k;
        if (k == j || j - k > 6 || k < stop) return false;
        // The group stands alone: "1" in "10.0.0.1 4111..." is the end of an address, not a group.
        if (k > 0 && !(t[k - 1] == ' ' || t[k - 1] == '\n' || t[k - 1] == '\t' ||
                       std::strchr("(\"':=[{,;", t[k - 1]) != nullptr))
            return false;
        for (size_t m = k; m < j; ++m)
            if (is_digit(t[m])) return true;
        i = k;
    }
    return false;
}

// The built-in detectors over t, appending candidates (possibly overlapping) to out.
void scan_builtin(std::string_view t, unsigned mask, std::vector<Hit>& out) {
    using namespace detail;
    if (enabled(mask, Entity::Email)) find_emails(t, out);
    if (enabled(mask, Entity::UrlCredentials)) find_url_credentials(t, out);
    if (enabled(mask, Entity::Secret)) find_pem_keys(t, out);
    const bool entropy_on = enabled(mask, Entity::Secret);
    size_t entropy_until = 0; // tokens before this were already examined for entropy
    size_t last_end = 0;      // end of the previous finding
    size_t i = 0;
    const size_t n = t.size();
    while (i < n) {
        const char c = t[i];
        Best best;
        size_t word_end = i + 1;
        if (is_alnum(c)) {
            while (word_end < n && is_alnum(t[word_end]))
                ++word_end;
            if (is_digit(c)) {
                const char next = at(t, word_end);
                const bool joined = next == ' ' || next == '.' || next == ':' || next == '-' || next == '/';
                if ((word_end - i >= 3 || joined) && !inside_group_run(t, i, last_end))
                    try_digit_start(t, i, mask, best);
            } else {
                try_letter_start(t, i, word_end, mask, best);
            }
        } else if (c == '+') {
            best.offer(enabled(mask, Entity::Phone), Entity::Phone, match_phone_e164(t, i), "phone_e164");
        } else if (c == '(') {
            best.offer(enabled(mask, Entity::Phone), Entity::Phone, match_phone_nanp(t, i), "phone_nanp");
        } else if (c == ':' && at(t, i + 1) == ':') {
            best.offer(enabled(mask, Entity::IpAddress), Entity::IpAddress, match_ipv6(t, i), "ipv6");
        }
        // A token shorter than 16 bytes that ends with its word cannot be a secret: skip the second look.
        const char after = at(t, word_end);
        const bool may_be_long = word_end - i >= 16 || after == '+' || after == '/' || after == '_' || after == '-';
        if (entropy_on && i >= entropy_until && may_be_long &&
            (is_alnum(c) || c == '+' || c == '/' || c == '_' || c == '-')) {
            const char* name = nullptr;
            size_t token_end = i;
            const size_t end = match_entropy(t, i, &name, &token_end);
            entropy_until = token_end;
            best.offer(true, Entity::Secret, end, name);
        }
        if (best.end > i) {
            out.push_back({best.entity, i, best.end, best.name});
            i = last_end = best.end;
        } else {
            i = word_end;
        }
    }
}

// Keeps the longest, then most specific, of overlapping candidates; returns them sorted by begin.
std::vector<Hit> resolve(std::vector<Hit> hits) {
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
        const size_t la = a.end - a.begin, lb = b.end - b.begin;
        if (la != lb) return la > lb;
        if (a.entity != b.entity) return specificity(a.entity) < specificity(b.entity);
        return a.begin < b.begin;
    });
    std::map<size_t, Hit> kept; // begin -> hit
    for (const Hit& h : hits) {
        if (h.end <= h.begin) continue;
        auto next = kept.lower_bound(h.begin);
        if (next != kept.end() && next->first < h.end) continue;
        if (next != kept.begin() && std::prev(next)->second.end > h.begin) continue;
        kept.emplace(h.begin, h);
    }
    std::vector<Hit> out;
    out.reserve(kept.size());
    for (auto& [begin, h] : kept)
        out.push_back(h);
    return out;
}

struct CodeDeleter {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct ContextDeleter {
    void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};
struct MatchDataDeleter {
    void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

std::string pcre2_message(int code) {
    PCRE2_UCHAR buf[256];
    const int n = pcre2_get_error_message(code, buf, sizeof buf);
    return n < 0 ? "pcre2 error " + std::to_string(code) : std::string(reinterpret_cast<const char*>(buf));
}

// A user term as a pattern that matches it literally: every byte that is not a letter or digit escaped.
std::string escape_literal(std::string_view term) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (char c : term) {
        if (detail::is_alnum(c)) {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += "\\x{";
            out += kHex[u >> 4];
            out += kHex[u & 15];
            out += '}';
        }
    }
    return out;
}

} // namespace

struct Scanner::Compiled {
    struct Pattern {
        std::unique_ptr<pcre2_code, CodeDeleter> code;
        std::string detector; // "term" or "regex_<i>"
    };
    std::vector<Pattern> patterns;
    std::unique_ptr<pcre2_match_context, ContextDeleter> context;
};

Scanner::Scanner(Scanner&&) noexcept = default;
Scanner& Scanner::operator=(Scanner&&) noexcept = default;
Scanner::~Scanner() = default;

Result<Scanner> Scanner::create(const ScannerOptions& options) {
    Scanner s;
    for (Entity e : options.disabled)
        s.disabled_mask_ |= 1u << static_cast<unsigned>(e);
    auto compiled = std::make_unique<Compiled>();
    compiled->context.reset(pcre2_match_context_create(nullptr));
    // Bounded work per user pattern: a catastrophic regex fails the scan (fail-closed) instead of hanging.
    pcre2_set_match_limit(compiled->context.get(), 1000000);
    pcre2_set_depth_limit(compiled->context.get(), 10000);
    auto compile = [&](const std::string& pattern, uint32_t flags, std::string detector, const std::string& what) {
        int err = 0;
        PCRE2_SIZE offset = 0;
        pcre2_code* code =
            pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags, &err, &offset, nullptr);
        if (code == nullptr) {
            return Status::error(Code::BadField,
                                 what + ": " + pcre2_message(err) + " at offset " + std::to_string(offset));
        }
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); // without JIT (unsupported CPU) the interpreter runs
        compiled->patterns.push_back({std::unique_ptr<pcre2_code, CodeDeleter>(code), std::move(detector)});
        return Status::ok();
    };
    std::string alternation;
    for (const std::string& term : options.terms) {
        if (term.empty()) continue;
        if (!alternation.empty()) alternation += '|';
        alternation += escape_literal(term);
    }
    if (!alternation.empty()) {
        HEARTH_TRY(compile("(?<![A-Za-z0-9_])(?:" + alternation + ")(?![A-Za-z0-9_])", PCRE2_CASELESS, "term",
                           "privacy terms"));
    }
    for (size_t i = 0; i < options.regexes.size(); ++i) {
        const std::string& re = options.regexes[i];
        HEARTH_TRY(compile(re, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, "regex_" + std::to_string(i),
                           "privacy regex " + std::to_string(i) + " \"" + re + "\""));
    }
    s.compiled_ = std::move(compiled);
    return s;
}

Result<std::vector<Finding>> Scanner::scan(std::string_view text) const {
    std::vector<Hit> hits;
    scan_builtin(text, disabled_mask_, hits);
    if (compiled_ && enabled(disabled_mask_, Entity::Custom)) {
        for (const Compiled::Pattern& p : compiled_->patterns) {
            std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
                pcre2_match_data_create_from_pattern(p.code.get(), nullptr));
            PCRE2_SIZE start = 0;
            while (start <= text.size()) {
                const int rc = pcre2_match(p.code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                                           0, md.get(), compiled_->context.get());
                if (rc == PCRE2_ERROR_NOMATCH) break;
                if (rc < 0) {
                    return Status::error(Code::Internal,
                                         "privacy " + p.detector + " failed (" + pcre2_message(rc) + "): not sent");
                }
                const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
                if (ov[1] > ov[0]) hits.push_back({Entity::Custom, ov[0], ov[1], p.detector.c_str()});
                start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
            }
        }
    }
    std::vector<Finding> out;
    for (const Hit& h : resolve(std::move(hits)))
        out.push_back({h.entity, h.begin, h.end, h.detector});
    return out;
}

} // namespace hearth::privacy
