// Package jsondepth bounds the nesting of JSON documents before they are
// decoded, so a hostile document of a few kilobytes cannot make a decoder
// build thousands of nested maps. encoding/json's own limit (10,000 levels)
// is far above what a webhook body or TaskRouter attributes ever need.
package jsondepth

// Exceeds reports whether the JSON text b nests objects and arrays deeper
// than limit. It reads b once, without recursion, ignores brackets inside
// strings, and stops at the first level past limit. It does not validate b.
func Exceeds[T string | []byte](b T, limit int) bool {
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case escaped: // only ever inside a string
			escaped = false
		case inString:
			escaped, inString = c == '\\', c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > limit {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}
