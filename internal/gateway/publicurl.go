package gateway

import (
	"net/http"
	"strconv"
	"strings"
)

// rebuildURL reconstructs the URL the sender used from the event: scheme
// from X-Forwarded-Proto, host from requestContext.domainName or the Host
// header, and a non-default X-Forwarded-Port. It returns "" when there is
// no usable host.
func rebuildURL(h http.Header, domain, path, rawQuery string) string {
	host := domain
	if !validHost(host) {
		host = firstValue(h, "Host")
		if !validHost(host) {
			return ""
		}
	}
	scheme := "https"
	if strings.EqualFold(firstValue(h, "X-Forwarded-Proto"), "http") {
		scheme = "http"
	}
	authority := host
	if port := firstValue(h, "X-Forwarded-Port"); validPort(port) && !hasPort(host) &&
		!(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		authority = host + ":" + port
	}
	return joinURL(scheme+"://"+authority, path, rawQuery)
}

// joinURL is prefix + path, then '?' and rawQuery when the query is not
// empty.
func joinURL(prefix, path, rawQuery string) string {
	if rawQuery == "" {
		return prefix + path
	}
	return prefix + path + "?" + rawQuery
}

// firstValue returns the first comma-separated element of the first value
// of header key, trimmed of spaces, as proxies append to X-Forwarded-*.
func firstValue(h http.Header, key string) string {
	vs := h[key]
	if len(vs) == 0 {
		return ""
	}
	v, _, _ := strings.Cut(vs[0], ",")
	return strings.TrimSpace(v)
}

// validHost reports whether host can stand as a URL authority: a DNS name,
// an IPv4 address or a bracketed IPv6 address, optionally with a port.
func validHost(host string) bool {
	return host != "" && strings.Trim(host,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:[]") == ""
}

// hasPort reports whether host already ends with ":port".
func hasPort(host string) bool {
	i := strings.LastIndexByte(host, ':')
	return i >= 0 && i > strings.LastIndexByte(host, ']')
}

// validPort reports whether p is a decimal TCP port number, 1-65535.
func validPort(p string) bool {
	if len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535
}
