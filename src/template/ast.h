// template/ast.h: the syntax tree the parser builds and the renderer walks.
//
// One node type per family keeps the tree small: Expr covers every expression (the kind says which
// fields are used), Stmt every statement. Trees own their children; nothing points back up.
#pragma once

#include "template/value.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hearth::tmpl {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind {
    Literal,     // value
    Name,        // name
    List,        // args
    Tuple,       // args
    Dict,        // args: key, value, key, value, ...
    GetAttr,     // args[0].name
    GetItem,     // args[0][args[1]]
    Slice,       // args[0][args[1]:args[2]:args[3]], missing parts are null
    Call,        // args[0](args[1..], kwargs)
    Filter,      // args[0] | name(args[1..], kwargs)
    Test,        // args[0] is [not] name(args[1..])
    Unary,       // op args[0]: "not", "-", "+"
    Binary,      // args[0] op args[1]: + - * / // % ** ~ and or
    Compare,     // args[0] op args[1]: == != < <= > >= in notin
    Cond,        // args[1] if args[0] else args[2] (args[2] may be null)
    FilterInput, // the body of a {% filter %} block
};

struct Expr {
    ExprKind kind;
    int line = 0;
    std::string name; // Name, GetAttr, Filter, Test, Unary/Binary/Compare operator
    bool negated = false;
    Value value;
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct MacroDef {
    std::string name;
    std::vector<std::string> params;
    std::vector<ExprPtr> defaults; // same length as params, null where none
    Body body;
};

enum class StmtKind { Data, Print, If, For, Set, SetBlock, Macro, CallBlock, FilterBlock, Break, Continue, With };

struct Stmt {
    StmtKind kind;
    int line = 0;
    std::string text;                               // Data
    ExprPtr expr;                                   // Print, For iterable, Set value, CallBlock call, FilterBlock chain
    std::vector<std::string> targets;               // For/Set names (several: tuple unpacking); Set ns.attr: {ns, attr}
    bool attr_target = false;                       // Set ns.attr = ...
    ExprPtr cond;                                   // For `if` filter
    std::vector<std::pair<ExprPtr, Body>> branches; // If: cond/body pairs, a null cond is `else`
    Body body;                                      // For, SetBlock, FilterBlock, With
    Body else_body;                                 // For
    std::unique_ptr<MacroDef> macro;                // Macro, CallBlock (the caller)
    std::vector<std::pair<std::string, ExprPtr>> assigns; // With
};

} // namespace hearth::tmpl
