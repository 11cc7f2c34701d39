// privacy/pseudonymize.cpp: names, policy, placeholders, restore (whole and streamed), egress check.
#include "base/check.h"
#include "base/utf8.h"
#include "privacy/detect.h"
#include "privacy/privacy.h"

#include <set>

namespace hearth::privacy {

namespace {

struct EntityInfo {
    Entity entity;
    const char* name;
    const char* tag;
};
constexpr EntityInfo kEntities[kEntityCount] = {
    {Entity::Email, "email", "EMAIL"},
    {Entity::Phone, "phone", "PHONE"},
    {Entity::PaymentCard, "payment_card", "CARD"},
    {Entity::Iban, "iban", "IBAN"},
    {Entity::NationalId, "national_id", "NATIONAL_ID"},
    {Entity::IpAddress, "ip_address", "IP"},
    {Entity::MacAddress, "mac_address", "MAC"},
    {Entity::Secret, "secret", "SECRET"},
    {Entity::UrlCredentials, "url_credentials", "URL_CREDENTIALS"},
    {Entity::Custom, "custom", "CUSTOM"},
};

const EntityInfo& info(Entity e) {
    return kEntities[static_cast<size_t>(e)];
}

// Length of a placeholder-shaped string "<TAG_N>" at s[i] ('<', [A-Z_]+, '_', digits, '>'), or 0.
size_t placeholder_len(std::string_view s, size_t i) {
    using detail::at;
    if (at(s, i) != '<') return 0;
    size_t j = i + 1;
    while (j < s.size() && j - i < 40 && (detail::is_upper(s[j]) || s[j] == '_'))
        ++j;
    if (j == i + 1 || s[j - 1] != '_') return 0;
    const size_t digits = j;
    while (j < s.size() && detail::is_digit(s[j]) && j - digits < 9)
        ++j;
    if (j == digits || at(s, j) != '>') return 0;
    return j + 1 - i;
}

} // namespace

const char* entity_name(Entity e) {
    return info(e).name;
}

std::optional<Entity> parse_entity(std::string_view name) {
    for (const EntityInfo& i : kEntities)
        if (name == i.name) return i.entity;
    return std::nullopt;
}

const char* placeholder_tag(Entity e) {
    return info(e).tag;
}

const char* action_name(Action a) {
    switch (a) {
    case Action::KeepLocal:
        return "keep-local";
    case Action::Pseudonymize:
        return "pseudonymize";
    case Action::Allow:
        return "allow";
    }
    return "keep-local";
}

std::optional<Action> parse_action(std::string_view name) {
    for (Action a : {Action::KeepLocal, Action::Pseudonymize, Action::Allow})
        if (name == action_name(a)) return a;
    return std::nullopt;
}

Action Policy::action(Entity e) const {
    const auto it = actions.find(e);
    return it == actions.end() ? fallback : it->second;
}

void Verdict::add(const Policy& policy, std::span<const Finding> findings) {
    for (const Finding& f : findings) {
        ++counts[f.entity];
        if (policy.action(f.entity) == Action::KeepLocal) keep_local = true;
    }
}

std::vector<Finding> to_pseudonymize(const Policy& policy, std::span<const Finding> findings) {
    std::vector<Finding> out;
    for (const Finding& f : findings)
        if (policy.action(f.entity) == Action::Pseudonymize) out.push_back(f);
    return out;
}

std::string Pseudonymizer::apply(std::string_view text, std::span<const Finding> findings) {
    // Placeholder-shaped strings already in the text are never handed out.
    std::set<std::string, std::less<>> literal;
    for (size_t i = text.find('<'); i != std::string_view::npos; i = text.find('<', i + 1))
        if (const size_t n = placeholder_len(text, i)) literal.emplace(text.substr(i, n));
    std::string out;
    out.reserve(text.size());
    size_t cur = 0;
    for (const Finding& f : findings) {
        HEARTH_CHECK(f.begin >= cur && f.begin < f.end && f.end <= text.size(),
                     "findings must be sorted, non-overlapping and within the text");
        out.append(text.substr(cur, f.begin - cur));
        const std::string_view value = text.substr(f.begin, f.end - f.begin);
        auto it = by_original_.find(value);
        if (it == by_original_.end()) {
            std::string ph;
            int& counter = next_[static_cast<size_t>(f.entity)];
            do {
                ph = "<" + std::string(placeholder_tag(f.entity)) + "_" + std::to_string(++counter) + ">";
            } while (literal.count(ph) != 0 || by_placeholder_.count(ph) != 0);
            mapping_.emplace_back(ph, std::string(value));
            by_placeholder_.emplace(ph, mapping_.size() - 1);
            it = by_original_.emplace(std::string(value), mapping_.size() - 1).first;
        }
        out += mapping_[it->second].first;
        cur = f.end;
    }
    out.append(text.substr(cur));
    return out;
}

std::vector<std::string> Pseudonymizer::originals() const {
    std::vector<std::string> out;
    out.reserve(mapping_.size());
    for (const auto& [ph, orig] : mapping_)
        out.push_back(orig);
    return out;
}

const std::string* Pseudonymizer::original_of(std::string_view placeholder) const {
    const auto it = by_placeholder_.find(placeholder);
    return it == by_placeholder_.end() ? nullptr : &mapping_[it->second].second;
}

std::string Pseudonymizer::restore(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (true) {
        const size_t lt = text.find('<', i);
        if (lt == std::string_view::npos) {
            out.append(text.substr(i));
            return out;
        }
        out.append(text.substr(i, lt - i));
        const size_t n = placeholder_len(text, lt);
        const std::string* orig = n ? original_of(text.substr(lt, n)) : nullptr;
        if (orig) {
            out += *orig;
            i = lt + n;
        } else {
            out += '<';
            i = lt + 1;
        }
    }
}

std::string StreamRestorer::feed(std::string_view chunk) {
    pending_.append(chunk);
    // Only the last '<' can begin an unfinished placeholder: a placeholder has no '<' after its first byte.
    const size_t lt = pending_.rfind('<');
    size_t hold = pending_.size();
    if (lt != std::string::npos) {
        const std::string_view tail = std::string_view(pending_).substr(lt);
        for (const auto& [ph, orig] : p_->mapping()) {
            if (tail.size() < ph.size() && std::string_view(ph).starts_with(tail)) {
                hold = lt;
                break;
            }
        }
    }
    std::string out = p_->restore(std::string_view(pending_).substr(0, hold));
    pending_.erase(0, hold);
    return out;
}

std::string StreamRestorer::finish() {
    std::string out = p_->restore(pending_);
    pending_.clear();
    return out;
}

namespace {

int hex_value(char c) {
    if (detail::is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The 4 hex digits at s[i], or -1.
int hex4(std::string_view s, size_t i) {
    if (i + 4 > s.size()) return -1;
    int v = 0;
    for (size_t k = i; k < i + 4; ++k) {
        const int h = hex_value(s[k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

// The payload with every JSON string escape decoded; malformed escapes are copied as they are.
std::string json_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c != '\\' || i + 1 >= s.size()) {
            out += c;
            continue;
        }
        const char e = s[i + 1];
        const char* simple = nullptr;
        switch (e) {
        case '"':
            simple = "\"";
            break;
        case '\\':
            simple = "\\";
            break;
        case '/':
            simple = "/";
            break;
        case 'b':
            simple = "\b";
            break;
        case 'f':
            simple = "\f";
            break;
        case 'n':
            simple = "\n";
            break;
        case 'r':
            simple = "\r";
            break;
        case 't':
            simple = "\t";
            break;
        default:
            break;
        }
        if (simple) {
            out += simple;
            ++i;
            continue;
        }
        const int u = e == 'u' ? hex4(s, i + 2) : -1;
        if (u < 0) {
            out += c;
            continue;
        }
        uint32_t cp = static_cast<uint32_t>(u);
        size_t used = 6;
        if (cp >= 0xD800 && cp < 0xDC00 && s.substr(i + 6).starts_with("\\u")) {
            const int lo = hex4(s, i + 8);
            if (lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(lo) - 0xDC00);
                used = 12;
            }
        }
        append_utf8(out, cp);
        i += used - 1;
    }
    return out;
}

} // namespace

bool egress_clean(std::string_view payload, std::span<const std::string> originals) {
    for (const std::string& o : originals)
        if (!o.empty() && payload.find(o) != std::string_view::npos) return false;
    if (payload.find('\\') == std::string_view::npos) return true;
    const std::string decoded = json_unescape(payload);
    for (const std::string& o : originals)
        if (!o.empty() && decoded.find(o) != std::string::npos) return false;
    return true;
}

} // namespace hearth::privacy
