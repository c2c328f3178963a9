package flextest

import (
	"encoding/json"
	"errors"
	"testing"
)

const exprAttrs = `{
	"channelType": "sms",
	"flexInteractionChannelSid": "UO00000000000000000000000000000001",
	"priority": 3,
	"vip": true,
	"note": null,
	"tags": ["a", "b"],
	"conversations": {"conversation_id": "KD00000000000000000000000000000001", "initiated_by": "customer"},
	"customers": {"name": "Ana O'Neil", "quote": "say \"hi\""}
}`

func TestParseExprEval(t *testing.T) {
	var attrs map[string]any
	if err := json.Unmarshal([]byte(exprAttrs), &attrs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"string equal", `channelType == "sms"`, true},
		{"single quotes", `channelType == 'sms'`, true},
		{"case-sensitive value", `channelType == "SMS"`, false},
		{"nested path", `conversations.conversation_id == "KD00000000000000000000000000000001"`, true},
		{"nested path mismatch", `conversations.initiated_by == "agent"`, false},
		{"number against string", `priority == "3"`, false},
		{"bool against string", `vip == "true"`, false},
		{"missing attribute", `missing == "x"`, false},
		{"null attribute", `note == "null"`, false},
		{"path through a string", `channelType.x == "sms"`, false},
		{"array compared to string", `tags == "a"`, false},
		{"escaped quote", `customers.quote == "say \"hi\""`, true},
		{"apostrophe in double quotes", `customers.name == "Ana O'Neil"`, true},
		{"escaped apostrophe", `customers.name == 'Ana O\'Neil'`, true},
		{"underscore name", `conversations.initiated_by == "customer"`, true},
		{"newlines and tabs", "channelType\t==\n\"sms\"", true},
		{"the product's form", `flexInteractionChannelSid == "UO00000000000000000000000000000001"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseExpr(tt.in)
			if err != nil {
				t.Fatalf("parseExpr(%q) error: %v", tt.in, err)
			}
			if got := e.eval(attrs); got != tt.want {
				t.Errorf("parseExpr(%q).eval = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseExprInvalid(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ``},
		{"blank", `   `},
		{"single equals", `channelType = "sms"`},
		{"greater than", `priority > 1`},
		{"has", `tags HAS "a"`},
		{"contains", `channelType CONTAINS "s"`},
		{"not in", `channelType NOT IN ["sms"]`},
		{"double ampersand", `a == 1 && b == 2`},
		{"double pipe", `a == 1 || b == 2`},
		{"missing operand", `channelType ==`},
		{"missing operator", `channelType "sms"`},
		{"literal on the left", `"sms" == channelType`},
		{"attribute on the right", `channelType == other`},
		{"bare attribute", `vip`},
		{"bare literal", `true`},
		{"unterminated string", `channelType == "sms`},
		{"bad escape", `channelType == "s\ms"`},
		{"unbalanced open", `(channelType == "sms"`},
		{"unbalanced close", `channelType == "sms")`},
		{"empty parentheses", `()`},
		{"dangling and", `channelType == "sms" AND`},
		{"leading or", `OR channelType == "sms"`},
		{"in without list", `channelType IN "sms"`},
		{"unclosed list", `channelType IN ["sms"`},
		{"list trailing comma", `channelType IN ["sms",]`},
		{"list without commas", `channelType IN ["sms" "chat"]`},
		{"nested list", `channelType IN [["sms"]]`},
		{"keyword as attribute", `and == 1`},
		{"empty path segment", `conversations..id == 1`},
		{"trailing dot", `conversations. == 1`},
		{"digit path segment", `tags.0 == "a"`},
		{"bad number", `priority == 1.2.3`},
		{"number then letters", `priority == 1e3`},
		{"hyphenated name", `customer-value == "gold"`},
		{"not equal", `channelType != "sms"`},
		{"in list", `channelType IN ["chat", "sms"]`},
		{"and", `channelType == "sms" AND priority == "3"`},
		{"or", `channelType == "chat" OR vip == "true"`},
		{"parentheses", `(channelType == "sms")`},
		{"number literal", `priority == 3`},
		{"bool literal", `vip == true`},
		{"mismatched quotes", `channelType == "sms'`},
		{"escaped apostrophe in double quotes", `channelType == "O\'Neil"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseExpr(tt.in); !errors.Is(err, errExpr) {
				t.Errorf("parseExpr(%q) = %v, want an error wrapping %v", tt.in, err, errExpr)
			}
		})
	}
}

// FuzzParseExpr checks that parsing and evaluating never panic, that errors
// wrap errExpr and that a parsed expression evaluates the same twice.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		`channelType == "sms"`,
		`a.b == 'x\'y'`,
		`a == "\"\\"`,
	} {
		f.Add(s)
	}
	var attrs map[string]any
	if err := json.Unmarshal([]byte(exprAttrs), &attrs); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseExpr(s)
		if err != nil {
			if !errors.Is(err, errExpr) {
				t.Fatalf("parseExpr(%q) error %v does not wrap errExpr", s, err)
			}
			return
		}
		if a, b := e.eval(attrs), e.eval(attrs); a != b {
			t.Fatalf("parseExpr(%q).eval is not stable: %v then %v", s, a, b)
		}
	})
}
