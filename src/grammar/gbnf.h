// grammar/gbnf.h: llama.cpp's GBNF grammar text -> a compiled Grammar (grammar.h).
//
// The format (llama.cpp grammars/README.md), read as llama.cpp reads it so users' grammars work unchanged:
//   root   ::= object                       # a rule: name ::= alternatives; `root` is the start symbol
//   object ::= "{" ws ( pair ( "," ws pair )* )? "}"
//   name   ::= [a-zA-Z0-9-]+                 # rule names: letters, digits and '-'
// Elements of a sequence: "literal" (escapes \n \r \t \\ \" \[ \] \xHH \uHHHH \UHHHHHHHH), [a-z0-9_] and
// negated [^"\\] character classes (a '-' right before ']' is literal), `.` (any code point), a rule name,
// `( ... )` groups, and the postfix quantifiers * + ? {m} {m,} {m,n} on the element before them (a whole
// literal counts as one element). `|` separates alternatives; an alternative may be empty. `#` starts a
// comment to the end of the line. A rule ends at the end of its line, except inside parentheses and right
// after `::=` or `|`, where newlines are spaces. All matching is on Unicode code points; the text is UTF-8.
//
// Differences from llama.cpp, all on grammars llama.cpp would accept with surprising results or reject:
//   - a rule defined twice is an error (llama.cpp silently keeps the last definition);
//   - left recursion, direct or indirect (a rule that reaches itself without consuming a code point,
//     including through rules that can match the empty string, e.g. ("a"?)*), is an error naming the cycle;
//   - a grammar whose root can never complete (e.g. root ::= "a" root) is an error;
//   - a new rule may start on the line after a trailing `|` (llama.cpp reads its name as part of the
//     alternative and fails);
//   - token references (<[123]>, <|name|>) are not supported.
//
// Hostile input: every input ends in a Grammar or an error in time and memory linear in the input size and
// the limits below; the parser's recursion is bounded by max_nesting. Errors are Code::BadField with field
// "grammar" and a message "line L, column C: ..." saying what was expected.
#pragma once

#include "base/status.h"
#include "grammar/grammar.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hearth::grammar {

struct GbnfLimits {
    size_t max_input_bytes = 1 << 20; // grammar text
    size_t max_rules = 1 << 16;       // including the rules generated for groups and repetitions
    size_t max_elems = 1 << 20;       // elements after expanding repetitions
    uint32_t max_nesting = 64;        // depth of ( ) groups
    uint32_t max_repeat = 10000;      // largest m or n in {m}, {m,}, {m,n}
};

Result<Grammar> parse_gbnf(std::string_view text, const GbnfLimits& limits = {});

// Checks the invariants grammar.h promises about rules (no left recursion, root can complete). parse_gbnf
// calls it; exposed for grammars built by other means. Errors are Code::BadField with field "grammar".
Status check_grammar(const Grammar& g);

} // namespace hearth::grammar
