// tests/grammar/example_grammars.h: hand-written grammars in the style of llama.cpp's grammars/ folder
// (JSON, arithmetic, a chess move list, a bullet list, Japanese text), written for these tests.
#pragma once

namespace hearth::grammar::test {

inline constexpr const char* kJsonGbnf = R"gbnf(# any JSON value
root   ::= value
value  ::= object | array | string | number | ("true" | "false" | "null")
object ::=
  "{" ws (
    member
    ("," ws member)*
  )? "}"
member ::= string ws ":" ws value ws
array  ::= "[" ws ( value ws ("," ws value ws)* )? "]"
string ::=
  "\"" (
    [^"\\\x00-\x1f] |
    "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\""
number ::= "-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [-+]? [0-9]+)?
ws     ::= [ \t\n]*
)gbnf";

inline constexpr const char* kArithmeticGbnf = R"gbnf(root  ::= expr
expr  ::= term ([-+] term)*
term  ::= factor ([*/] factor)*
factor ::= num | "(" ws expr ws ")" | "-" factor
num   ::= [0-9]+ ("." [0-9]+)?
ws    ::= " "*
)gbnf";

inline constexpr const char* kChessGbnf = R"gbnf(# numbered moves, e.g. "1. e4 e5 2. Nf3 Nc6"
root   ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")*
move   ::= (pawn | nonpawn | castle) [+#]?
pawn   ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBRQ])?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
castle ::= "O-O" "-O"?
)gbnf";

inline constexpr const char* kListGbnf = R"gbnf(root ::= item+
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
)gbnf";

inline constexpr const char* kJapaneseGbnf = R"gbnf(# hiragana, katakana, kanji and punctuation
root ::= jp-char+ ([ \t\n] jp-char+)*
jp-char ::= hiragana | katakana | punctuation | cjk
hiragana ::= [ぁ-ゟ]
katakana ::= [ァ-ヿ]
punctuation ::= [、-〾]
cjk ::= [一-鿿]
)gbnf";

} // namespace hearth::grammar::test
