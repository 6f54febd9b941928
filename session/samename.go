package session

import (
	"errors"
	"net/http"
	"strings"
)

// maxSameName bounds the cookies of the session cookie's name that one
// request is read for. A browser holds several of one name when they
// differ in Domain or Path: after cookie_domain was set, changed or
// removed (the old scope's cookie stays until its Max-Age), or when
// another host of the site set one. It sends the longer Path first, then
// the older (RFC 6265 §5.4), so the first was the old scope's: it no
// longer opens (sessions are bound to their scope), the gateway sent the
// browser to sign in, and the session that sign-in set came second again:
// a redirect loop until the old cookie expired. The stores read the first
// that opens instead; a planted session that opens still comes first, as
// before (docs/security.md, threat model).
const maxSameName = 4

// findCookie returns the value of the first cookie called name in the
// Cookie header lines of h, without allocating.
func findCookie(h http.Header, name string) (string, bool) { return nthCookie(h, name, 0) }

// nthCookie returns the value of the cookie called name that comes n-th
// (from 0) in the Cookie header lines of h, without allocating. Double
// quotes around the value are removed (RFC 6265 §4.1.1).
func nthCookie(h http.Header, name string, n int) (string, bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if n > 0 {
				n--
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// worseNoSession is the error to report of the cookies tried so far (was)
// once one more did not give the session with err: a cookie that does not
// open with the secrets (ErrForeignCookie) says more than one whose
// session ended.
func worseNoSession(was, err error) error {
	if errors.Is(err, ErrForeignCookie) {
		return err
	}
	return was
}
