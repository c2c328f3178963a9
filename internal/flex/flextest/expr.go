package flextest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file implements the subset of the TaskRouter expression language
// (https://www.twilio.com/docs/taskrouter/expression-syntax) that
// EvaluateTaskAttributes accepts in the fake:
//
//	expr    = and { OR and }
//	and     = primary { AND primary }
//	primary = "(" expr ")" | path ( "==" | "!=" ) literal | path IN "[" [ literal { "," literal } ] "]"
//	path    = name { "." name }         name = letter or "_", then letters, digits, "_"
//	literal = string | number | true | false
//
// Strings are in double or single quotes, with backslash escapes for the
// quote and the backslash. Keywords are case-insensitive. A comparison on a
// missing or null attribute is false, whatever the operator. Every other
// construct, including ones TaskRouter accepts (=, >, HAS, CONTAINS, NOT IN,
// &&), is rejected, so a test never passes on an expression the fake does
// not understand.

// Limits that keep parsing bounded.
const (
	maxExprLen   = 8192
	maxExprDepth = 32
)

// errExpr is the root of every expression parse error.
var errExpr = errors.New("invalid expression")

// expr is a parsed expression.
type expr interface {
	eval(attrs map[string]any) bool
}

type orExpr struct{ l, r expr }

func (e orExpr) eval(a map[string]any) bool { return e.l.eval(a) || e.r.eval(a) }

type andExpr struct{ l, r expr }

func (e andExpr) eval(a map[string]any) bool { return e.l.eval(a) && e.r.eval(a) }

// cmpExpr compares the attribute at path with literals: == and != with one,
// IN with any number.
type cmpExpr struct {
	path []string
	op   tokKind // tokEq, tokNe or tokIn
	vals []any   // string, float64 or bool
}

func (e cmpExpr) eval(attrs map[string]any) bool {
	v, ok := lookup(attrs, e.path)
	if !ok || v == nil {
		return false
	}
	switch e.op {
	case tokEq:
		return equal(v, e.vals[0])
	case tokNe:
		return !equal(v, e.vals[0])
	}
	for _, lit := range e.vals {
		if equal(v, lit) {
			return true
		}
	}
	return false
}

// lookup follows a dotted path into decoded JSON.
func lookup(attrs map[string]any, path []string) (any, bool) {
	var cur any = attrs
	for _, name := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[name]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// equal compares a decoded JSON value with a literal. Values of different
// types are never equal.
func equal(v, lit any) bool {
	switch l := lit.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == l
	case float64:
		n, ok := v.(float64)
		return ok && n == l
	case bool:
		b, ok := v.(bool)
		return ok && b == l
	}
	return false
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokName
	tokString
	tokNumber
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokComma
	tokEq
	tokNe
	tokAnd
	tokOr
	tokIn
	tokTrue
	tokFalse
)

type token struct {
	kind tokKind
	text string // the name, or the decoded string
	num  float64
	pos  int
}

// lex splits s into tokens.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '[' || c == ']' || c == ',':
			toks = append(toks, token{kind: punctuation(c), pos: i})
			i++
		case c == '=' || c == '!':
			if i+1 >= len(s) || s[i+1] != '=' {
				return nil, fmt.Errorf("%w: unsupported operator at %d", errExpr, i)
			}
			kind := tokEq
			if c == '!' {
				kind = tokNe
			}
			toks = append(toks, token{kind: kind, pos: i})
			i += 2
		case c == '"' || c == '\'':
			str, n, err := lexString(s[i:])
			if err != nil {
				return nil, fmt.Errorf("%w at %d", err, i)
			}
			toks = append(toks, token{kind: tokString, text: str, pos: i})
			i += n
		case isDigit(c) || (c == '-' && i+1 < len(s) && isDigit(s[i+1])):
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
				j++
			}
			if j < len(s) && isNameChar(s[j]) {
				return nil, fmt.Errorf("%w: bad number at %d", errExpr, i)
			}
			n, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("%w: bad number at %d", errExpr, i)
			}
			toks = append(toks, token{kind: tokNumber, num: n, pos: i})
			i = j
		case isNameStart(c):
			j := i + 1
			for j < len(s) && (isNameChar(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, nameToken(s[i:j], i))
			i = j
		default:
			return nil, fmt.Errorf("%w: unexpected character %q at %d", errExpr, c, i)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

// lexString decodes the quoted string at the start of s and returns it with
// the number of bytes it took.
func lexString(s string) (string, int, error) {
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == quote:
			return b.String(), i + 1, nil
		case c == '\\':
			if i+1 >= len(s) || (s[i+1] != quote && s[i+1] != '\\') {
				return "", 0, fmt.Errorf("%w: bad escape", errExpr)
			}
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("%w: unterminated string", errExpr)
}

func punctuation(c byte) tokKind {
	switch c {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case '[':
		return tokLBrack
	case ']':
		return tokRBrack
	}
	return tokComma
}

func nameToken(name string, pos int) token {
	kind := tokName
	switch strings.ToUpper(name) {
	case "AND":
		kind = tokAnd
	case "OR":
		kind = tokOr
	case "IN":
		kind = tokIn
	case "TRUE":
		kind = tokTrue
	case "FALSE":
		kind = tokFalse
	}
	return token{kind: kind, text: name, pos: pos}
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || isDigit(c) }

// parser is a recursive-descent parser over the tokens of one expression.
type parser struct {
	toks  []token
	i     int
	depth int
}

// parseExpr parses an EvaluateTaskAttributes expression. Errors wrap errExpr.
func parseExpr(s string) (expr, error) {
	if len(s) > maxExprLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", errExpr, maxExprLen)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("%w: unexpected token at %d", errExpr, t.pos)
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.peek().kind == tokOr {
		p.next()
		var r expr
		if r, err = p.and(); err == nil {
			l = orExpr{l, r}
		}
	}
	return l, err
}

func (p *parser) and() (expr, error) {
	l, err := p.primary()
	for err == nil && p.peek().kind == tokAnd {
		p.next()
		var r expr
		if r, err = p.primary(); err == nil {
			l = andExpr{l, r}
		}
	}
	return l, err
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	if t.kind == tokLParen {
		if p.depth++; p.depth > maxExprDepth {
			return nil, fmt.Errorf("%w: nested deeper than %d", errExpr, maxExprDepth)
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		if c := p.next(); c.kind != tokRParen {
			return nil, fmt.Errorf("%w: missing ) at %d", errExpr, c.pos)
		}
		return e, nil
	}
	if t.kind != tokName {
		return nil, fmt.Errorf("%w: expected an attribute at %d", errExpr, t.pos)
	}
	path := strings.Split(t.text, ".")
	for _, name := range path {
		if name == "" || !isNameStart(name[0]) {
			return nil, fmt.Errorf("%w: bad attribute path %q", errExpr, t.text)
		}
	}
	op := p.next()
	switch op.kind {
	case tokEq, tokNe:
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		return cmpExpr{path: path, op: op.kind, vals: []any{lit}}, nil
	case tokIn:
		vals, err := p.list()
		if err != nil {
			return nil, err
		}
		return cmpExpr{path: path, op: tokIn, vals: vals}, nil
	}
	return nil, fmt.Errorf("%w: expected ==, != or IN at %d", errExpr, op.pos)
}

// list parses "[" [ literal { "," literal } ] "]".
func (p *parser) list() ([]any, error) {
	if t := p.next(); t.kind != tokLBrack {
		return nil, fmt.Errorf("%w: expected [ at %d", errExpr, t.pos)
	}
	vals := []any{}
	if p.peek().kind == tokRBrack {
		p.next()
		return vals, nil
	}
	for {
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		vals = append(vals, lit)
		switch t := p.next(); t.kind {
		case tokComma:
		case tokRBrack:
			return vals, nil
		default:
			return nil, fmt.Errorf("%w: expected , or ] at %d", errExpr, t.pos)
		}
	}
}

func (p *parser) literal() (any, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return t.text, nil
	case tokNumber:
		return t.num, nil
	case tokTrue:
		return true, nil
	case tokFalse:
		return false, nil
	}
	return nil, fmt.Errorf("%w: expected a literal at %d", errExpr, t.pos)
}
