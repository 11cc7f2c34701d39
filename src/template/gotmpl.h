// template/gotmpl.h: render Ollama Modelfile TEMPLATEs, which use Go's text/template syntax.
//
// A small sandboxed interpreter for the subset of text/template that Ollama templates use, with Go's
// semantics: text and {{actions}} with trim markers `{{- ` / ` -}}`, comments {{/* */}}, pipelines
// with `|`, parentheses, field chains (.A.B, $.A, $x.A, (pipe).A), variables ($x := / $x =), if / else
// if / else, range (arrays, maps in sorted key order, integers; two variables; else; break/continue),
// with / else with / else, literals ("..." with Go escapes, `raw`, 'c', ints, floats, true, false,
// nil), the builtins and, or (short-circuit, return an operand), not, eq (multi-argument), ne, lt, le,
// gt, ge, len, index, slice, print, println, printf, and Ollama's json (json.Marshal), toJson (alias)
// and currentDate (YYYY-MM-DD from TemplateOptions::now). Not supported: define/template/block,
// html/js/urlquery/call, complex numbers, hex floats.
//
// Data is a JSON object standing in for Ollama's structs: `.System` reads key "System".
//   - A missing key is a hearth choice (Ollama's structs make it an error): it prints as "" and is
//     false; a field of a missing value is missing too. As a function argument it acts as nil.
//   - JSON null prints "<no value>" at the top level, "<nil>" inside print/printf or a list, like Go.
//   - Printing follows fmt's %v: ints without ".0", floats like Go (1e+06), lists "[a b]", objects
//     "map[a:1 b:2]" (keys sorted), or JSON text when GoTemplateOptions::objects_as_json is set, which
//     is what Ollama's Tool/ToolFunction/arguments types print (their String() methods marshal JSON).
//   - json / toJson encode like Go's json.Marshal: no spaces, <>& escaped as \u003c..., object keys in
//     the data's order (as a struct would), floats like Go.
// Errors (parse and execution) read "template: LINE:COL: message", COL being Go's 0-based byte column.
// TemplateLimits bounds output bytes (and any string built), range iterations, range over an integer,
// and nesting depth; nothing here touches files, the environment or the network.
#pragma once

#include "base/status.h"
#include "template/chat_template.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hearth {

struct GoTemplateOptions {
    TemplateLimits limits;
    // The clock behind currentDate; empty means the local time now.
    std::function<std::tm()> now;
    // Print objects as JSON (Ollama's Tool types) instead of Go's map[k:v] form.
    bool objects_as_json = false;
};

// True when `text` reads as a Go template: it has an action like {{ .Prompt }} or {{- range ... }}
// and no Jinja statement or comment markers ({% %}, {# #}).
bool looks_like_go_template(std::string_view text);

namespace gotmpl {
struct Node;
}

// A parsed Go template: parse once, render many times (render is const).
class GoTemplate {
public:
    static Result<GoTemplate> parse(std::string_view source);
    Result<std::string> render(const nlohmann::ordered_json& data, const GoTemplateOptions& options = {}) const;

    GoTemplate(GoTemplate&&) noexcept;
    GoTemplate& operator=(GoTemplate&&) noexcept;
    ~GoTemplate();

private:
    GoTemplate();
    std::unique_ptr<gotmpl::Node> root_;
};

Result<std::string> render_go_template(std::string_view tmpl, const nlohmann::ordered_json& data,
                                       const TemplateLimits& limits = {});
Result<std::string> render_go_template(std::string_view tmpl, const nlohmann::ordered_json& data,
                                       const GoTemplateOptions& options);

} // namespace hearth
