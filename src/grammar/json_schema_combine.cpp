// grammar/json_schema_combine.cpp: the converter's combinators: allOf (merged into one schema), anyOf and
// oneOf (alternatives; oneOf only when its branches provably exclude each other) (json_schema_converter.h).
#include "grammar/json_schema_converter.h"

#include <algorithm>
#include <functional>

namespace hearth::grammar::schema {

// ---- allOf ----

Result<Json> Converter::flatten_all_of(const Json& s, const std::string& path, int depth) const {
    if (depth > 16) return bad_field(path, "allOf nested more than 16 levels");
    auto all = s.find("allOf");
    if (all == s.end()) return s;
    if (!all->is_array() || all->empty()) return bad_field(path + "/allOf", "allOf must be a non-empty array");
    Json base = s;
    base.erase("allOf");
    for (size_t i = 0; i < all->size(); i++) {
        std::string p = path + "/allOf/" + std::to_string(i);
        auto member = resolved((*all)[i], p);
        if (!member) return member.status();
        auto flat = flatten_all_of(*member, p, depth + 1);
        if (!flat) return flat.status();
        auto m = merge(base, *flat, p);
        if (!m) return m.status();
        base = std::move(m.value());
    }
    return base;
}

// Both a and b hold: one schema with the keywords of both, or an error naming what does not merge.
Result<Json> Converter::merge(const Json& a, const Json& b, const std::string& path) const {
    if (!a.is_object() || !b.is_object()) return bad_field(path, "allOf members must be schema objects");
    auto fail = [&](const std::string& key, const std::string& why) {
        return bad_field(path + "/" + pointer_escape(key), "allOf: cannot merge '" + key + "': " + why);
    };
    // additionalProperties constrains the keys of the other members' properties: refuse rather than check.
    for (auto [x, y] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        auto ap = x->find("additionalProperties");
        if (ap == x->end() || (ap->is_boolean() && ap->get<bool>()) || !y->contains("properties")) continue;
        const Json& xp = x->contains("properties") ? x->at("properties") : Json::object();
        for (auto it = y->at("properties").begin(); it != y->at("properties").end(); ++it)
            if (!xp.contains(it.key()))
                return fail("additionalProperties", "another member declares '" + it.key() + "'");
    }
    Json out = a;
    for (auto it = b.begin(); it != b.end(); ++it) {
        const std::string& key = it.key();
        const Json& bv = it.value();
        if (is_annotation(key) && key != "$defs" && key != "definitions") continue;
        if (!out.contains(key)) {
            out[key] = bv;
            continue;
        }
        Json& av = out[key];
        if (av == bv) continue;
        if (key == "type") {
            auto ta = types_of(out, path), tb = types_of(b, path);
            if (!ta) return ta.status();
            if (!tb) return tb.status();
            uint8_t both = *ta & *tb;
            if ((both & kFraction) && !(both & kInteger)) both &= uint8_t(~kFraction);
            if (!both) return fail(key, "the types do not intersect");
            Json names = Json::array();
            for (size_t i = 0; i < std::size(kTypeNames); i++)
                if ((both & kTypeBitsByName[i]) == kTypeBitsByName[i] &&
                    !(kTypeNames[i] == "integer" && (both & kFraction)))
                    names.push_back(kTypeNames[i]);
            av = names;
        } else if (key == "properties" && av.is_object() && bv.is_object()) {
            for (auto p = bv.begin(); p != bv.end(); ++p) {
                if (av.contains(p.key()) && av[p.key()] != p.value()) {
                    av[p.key()] = Json{{"allOf", Json::array({av[p.key()], p.value()})}};
                } else {
                    av[p.key()] = p.value();
                }
            }
        } else if (key == "required" && av.is_array() && bv.is_array()) {
            for (const Json& r : bv)
                if (std::find(av.begin(), av.end(), r) == av.end()) av.push_back(r);
        } else if ((key == "minimum" || key == "minLength" || key == "minItems" || key == "exclusiveMinimum") &&
                   av.is_number() && bv.is_number()) {
            if (bv > av) av = bv;
        } else if ((key == "maximum" || key == "maxLength" || key == "maxItems" || key == "exclusiveMaximum") &&
                   av.is_number() && bv.is_number()) {
            if (bv < av) av = bv;
        } else if (key == "items" || key == "additionalProperties") {
            if ((av.is_boolean() && !av.get<bool>()) || (bv.is_boolean() && !bv.get<bool>())) {
                av = false;
            } else if (av.is_boolean()) {
                av = bv;
            } else if (!bv.is_boolean()) {
                av = Json{{"allOf", Json::array({av, bv})}};
            }
        } else if (key == "enum" && av.is_array() && bv.is_array()) {
            Json both = Json::array();
            for (const Json& v : av)
                if (std::find(bv.begin(), bv.end(), v) != bv.end()) both.push_back(v);
            if (both.empty()) return fail(key, "no value is in both enums");
            av = both;
        } else if (key == "$defs" || key == "definitions") {
            continue; // $ref resolves against the root document, not these copies
        } else {
            return fail(key, "the members give different values (" + dump(av).substr(0, 40) + ", " +
                                 dump(bv).substr(0, 40) + ")");
        }
    }
    return out;
}

// ---- anyOf / oneOf ----

Result<std::string> Converter::union_expr(const Json& s, const std::string& path, const std::string& hint) {
    if (s.contains("anyOf") && s.contains("oneOf")) {
        return bad_field(path + "/oneOf", "anyOf together with oneOf in one schema is not supported");
    }
    const std::string key = s.contains("anyOf") ? "anyOf" : "oneOf";
    const Json& list = s.at(key);
    if (!list.is_array() || list.empty()) return bad_field(path + "/" + key, key + " must be a non-empty array");
    Json siblings = s;
    siblings.erase(key);
    bool has_siblings = has_validation_keywords(siblings);
    std::vector<Json> branches;
    for (size_t i = 0; i < list.size(); i++) {
        if (!has_siblings) {
            branches.push_back(list[i]);
            continue;
        }
        // The schema's other keywords hold in every branch.
        auto b = resolved(list[i], path + "/" + key + "/" + std::to_string(i));
        if (!b) return b.status();
        auto m = merge(siblings, *b, path + "/" + key + "/" + std::to_string(i));
        if (!m) return m.status();
        branches.push_back(std::move(m.value()));
    }
    if (key == "oneOf") HEARTH_TRY(check_disjoint(branches, path + "/oneOf"));
    std::string out = "(";
    for (size_t i = 0; i < branches.size(); i++) {
        auto r = rule_for(branches[i], path + "/" + key + "/" + std::to_string(i), hint + "-" + std::to_string(i));
        if (!r) return r.status();
        out += (i ? " | " : "") + *r;
    }
    return out + ")";
}

namespace {

// What a schema can be, as far as oneOf's disjointness check needs: its types and, for enum/const, values.
struct Kinds {
    uint8_t types = kAnyType;
    bool has_values = false;
    std::vector<Json> values;
};

} // namespace

Status Converter::check_disjoint(const std::vector<Json>& branches, const std::string& path) const {
    // kinds() is conservative: when unsure it says "anything", which is never disjoint.
    std::function<Kinds(const Json&, int)> kinds = [&](const Json& raw, int depth) -> Kinds {
        Kinds k;
        auto r = resolved(raw, path);
        if (!r || depth > 8) return k;
        const Json& s = *r;
        if (s.contains("anyOf") || s.contains("oneOf") || s.contains("allOf")) return k;
        auto types = types_of(s, path);
        if (!types) return k;
        k.types = *types;
        if (s.contains("const") || s.contains("enum")) {
            std::vector<Json> vals;
            if (s.contains("const"))
                vals.push_back(s.at("const"));
            else if (s.at("enum").is_array())
                vals = s.at("enum").get<std::vector<Json>>();
            k.has_values = true;
            k.types = 0;
            for (const Json& v : vals) {
                if (value_type(v) & *types) {
                    k.values.push_back(v);
                    k.types |= value_type(v);
                }
            }
        }
        return k;
    };
    auto values_disjoint = [](const Kinds& a, const Kinds& b) {
        if (!a.has_values || !b.has_values) return false;
        for (const Json& v : a.values)
            if (std::find(b.values.begin(), b.values.end(), v) != b.values.end()) return false;
        return true;
    };
    // Objects told apart by a property both require, with disjoint values (a discriminator).
    auto discriminated = [&](const Json& x, const Json& y) {
        auto rx = resolved(x, path), ry = resolved(y, path);
        if (!rx || !ry || !rx->contains("required") || !ry->contains("required")) return false;
        if (!rx->contains("properties") || !ry->contains("properties")) return false;
        for (const Json& p : rx->at("required")) {
            if (!p.is_string()) continue;
            const std::string& name = p.get_ref<const std::string&>();
            const Json& ry_req = ry->at("required");
            if (std::find(ry_req.begin(), ry_req.end(), p) == ry_req.end()) continue;
            if (!rx->at("properties").contains(name) || !ry->at("properties").contains(name)) continue;
            Kinds a = kinds(rx->at("properties").at(name), 1), b = kinds(ry->at("properties").at(name), 1);
            if (!(a.types & b.types) || values_disjoint(a, b)) return true;
        }
        return false;
    };
    std::vector<Kinds> ks;
    for (const Json& b : branches)
        ks.push_back(kinds(b, 0));
    for (size_t i = 0; i < branches.size(); i++) {
        for (size_t j = i + 1; j < branches.size(); j++) {
            bool disjoint = !(ks[i].types & ks[j].types) || values_disjoint(ks[i], ks[j]) ||
                            ((ks[i].types | ks[j].types) == kObject && discriminated(branches[i], branches[j]));
            if (!disjoint) {
                return bad_field(path, "oneOf branches " + std::to_string(i) + " and " + std::to_string(j) +
                                           " may both match a value (the grammar cannot enforce 'exactly one'); "
                                           "use anyOf, or make them differ in type, const/enum values or a "
                                           "required discriminator property");
            }
        }
    }
    return Status::ok();
}

} // namespace hearth::grammar::schema
