// template/parser.h: tokens -> syntax tree, following jinja2/parser.py's grammar and precedence.
//
// Nesting (expressions and statements together) is capped at kMaxParseDepth so that hostile input such
// as 10k nested parentheses is a syntax error, not a stack overflow. include/import/extends/block are
// rejected: chat templates are single self-contained strings.
#pragma once

#include "base/status.h"
#include "template/ast.h"
#include "template/lexer.h"

#include <vector>

namespace hearth::tmpl {

inline constexpr int kMaxParseDepth = 128;

Result<Body> parse(const std::vector<Token>& tokens);

} // namespace hearth::tmpl
