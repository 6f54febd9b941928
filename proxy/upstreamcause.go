package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/internal/redact"
)

// shownHeaders are the request headers sentRedacted leaves in an error's
// text: they name hosts, addresses and schemes, which the errors of a
// failed dial name too ("dial tcp 127.0.0.1:8080"), or the protocol an
// upgrade asked for, which the reverse proxy's error names ("backend tried
// to switch protocol ... when \"websocket\" was requested"); no secret.
var shownHeaders = map[string]bool{
	"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
	"X-Forwarded-Port": true, "X-Forwarded-Prefix": true, "Forwarded": true, "X-Real-Ip": true, "Via": true,
	"Upgrade": true,
}

// sentRedacted is err, the failure of a request sent upstream (out), with
// what that request carried taken out of its text: its query string (raw
// and decoded) and its header values (sentHeaderValues), whole or any run
// of redact.MinRun bytes of one. Go's transport quotes the peer's first line
// when it is no HTTP status line ("malformed HTTP status code
// \"/app?token=...\""), and a peer that answers with what it got (an echo
// service or a line protocol's server behind a wrong port, which quotes
// the command it refused) makes that line the request line: the query,
// which may carry codes, states and tokens, then went whole into the log
// line and the upstream span. Header values go too (the client's
// Authorization and cookies, the access token, the assertion): a peer's
// complaint may quote them just as well. err still unwraps to itself.
func sentRedacted(out *http.Request, err error) error {
	if err == nil || out == nil {
		return err
	}
	var sent []string
	if out.URL != nil && out.URL.RawQuery != "" {
		sent = append(sent, out.URL.RawQuery)
		if q, qerr := url.QueryUnescape(out.URL.RawQuery); qerr == nil && q != out.URL.RawQuery {
			sent = append(sent, q)
		}
	}
	sent = append(sent, sentHeaderValues(out.Header)...)
	// Cut first, as the log line cuts it: redacting is then bounded (the
	// text quotes up to maxResponseHeaderBytes of the peer's line). A
	// secret the cut leaves partial is still a run of it when
	// redact.MinRun bytes or more are left.
	return redact.Error(err, logattr.Truncate(err.Error(), logattr.MaxCause), sent...)
}

// sentHeaderValues are the values of h that sentRedacted takes out: each
// distinct one once, and one shorter than redact.MinRun only in a header
// named for a credential (credentialHeader). A short value goes only
// whole, wherever it stands: a browser's "Upgrade-Insecure-Requests: 1" or
// "Accept-Language: en" took every "1" out of the address and every "en"
// out of the cause ("dial tcp [redacted]0.0.0.[redacted]:8080"), and a
// client's thousands of one-byte values, each searched for on its own in a
// text made of that byte (an echoing peer quotes the path), cost some 40 ms
// of CPU a failed request. Distinct short values of one length match at
// most once a byte of the text, so what is left costs little.
func sentHeaderValues(h http.Header) []string {
	var vs []string
	seen := map[string]bool{}
	for name, values := range h {
		if shownHeaders[name] {
			continue
		}
		for _, v := range values {
			if (len(v) >= redact.MinRun || v != "" && credentialHeader(name)) && !seen[v] {
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
