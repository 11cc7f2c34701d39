// grammar/gbnf_check.cpp: check_grammar (gbnf.h): left recursion and a root that can complete, in time
// linear in the grammar's size (worklist algorithms, no recursion).
#include "grammar/gbnf.h"

#include <algorithm>

namespace hearth::grammar {
namespace {

// For each rule: does it derive some string for which `counts` holds of every element? An alternative
// qualifies when each of its elements does (Chars by `chars_ok`, Ref by the rule qualifying); worklist
// over "elements not yet known to qualify" per alternative.
std::vector<bool> rules_deriving(const Grammar& g, bool chars_ok_if_nonempty) {
    size_t n_alts = 0;
    for (const Rule& r : g.rules)
        n_alts += r.alts.size();
    std::vector<uint32_t> pending(n_alts, 0); // per alternative: elements not yet known to qualify
    std::vector<uint32_t> alt_rule(n_alts);
    std::vector<std::vector<uint32_t>> used_in(g.rules.size()); // rule -> alternatives referring to it
    std::vector<bool> ok(g.rules.size(), false);
    std::vector<uint32_t> queue;
    size_t a = 0;
    for (uint32_t r = 0; r < g.rules.size(); r++) {
        for (uint32_t start : g.rules[r].alts) {
            alt_rule[a] = r;
            bool dead = false;
            for (uint32_t p = start; g.elems[p].kind != ElemKind::End; p++) {
                const Elem& e = g.elems[p];
                if (e.kind == ElemKind::Chars) {
                    if (!chars_ok_if_nonempty || g.classes[e.arg].empty()) dead = true;
                } else {
                    pending[a]++;
                    used_in[e.arg].push_back(uint32_t(a));
                }
            }
            if (dead) pending[a] = UINT32_MAX;
            if (pending[a] == 0 && !ok[r]) {
                ok[r] = true;
                queue.push_back(r);
            }
            a++;
        }
    }
    while (!queue.empty()) {
        uint32_t r = queue.back();
        queue.pop_back();
        for (uint32_t alt : used_in[r]) {
            if (pending[alt] == UINT32_MAX || pending[alt] == 0) continue;
            if (--pending[alt] == 0 && !ok[alt_rule[alt]]) {
                ok[alt_rule[alt]] = true;
                queue.push_back(alt_rule[alt]);
            }
        }
    }
    return ok;
}

// Finds a cycle in the "can start with" graph (rule -> rules it can reach without consuming input);
// returns it as rule indices, first == last, or empty.
std::vector<uint32_t> find_left_cycle(const Grammar& g, const std::vector<bool>& nullable) {
    std::vector<std::vector<uint32_t>> edges(g.rules.size());
    for (uint32_t r = 0; r < g.rules.size(); r++) {
        for (uint32_t start : g.rules[r].alts) {
            for (uint32_t p = start; g.elems[p].kind == ElemKind::Ref; p++) {
                edges[r].push_back(g.elems[p].arg);
                if (!nullable[g.elems[p].arg]) break;
            }
        }
    }
    enum : uint8_t { White, Grey, Black };
    std::vector<uint8_t> color(g.rules.size(), White);
    struct Frame {
        uint32_t rule;
        uint32_t next_edge;
    };
    std::vector<Frame> stack;
    for (uint32_t s = 0; s < g.rules.size(); s++) {
        if (color[s] != White) continue;
        stack.push_back({s, 0});
        color[s] = Grey;
        while (!stack.empty()) {
            Frame& f = stack.back();
            if (f.next_edge == edges[f.rule].size()) {
                color[f.rule] = Black;
                stack.pop_back();
                continue;
            }
            uint32_t to = edges[f.rule][f.next_edge++];
            if (color[to] == Grey) {
                std::vector<uint32_t> cycle;
                auto it = std::find_if(stack.begin(), stack.end(), [&](const Frame& fr) { return fr.rule == to; });
                for (; it != stack.end(); ++it)
                    cycle.push_back(it->rule);
                cycle.push_back(to);
                return cycle;
            }
            if (color[to] == White) {
                color[to] = Grey;
                stack.push_back({to, 0});
            }
        }
    }
    return {};
}

} // namespace

Status check_grammar(const Grammar& g) {
    if (g.root >= g.rules.size()) return bad_field("grammar", "missing rule 'root' (the start symbol)");
    std::vector<bool> nullable = rules_deriving(g, false);
    std::vector<uint32_t> cycle = find_left_cycle(g, nullable);
    if (!cycle.empty()) {
        std::string path;
        for (size_t i = 0; i < cycle.size(); i++) {
            if (i == 8 && cycle.size() > 10) { // a long cycle: its start and end say enough
                path += " -> ... (" + std::to_string(cycle.size() - 9) + " more)";
                i = cycle.size() - 2;
                continue;
            }
            path += (i ? " -> " : "") + g.rules[cycle[i]].name;
        }
        return bad_field("grammar", "left recursion: " + path +
                                        " (a rule reaches itself without consuming input; rules named "
                                        "'<rule>-<n>' are groups or repetitions, and repeating something "
                                        "that can match the empty string is such a cycle)");
    }
    std::vector<bool> productive = rules_deriving(g, true);
    if (!productive[g.root]) {
        return bad_field("grammar", "rule '" + g.rules[g.root].name +
                                        "' can never complete: every alternative needs an endless derivation or "
                                        "an empty character class");
    }
    return Status::ok();
}

} // namespace hearth::grammar
