package flextest

import (
	"errors"
	"regexp"
	"strings"
)

// The fake evaluates one form of the TaskRouter expression language
// (https://www.twilio.com/docs/taskrouter/expression-syntax) in
// EvaluateTaskAttributes, the one flexhook sends:
//
//	path == "string"        path = name { "." name }, name = [A-Za-z_][A-Za-z0-9_]*
//
// The string is in double or single quotes, with backslash escapes for the
// quote and the backslash only. The comparison is false when the attribute is
// missing or not a string. Every other construct, including ones TaskRouter
// accepts (!=, IN, AND, OR, numbers, parentheses), is rejected, so a test
// never passes on an expression the fake does not understand.
var exprForm = regexp.MustCompile(`^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*==\s*(?:"((?:[^"\\]|\\["\\])*)"|'((?:[^'\\]|\\['\\])*)')\s*$`)

// unescape decodes the escapes exprForm allows.
var unescape = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\'`, `'`)

// errExpr is the error of every expression the fake does not evaluate.
var errExpr = errors.New("invalid expression")

// expr is a parsed expression: the attribute at path equals value.
type expr struct {
	path  []string
	value string
}

// parseExpr parses an EvaluateTaskAttributes expression. Errors wrap errExpr.
func parseExpr(s string) (*expr, error) {
	m := exprForm.FindStringSubmatch(s)
	if m == nil {
		return nil, errExpr
	}
	return &expr{path: strings.Split(m[1], "."), value: unescape.Replace(m[2] + m[3])}, nil
}

// eval reports whether the attribute at e.path in attrs is the string e.value.
func (e *expr) eval(attrs map[string]any) bool {
	var cur any = attrs
	for _, name := range e.path {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		cur = m[name]
	}
	v, ok := cur.(string)
	return ok && v == e.value
}
