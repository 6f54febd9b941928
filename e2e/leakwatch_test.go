package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// leakWatch knows every secret value a test made or saw and every output
// the gateway produced, and reports each secret found in an output that
// may not hold it. A secret is looked for as it is, URL-encoded, in base64
// (each alphabet, padded or not) and by its first and last 12 characters
// (a JWT's by its signature's: every JWT's header starts alike).
type leakWatch struct {
	mu      sync.Mutex
	secrets map[string]string // value -> what it is
	queries map[string]string // query-string secrets: kept out of logs, traces, metrics and CLI output only
	outputs []leakOutput
}

// leakOutput is one output; allowed are the secret values the docs say it
// delivers (the cookie in its own Set-Cookie, a state in the redirect to
// the provider).
type leakOutput struct {
	name, text string
	server     bool // a log, trace, metrics page or command output
	allowed    map[string]bool
}

func newLeakWatch() *leakWatch {
	return &leakWatch{secrets: map[string]string{}, queries: map[string]string{}}
}

// secret records v as a secret; values under 12 bytes are too short to
// look for without false alarms, and the test makes none.
func (w *leakWatch) secret(what, v string) {
	if len(v) < 12 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.secrets[v]; !ok {
		w.secrets[v] = what
	}
}

// query records v as a secret carried in a query string.
func (w *leakWatch) query(what, v string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queries[v] = what
}

// out records an output; allowed lists the secrets it may deliver.
func (w *leakWatch) out(name, text string, server bool, allowed ...string) {
	o := leakOutput{name: name, text: text, server: server, allowed: map[string]bool{}}
	for _, a := range allowed {
		o.allowed[a] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outputs = append(w.outputs, o)
}

// check reports every leak. So that a path that stopped producing output
// cannot make it pass, it wants at least minSecrets secrets and minOutputs
// outputs to have been seen.
func (w *leakWatch) check(t *testing.T, minSecrets, minOutputs int) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.secrets) < minSecrets || len(w.outputs) < minOutputs {
		t.Errorf("the gauntlet saw %d secrets and %d outputs, want at least %d and %d",
			len(w.secrets), len(w.outputs), minSecrets, minOutputs)
	}
	for _, o := range w.outputs {
		w.scan(t, o, w.secrets)
		if o.server {
			w.scan(t, o, w.queries)
		}
	}
}

func (w *leakWatch) scan(t *testing.T, o leakOutput, secrets map[string]string) int {
	t.Helper()
	values := make([]string, 0, len(secrets))
	for v := range secrets {
		values = append(values, v)
	}
	sort.Strings(values)
	shared := sharedForms(values)
	leaks := 0
	for _, v := range values {
		if o.allowed[v] {
			continue
		}
		for _, n := range needles(v) {
			if shared[n] {
				continue
			}
			if i := strings.Index(o.text, n); i >= 0 {
				leaks++
				t.Errorf("LEAK: %s (%.20s…) in %s as %q, at:\n%s", secrets[v], v, o.name, n, around(o.text, i, len(n)))
				break
			}
		}
	}
	return leaks
}

// sharedForms are the forms that two different secrets have in common:
// structure (the base64 of a sealed value's timestamp, a JWT's claim
// names), not a secret.
func sharedForms(values []string) map[string]bool {
	owner, shared := map[string]string{}, map[string]bool{}
	for _, v := range values {
		for _, n := range needles(v) {
			if o, ok := owner[n]; ok && o != v {
				shared[n] = true
			}
			owner[n] = v
		}
	}
	return shared
}

// needles are the forms of v looked for.
func needles(v string) []string {
	b := []byte(v)
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)}
	core := v
	if parts := strings.Split(v, "."); len(parts) == 3 && strings.HasPrefix(v, "eyJ") {
		core = parts[2] // the signature; the payload too, whole
		forms = append(forms, parts[1])
	}
	if len(core) >= 24 {
		if !sealedTimestamp(core[:12]) {
			forms = append(forms, core[:12])
		}
		forms = append(forms, core[len(core)-12:])
	}
	return forms
}

// sealedTimestamp reports whether head, a value's first 12 characters, is
// the base64 of nine digits: a sealed cookie's creation time, which is no
// secret and which a JWT's iat, nbf or exp of the same second spells the
// same way one time in three (a false alarm in TestNoSecretInAnyOutput).
func sealedTimestamp(head string) bool {
	b, err := base64.URLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// jwtNonce is the nonce claim of a JWT's payload: an ID token delivered
// whole delivers the nonce it carries.
func jwtNonce(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ Nonce string }
	_ = json.Unmarshal(b, &c)
	return c.Nonce
}

// around is the output near a finding, for the failure message.
func around(s string, i, n int) string {
	lo, hi := max(0, i-160), min(len(s), i+n+160)
	return s[lo:hi]
}

// leakRecorder is an http.RoundTripper that records every answer from the
// gateway at host (headers and body) into w, registering each cookie the
// gateway sets as a secret that its own Set-Cookie may carry.
type leakRecorder struct {
	tb     testing.TB
	w      *leakWatch
	host   string
	issuer string // the provider: its authorize URL may carry state and nonce
	next   http.RoundTripper
}

func (r *leakRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || req.URL.Host != r.host {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	name := "answer to " + req.Method + " " + req.URL.Path
	h := resp.Header.Clone()
	for _, ck := range resp.Cookies() {
		r.w.secret("cookie "+ck.Name, ck.Value)
		r.w.out(name+": Set-Cookie "+ck.Name, ck.String(), false, ck.Value)
	}
	h.Del("Set-Cookie")
	var allowed []string
	if loc := h.Get("Location"); strings.HasPrefix(loc, r.issuer+"/") {
		// The authorization request carries them through the browser, and
		// the sign-out's redirect the ID token as id_token_hint
		// (docs/endpoints.md).
		q := mustURL(r.tb, loc).Query()
		allowed = append(allowed, q.Get("state"), q.Get("nonce"), q.Get("id_token_hint"), jwtNonce(q.Get("id_token_hint")))
	}
	var hb strings.Builder
	_ = h.Write(&hb)
	r.w.out(name, resp.Status+"\n"+hb.String()+"\n"+string(body), false, allowed...)
	return resp, nil
}
