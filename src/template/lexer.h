// template/lexer.h: Jinja2 template source -> tokens, with Jinja2's whitespace control.
//
// Mirrors jinja2/lexer.py for the environment transformers uses (trim_blocks, lstrip_blocks, default
// delimiters): line endings become "\n" and one trailing newline is dropped (keep_trailing_newline=False);
// `{%-`/`-%}` strip all whitespace on that side; `%}` and `#}` eat one following "\n" (trim_blocks); a
// `{%` or `{#` preceded on its line only by spaces/tabs drops them unless written `{%+` (lstrip_blocks).
#pragma once

#include "base/status.h"

#include <string>
#include <string_view>
#include <vector>

namespace hearth::tmpl {

enum class TokKind { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
    TokKind kind;
    std::string text; // data, name, decoded string literal, number text or operator
    int line = 1;
};

Result<std::vector<Token>> tokenize(std::string_view source);

} // namespace hearth::tmpl
