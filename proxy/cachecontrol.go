package proxy

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis"
)

// modifyResponse is the reverse proxy's hook on an upstream's answer:
// the gateway's cookies are removed from it, its trailers from the fields
// the gateway controls (guardTrailers), and an answer to a request let
// through for an identity is kept out of shared caches and ends with that
// identity (watchAnswer).
func (h *Handler) modifyResponse(resp *http.Response) error {
	if err := h.dropOwnSetCookies(resp); err != nil {
		return err
	}
	dropOriginPolicies(resp.Header)
	ex := exchangeOf(resp.Request)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if err := askedSwitch(resp); err != nil {
			return err
		}
	} else {
		h.guardTrailers(ex, resp)
	}
	if err := h.keepWorkerScope(ex, resp.Request.Header, resp.Header); err != nil {
		return err
	}
	if ex == nil {
		return nil
	}
	if ex.dec.made && ex.dec.Outcome == portcullis.OutcomeAllow {
		if isPage(resp.Header, resp.StatusCode) {
			keepOutOfHistory(resp.Header, ex.Header())
		} else {
			keepPrivate(resp.Header, ex.Header())
			varyOnCredentials(resp.Header, ex.Header())
		}
	}
	if err := h.watchAnswer(ex, resp); err != nil {
		return err
	}
	keepUnlabelled(resp.Header, ex.Header())
	return nil
}

// keepPrivate makes an answer that only an identity could obtain unfit for
// a shared cache (RFC 9111 §5.2.2.7): a CDN or caching proxy in front of
// the gateway keys on the URL, and would hand a stored copy to the next
// client asking, signed in or not, without the request reaching the
// gateway. An application behind an authorizing gateway seldom says so
// itself: "public", "s-maxage", a CDN's own lifetime field
// (sharedCacheField), or a Last-Modified
// alone (heuristic freshness, a static file server's default) let a shared
// cache store it. The browser's own cache may still keep it ("private"),
// for as long as the application says. h is the upstream's answer's
// header, client the header of the answer being written, still empty.
func keepPrivate(h, client http.Header) {
	dropSharedCacheFields(h)
	ds := cacheDirectives(h.Values("Cache-Control"))
	if len(ds) == 0 {
		// The usual answer: no allocation on the hot path. The field goes
		// straight into the client's header, where the reverse proxy's
		// copy of the upstream's fields would allocate a slice for it. The
		// slice's capacity is its length, so an Add by a later hook
		// copies it.
		delete(h, "Cache-Control")
		client["Cache-Control"] = privateOnly[:1:1]
		return
	}
	kept := ds[:0]
	for _, d := range ds {
		name, _, qualified := strings.Cut(d, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store":
			if !qualified {
				return
			}
		case "private":
			if !qualified {
				return
			}
			// private="Set-Cookie" keeps only the fields it names from
			// shared caches: the answer itself is still stored.
			continue
		case "public", "s-maxage":
			continue
		}
		kept = append(kept, d)
	}
	// "private" goes first: after a directive whose quoted argument is
	// never closed (x="a, or x="a\"), a cache would read it as part of
	// that argument.
	kept = append(kept, "")
	copy(kept[1:], kept)
	kept[0] = "private"
	h.Set("Cache-Control", strings.Join(kept, ", "))
}

// varyOnCredentials makes an answer that only an identity could obtain
// one that a cache hands only to a request with the same credentials
// (RFC 9111 §4.1): the browser's own cache, which "private" lets keep it,
// keys its entries on the URL alone. On a shared computer a session ends
// without a sign-out (its cookie's lifetime, a revocation, a user who
// walks away) and the next person signs in in the same browser: the
// application's data answers (its /api/me, its JSON) came to the new user
// from the cache, the previous user's, without a request reaching the
// gateway. The credentials are the Cookie (the session cookie) and
// Authorization (a bearer token) fields: another session's cookie, a
// cookie store's cookie sealed again at a refresh, or another token is a
// miss, which costs the answer fetched again. An upstream's Vary is kept,
// and "*" already matches no request. h and client as for keepPrivate.
func varyOnCredentials(h, client http.Header) {
	vs := h["Vary"]
	if len(vs) == 0 {
		// The usual answer: the shared slice, as for privateOnly.
		client["Vary"] = varyCredentials[:1:1]
		return
	}
	for _, line := range vs {
		for rest := line; rest != ""; {
			var f string
			f, rest, _ = strings.Cut(rest, ",")
			if strings.TrimSpace(f) == "*" {
				return
			}
		}
	}
	h["Vary"] = append(vs[:len(vs):len(vs)], varyCredentials[0])
}

// varyCredentials is the Vary of an answer that named none.
var varyCredentials = []string{"Cookie, Authorization"}

// keepOutOfHistory makes a page that only an identity could obtain
// unfit for any cache, the browser's own and its back/forward cache
// included, whatever the upstream said: after a sign-out on a shared
// computer, Back showed the next person the signed-in user's pages from
// there without asking the gateway. The sign-out's Clear-Site-Data clears
// both caches of its origin, but the page the user signs out from enters
// the back/forward cache only after that answer; a no-store page is kept
// out of it, or (Chromium, over https) dropped once its cookies change. It
// costs a page fetched again on Back and Forward, and whole on every visit
// (no stored copy to revalidate with a 304); the page's scripts,
// styles and images keep their caching. h and client as for keepPrivate.
func keepOutOfHistory(h, client http.Header) {
	dropSharedCacheFields(h)
	delete(h, "Cache-Control")
	client["Cache-Control"] = noStore[:1:1]
}

// isPage reports whether an answer may be shown as an HTML page, which a
// browser keeps in its history: not a redirect it follows (followed), and
// a Content-Type line naming text/html or application/xhtml+xml (any
// case) among its types, not only the first (browsers take the last), or
// an answer with a body that a browser sniffs: no Content-Type (which
// reaches the browser unlabelled, keepUnlabelled), or lines that name no
// valid type ("", "html") or a type browsers read as unknown (*/*,
// unknown/unknown, application/unknown). It does not allocate.
func isPage(h http.Header, status int) bool {
	if followed(h, status) {
		return false
	}
	cts := h["Content-Type"]
	for _, line := range cts {
		for rest := line; rest != ""; {
			var t string
			t, rest, _ = strings.Cut(rest, ",")
			t = trimBlanksLeft(t)
			if hasPrefixFold(t, "text/html") || hasPrefixFold(t, "application/xhtml+xml") {
				return true
			}
		}
	}
	hasBody := status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
	return hasBody && sniffed(cts)
}

// sniffed reports whether a browser sniffs an answer with the
// Content-Type lines cts (the Fetch standard's "extract a MIME type", and
// MIME Sniffing's unknown types): when none of their types, split at the
// commas outside quoted strings, is valid, or one is unknown. A body
// sniffed from <html> is shown as a page, whatever the upstream meant.
// Fetch joins the lines with ", " before splitting them: a quoted string
// left open at a line's end runs on into the next line, up to its first
// comma outside it, so that "a;x=\"" then ",text/css;\"" is one invalid
// type, not text/css. That run's type is its first line's part (a type
// whose quote opens before its ";" is invalid however it goes on), so the
// rest is skipped, and the lines are not joined: no allocation.
func sniffed(cts []string) bool {
	known, quoted := false, false
	for _, line := range cts {
		rest := line
		if quoted {
			_, rest, quoted = cutOutsideQuotes(rest, true)
		}
		for rest != "" {
			var t string
			t, rest, quoted = cutOutsideQuotes(rest, false)
			typ, sub, ok := mediaType(t)
			switch {
			case !ok || typ == "*" && sub == "*":
			case strings.EqualFold(sub, "unknown") && (strings.EqualFold(typ, "unknown") || strings.EqualFold(typ, "application")):
				return true
			default:
				known = true
			}
		}
	}
	return !known
}

// cutOutsideQuotes cuts s at its first comma outside a quoted string (a
// backslash escapes the next character inside one); quoted says s starts
// inside one. open reports whether s, with no such comma, ends inside one.
func cutOutsideQuotes(s string, quoted bool) (before, after string, open bool) {
	for i := 0; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == ',':
			return s[:i], s[i+1:], false
		}
	}
	return s, "", quoted
}

// mediaType is the type and subtype of a MIME type t (RFC 9110 §8.3.1,
// blanks around it allowed), ok false when t is none.
func mediaType(t string) (typ, sub string, ok bool) {
	typ, rest, found := strings.Cut(trimBlanksRight(trimBlanksLeft(t)), "/")
	sub, _, _ = strings.Cut(rest, ";")
	sub = trimBlanksRight(sub)
	return typ, sub, found && isToken(typ) && isToken(sub)
}

// trimBlanksLeft and trimBlanksRight cut spaces and tabs off one end of s.
// Every answer let through for an identity has its Content-Type read
// (isPage): strings.Trim with a cutset builds its set on each call.
func trimBlanksLeft(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimBlanksRight(s string) string {
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenBytes[s[i]] {
			return false
		}
	}
	return s != ""
}

// tokenBytes marks the bytes of an RFC 9110 token (tchar): visible ASCII
// but the delimiters. A table, as the type of every answer let through for
// an identity is read (isPage).
var tokenBytes = func() (t [256]bool) {
	for c := byte('!'); c <= '~'; c++ {
		t[c] = strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) < 0
	}
	return t
}()

// privateOnly is the Cache-Control of an answer that named no directive.
var privateOnly = []string{"private"}

// cacheDirectives splits Cache-Control field values into their directives
// (RFC 9111 §5.2), each trimmed: a comma inside a quoted argument
// (no-cache="Set-Cookie, X") does not split it. A cache reads several
// lines joined with ", " (RFC 9110 §5.3): a quoted argument left open on
// one line runs on into the next, so that after x=" a no-store on the
// next line is no directive, and the answer must still be made private.
// Only several lines, a rare answer, pay for the join.
func cacheDirectives(values []string) []string {
	if len(values) > 1 {
		values = []string{strings.Join(values, ", ")}
	}
	var out []string
	for _, v := range values {
		start, quoted := 0, false
		for i := 0; i <= len(v); i++ {
			switch {
			case i+1 < len(v) && v[i] == '\\' && quoted:
				i++
			case i < len(v) && v[i] == '"':
				quoted = !quoted
			case i == len(v) || v[i] == ',' && !quoted:
				if d := strings.TrimSpace(v[start:i]); d != "" {
					out = append(out, d)
				}
				start = i + 1
			}
		}
	}
	return out
}
