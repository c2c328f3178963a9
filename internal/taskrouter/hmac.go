package taskrouter

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// This file is the allocation-free form of twilio-go's
// RequestValidator.Validate for the URLs API Gateway delivers. The validator
// builds each candidate URL with url.Parse and fmt.Sprintf and hashes through
// crypto/hmac, which costs about a hundred allocations per token; the same
// bytes are hashed here with crypto/sha1 over a stack buffer. FuzzVerifyForm
// checks that both accept exactly the same signatures, and Verify falls back
// to twilio-go for any URL outside the shapes handled here.

// urlParts is a URL as pieces to be concatenated, so that a variant of a
// URL can be hashed without building it as a string.
type urlParts [3]string

func (p urlParts) len() int { return len(p[0]) + len(p[1]) + len(p[2]) }

func (p urlParts) appendTo(b []byte) []byte {
	return append(append(append(b, p[0]...), p[1]...), p[2]...)
}

// urlVariants returns the two URLs RequestValidator.Validate signs: the URL
// with its scheme's default port added when it has none (addPort), and the
// URL without its port (removePort). ok is false unless rawURL is
// scheme://host[:port][/path][?query] with a lower-case http or https
// scheme, a host of letters, digits, '.', '-' and '_', a decimal port, a
// path of characters url.URL.EscapedPath never re-escapes, and a query of
// printable ASCII: URLs for which url.Parse(u).String() == u, so the
// strings hashed here are exactly the ones RequestValidator builds.
func urlVariants(rawURL string) (withPort, withoutPort urlParts, ok bool) {
	var scheme, defPort string
	switch {
	case strings.HasPrefix(rawURL, "https://"):
		scheme, defPort = "https://", ":443"
	case strings.HasPrefix(rawURL, "http://"):
		scheme, defPort = "http://", ":80"
	default:
		return withPort, withoutPort, false
	}
	i := len(scheme)
	for i < len(rawURL) && isHostByte(rawURL[i]) {
		i++
	}
	if i == len(scheme) {
		return withPort, withoutPort, false
	}
	hostEnd := i
	hasPort := false
	if i < len(rawURL) && rawURL[i] == ':' {
		j := i + 1
		for j < len(rawURL) && '0' <= rawURL[j] && rawURL[j] <= '9' {
			j++
		}
		if j == i+1 || j-i-1 > 5 {
			return withPort, withoutPort, false
		}
		hasPort, i = true, j
	}
	tail := rawURL[i:]
	if tail != "" && tail[0] != '/' && tail[0] != '?' {
		return withPort, withoutPort, false
	}
	inQuery := false
	for k := 0; k < len(tail); k++ {
		c := tail[k]
		switch {
		case inQuery:
			if c < 0x21 || c > 0x7e || c == '#' {
				return withPort, withoutPort, false
			}
		case c == '?':
			inQuery = true
		case !isPathByte(c):
			return withPort, withoutPort, false
		}
	}
	if hasPort {
		return urlParts{rawURL}, urlParts{rawURL[:hostEnd], tail}, true
	}
	return urlParts{rawURL[:hostEnd], defPort, tail}, urlParts{rawURL}, true
}

// isHostByte reports the bytes urlVariants accepts in a host name.
func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

// isPathByte reports the bytes url.URL.EscapedPath leaves as they are in a
// path: unreserved characters and the sub-delimiters it does not escape.
// '%' is excluded, so no escape sequence needs checking.
func isPathByte(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	switch c {
	case '-', '.', '_', '~', '/', '$', '&', '+', ',', ':', ';', '=', '@':
		return true
	}
	return false
}

// stackKeys is how many form keys are sorted without a heap allocation;
// TaskRouter sends about twenty.
const stackKeys = 48

// stackMessage is how long a signed message is hashed without a heap
// allocation.
const stackMessage = 4096

// verifyForm reports whether RequestValidator.Validate would accept
// signature for rawURL and the first value of each form key with one of
// tokens. ok is false when rawURL is outside the shapes urlVariants
// handles; the caller must then ask twilio-go.
func verifyForm(rawURL string, form url.Values, signature string, tokens []string) (valid, ok bool) {
	withPort, withoutPort, ok := urlVariants(rawURL)
	if !ok {
		return false, false
	}
	var kb [stackKeys]string
	keys := kb[:0]
	paramsLen := 0
	for k, v := range form {
		keys = append(keys, k)
		paramsLen += len(k) + len(v[0])
	}
	slices.Sort(keys)

	var mb [stackMessage]byte
	msg := mb[:0]
	if n := sha1.BlockSize + max(withPort.len(), withoutPort.len()) + paramsLen; n > len(mb) {
		msg = make([]byte, 0, n)
	}
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		var ipad, opad [sha1.BlockSize]byte
		hmacPads(tok, &ipad, &opad)
		for _, u := range [2]urlParts{withPort, withoutPort} {
			m := u.appendTo(append(msg[:0], ipad[:]...))
			for _, k := range keys {
				m = append(m, k...)
				m = append(m, form[k][0]...)
			}
			if hmacMatches(&opad, sha1.Sum(m), signature) {
				return true, true
			}
		}
	}
	return false, true
}

// hmacPads derives HMAC's inner and outer key blocks (RFC 2104) from key.
func hmacPads(key string, ipad, opad *[sha1.BlockSize]byte) {
	var k [sha1.BlockSize]byte
	if len(key) > sha1.BlockSize {
		sum := sha1.Sum([]byte(key))
		copy(k[:], sum[:])
	} else {
		copy(k[:], key)
	}
	for i := range k {
		ipad[i] = k[i] ^ 0x36
		opad[i] = k[i] ^ 0x5c
	}
}

// hmacMatches finishes the HMAC from the inner hash and compares its base64
// form with signature in constant time, as RequestValidator does.
func hmacMatches(opad *[sha1.BlockSize]byte, inner [sha1.Size]byte, signature string) bool {
	var outer [sha1.BlockSize + sha1.Size]byte
	copy(outer[:], opad[:])
	copy(outer[sha1.BlockSize:], inner[:])
	sum := sha1.Sum(outer[:])
	var enc [28]byte // base64.StdEncoding.EncodedLen(sha1.Size)
	base64.StdEncoding.Encode(enc[:], sum[:])
	return subtle.ConstantTimeCompare(enc[:], []byte(signature)) == 1
}
