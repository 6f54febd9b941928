package redact

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/internal/logattr"
)

// Sent is err, the failure of a request the gateway sent (req: to an
// upstream, a provider, a directory), with what that request carried taken
// out of its text: its query string (raw and decoded) and its header values
// (SentValues), whole or any run of MinRun bytes of one. Go's transport
// quotes the peer's first line when it is no HTTP status line ("malformed
// HTTP status code \"/app?token=...\""), and a peer that answers with what
// it got (an echo service or a line protocol's server behind a wrong port,
// an egress proxy) makes that line the request line: the query, which may
// carry codes, states and tokens or name the user (a directory's
// userKey=ann%40acme.com), went whole into a log line or a span. Header
// values go too (Authorization, cookies, the assertion): a peer's
// complaint may quote them just as well. shown names the headers whose
// values stay (nil: none). One function for every such request: each had
// its own, and one path (the provider calls' spans) had none. err still
// unwraps to itself.
func Sent(req *http.Request, err error, shown map[string]bool) error {
	if err == nil || req == nil {
		return err
	}
	var sent []string
	if req.URL != nil && req.URL.RawQuery != "" {
		sent = append(sent, req.URL.RawQuery)
		if q, qerr := url.QueryUnescape(req.URL.RawQuery); qerr == nil && q != req.URL.RawQuery {
			sent = append(sent, q)
		}
	}
	sent = append(sent, SentValues(req.Header, shown)...)
	// Cut first, as the log line cuts it: redacting is then bounded (the
	// text quotes up to a response header's worth of the peer's line). A
	// secret the cut leaves partial is still a run of it when MinRun bytes
	// or more are left.
	return Error(err, logattr.Truncate(err.Error(), logattr.MaxCause), sent...)
}

// SentValues are the values of h that Sent takes out, but for the headers
// in shown: each distinct one once, and one shorter than MinRun only in a
// header named for a credential (credentialHeader). A short value goes only
// whole, wherever it stands: a browser's "Upgrade-Insecure-Requests: 1" or
// "Accept-Language: en" took every "1" out of the address and every "en"
// out of the cause ("dial tcp [redacted]0.0.0.[redacted]:8080"), and a
// client's thousands of one-byte values, each searched for on its own in a
// text made of that byte (an echoing peer quotes the path), cost some 40 ms
// of CPU a failed request. Distinct short values of one length match at
// most once a byte of the text, so what is left costs little.
func SentValues(h http.Header, shown map[string]bool) []string {
	var vs []string
	seen := map[string]bool{}
	for name, values := range h {
		if shown[name] {
			continue
		}
		for _, v := range values {
			if (len(v) >= MinRun || v != "" && credentialHeader(name)) && !seen[v] {
				seen[v] = true
				vs = append(vs, v)
			}
		}
	}
	return vs
}

// credentialHeader says whether a header's name says it carries a
// credential, whose value is taken out however short it is.
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"auth", "cookie", "token", "key", "secret", "session", "password", "assertion"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
