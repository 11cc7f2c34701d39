// privacy/privacy.h: the privacy guard: what in a text is sensitive, and how it is kept from leaving.
//
// Owns: the detectors (Scanner), the per-entity policy (Policy, Verdict), per-request pseudonymization with
// typed placeholders (Pseudonymizer), restoring originals in an answer, whole or streamed (StreamRestorer),
// and the last check before bytes leave the machine (egress_clean).
//
// Invariants:
// - Scanner is immutable after create(); scan() is const and safe to call from several threads at once.
// - scan() returns findings sorted by begin, non-overlapping; where candidates overlap, the longer wins, then
//   the more specific entity (secret > url credentials > card > iban > national id > email > phone > ip > mac
//   > custom). Numbers that fail their checksum (Luhn, mod 97, national check digits) are never reported.
// - Placeholders look like <EMAIL_1>: '<', the entity's tag, '_', a number from 1, '>'. Within one
//   Pseudonymizer the same original always gets the same placeholder, and a placeholder never names two
//   originals. The mapping lives in memory only, for one request.
// - Detection is byte-oriented over UTF-8 (ASCII classes for word boundaries); it never throws and never
//   allocates per input byte. Only user regexes can fail (PCRE2 match limits): scan() then returns an error,
//   and the caller must treat the request as keep-local (fail-closed).
//
// Use, per request (the router):
//   auto scanner = Scanner::create(options);              // once, at start-up; BadField names a bad regex
//   Verdict verdict; Pseudonymizer pseudo;
//   for (text : every outgoing text) {                     // raw texts, before JSON serialization
//       auto found = scanner->scan(text);                  // error -> answer locally
//       verdict.add(policy, *found);
//   }
//   if (verdict.keep_local) -> answer locally
//   else for (text : texts) text = pseudo.apply(text, to_pseudonymize(policy, scan(text)));
//   payload = serialize(...);
//   if (!egress_clean(payload, pseudo.originals())) -> block, answer locally
//   answer = pseudo.restore(answer), or StreamRestorer(pseudo).feed(chunk)... finish() when streaming.
#pragma once

#include "base/status.h"

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::privacy {

enum class Entity {
    Email,
    Phone,
    PaymentCard,
    Iban,
    NationalId,
    IpAddress,
    MacAddress,
    Secret,
    UrlCredentials,
    Custom,
};
inline constexpr int kEntityCount = 10;

// "email", "phone", "payment_card", "iban", "national_id", "ip_address", "mac_address", "secret",
// "url_credentials", "custom".
const char* entity_name(Entity e);
std::optional<Entity> parse_entity(std::string_view name);
// "EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "IP", "MAC", "SECRET", "URL_CREDENTIALS", "CUSTOM".
const char* placeholder_tag(Entity e);

// One sensitive value: text[begin, end). `detector` names the rule that found it (e.g. "us_ssn", "jwt",
// "pem_private_key", "luhn_card", "term", "regex_0"), for audit and for reviewing false alarms.
struct Finding {
    Entity entity = Entity::Custom;
    size_t begin = 0, end = 0;
    std::string detector;
};

struct ScannerOptions {
    std::vector<std::string> terms;   // user-defined words, ASCII case-insensitive, whole words only
    std::vector<std::string> regexes; // user-defined PCRE2 patterns (UTF-8), each reported as Entity::Custom
    std::vector<Entity> disabled;     // detectors not to run
};

class Scanner {
public:
    // Compiles the user's terms and regexes (PCRE2 with JIT), once. A bad regex -> Code::BadField, naming it.
    static Result<Scanner> create(const ScannerOptions& options);
    Scanner(Scanner&&) noexcept;
    Scanner& operator=(Scanner&&) noexcept;
    ~Scanner();

    // All findings in `text`, sorted and non-overlapping. Errors only when a user regex hits PCRE2's match
    // limits (Code::Internal): the caller must not send the text anywhere.
    Result<std::vector<Finding>> scan(std::string_view text) const;

    struct Compiled; // user patterns; defined in scanner.cpp

private:
    Scanner() = default;
    std::unique_ptr<const Compiled> compiled_;
    unsigned disabled_mask_ = 0; // bit (1 << int(Entity))
};

// What to do with a request whose texts contain an entity.
enum class Action {
    KeepLocal,    // answer on this machine; nothing is sent
    Pseudonymize, // replace by placeholders before sending, restore in the answer
    Allow,        // send as is
};
const char* action_name(Action a); // "keep-local", "pseudonymize", "allow"
std::optional<Action> parse_action(std::string_view name);

struct Policy {
    std::map<Entity, Action> actions;
    Action fallback = Action::KeepLocal; // for entities not in `actions`
    Action action(Entity e) const;
};

// The decision for one request: keep_local if any finding's action is KeepLocal; counts of findings per
// entity (for the audit log). Feed every text of the request (messages, tools, tool results) with add().
struct Verdict {
    bool keep_local = false;
    std::map<Entity, int> counts;
    void add(const Policy& policy, std::span<const Finding> findings);
};

// The findings whose action is Pseudonymize: what to hand to Pseudonymizer::apply.
std::vector<Finding> to_pseudonymize(const Policy& policy, std::span<const Finding> findings);

// Per request: replaces findings with typed placeholders, consistent across all texts of the request.
class Pseudonymizer {
public:
    // `findings` are those of scan(text) (sorted, non-overlapping, within text). A placeholder number that
    // already occurs literally in a text given to apply() is skipped, so restore() never mistakes the
    // user's own text for a placeholder.
    std::string apply(std::string_view text, std::span<const Finding> findings);
    const std::vector<std::pair<std::string, std::string>>& mapping() const {
        return mapping_;
    } // placeholder -> original
    std::vector<std::string> originals() const;
    // Replaces every known placeholder in `text` by its original; unknown ones stay as they are.
    std::string restore(std::string_view text) const;
    // The original for `placeholder` ("<EMAIL_1>"), or nullptr.
    const std::string* original_of(std::string_view placeholder) const;
    bool empty() const { return mapping_.empty(); }

private:
    std::vector<std::pair<std::string, std::string>> mapping_;
    std::map<std::string, size_t, std::less<>> by_original_;    // original -> index in mapping_
    std::map<std::string, size_t, std::less<>> by_placeholder_; // placeholder -> index in mapping_
    int next_[kEntityCount] = {};
};

// Streaming restore: feed chunks of an answer in which placeholders may be split across chunks; each call
// returns the text safe to emit now (it holds back only a tail that could still become a known placeholder,
// such as "<EMA"); finish() flushes the rest. The Pseudonymizer must outlive the restorer.
class StreamRestorer {
public:
    explicit StreamRestorer(const Pseudonymizer& pseudonymizer) : p_(&pseudonymizer) {}
    std::string feed(std::string_view chunk);
    std::string finish();

private:
    const Pseudonymizer* p_;
    std::string pending_;
};

// Egress check: true if none of `originals` occurs in `payload`, neither raw nor in JSON-string-escaped form
// (\" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs included): the payload's escapes are decoded once, then
// each original is searched in both. Empty originals are ignored.
bool egress_clean(std::string_view payload, std::span<const std::string> originals);

} // namespace hearth::privacy
