// template/gotmpl_ast.h: the parse tree of a Go text/template (internal to gotmpl*.cpp).
//
// Mirrors text/template/parse: a list of nodes (text, actions, if/range/with, break/continue); an
// action holds a pipeline of commands separated by `|`; a command is a list of operands.
#pragma once

#include "base/status.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::gotmpl {

using Json = nlohmann::ordered_json;

struct Pos {
    int line = 1; // 1-based
    int col = 0;  // 0-based byte column, as Go reports it
};

std::string format_error(Pos pos, std::string_view msg); // "template: LINE:COL: msg"

struct Pipe;

struct Arg {
    enum class Kind { Field, Variable, Chain, Identifier, Dot, Nil, Literal, Pipe };
    Kind kind = Kind::Dot;
    Pos pos;
    std::string name;                // Variable: "$x" or "$"; Identifier: the function name
    std::vector<std::string> fields; // Field: "A","B" for .A.B; Variable and Chain: the fields after the term
    Json literal;                    // Literal: a bool, number or string
    std::unique_ptr<Pipe> pipe;      // Pipe: a parenthesized pipeline
    std::unique_ptr<Arg> base;       // Chain: the term whose fields are read, e.g. (pipe).A
    std::string text;                // source form, for error messages
};

struct Command {
    Pos pos;
    std::vector<Arg> args;
};

struct Pipe {
    Pos pos;
    std::vector<std::string> decl; // declared or assigned variables
    bool is_assign = false;        // `=` rather than `:=`
    std::vector<Command> cmds;
};

struct Node {
    enum class Kind { List, Text, Action, If, Range, With, Break, Continue };
    Kind kind = Kind::List;
    Pos pos;
    std::string text;       // Text
    Pipe pipe;              // Action, If, Range, With
    std::vector<Node> list; // List, and the body of If/Range/With
    std::vector<Node> else_list;
    bool has_else = false;
};

// Parses a whole template into a List node. Nesting deeper than kMaxParseDepth is an error.
inline constexpr int kMaxParseDepth = 200;
Result<std::unique_ptr<Node>> parse(std::string_view source);

} // namespace hearth::gotmpl
