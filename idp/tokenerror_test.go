package idp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// reflectingTokenEndpoint plays a token endpoint behind a debug page or a
// web application firewall: it answers every token request with a page that
// quotes the request it got (form and Authorization header), padded to
// size. Everything else goes to the real provider. A real provider cannot
// be made to answer so, hence this transport.
type reflectingTokenEndpoint struct {
	base        http.RoundTripper
	status      int
	contentType string
	size        int
	// description, when set, is answered as a JSON error_description
	// that quotes the form instead of a page.
	description bool
	// inError, when set, quotes the form in the JSON error member itself,
	// as providers that put their message there do.
	inError bool
	// parts, when set, quotes only the first 16 bytes of each form value
	// in error_description ("token AbC… not found").
	parts bool
}

func (t reflectingTokenEndpoint) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		return t.base.RoundTrip(r)
	}
	form, _ := io.ReadAll(r.Body)
	echo := "request: " + string(form) + " authorization: " + r.Header.Get("Authorization")
	body := "<html><body><h1>Request blocked</h1><pre>" + echo + "</pre>" +
		strings.Repeat("<p>padding</p>", t.size/14) + "</body></html>"
	if t.description {
		body = `{"error":"invalid_grant","error_description":"` + strings.Repeat("x", t.size) + ` ` + echo + `"}`
	}
	if t.inError {
		body = `{"error":"` + echo + `"}`
	}
	if t.parts {
		vals, _ := url.ParseQuery(string(form))
		var quoted []string
		for _, vs := range vals {
			for _, v := range vs {
				quoted = append(quoted, v[:min(len(v), 16)]+"…")
			}
		}
		body = `{"error":"invalid_grant","error_description":"not found: ` + strings.Join(quoted, ", ") + `"}`
	}
	return &http.Response{StatusCode: t.status, Status: http.StatusText(t.status),
		Header: http.Header{"Content-Type": {t.contentType}}, Body: io.NopCloser(strings.NewReader(body)),
		Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
}

// TestTokenEndpointErrorText: the error of a failed token request is logged
// (the callback's "request refused" line, at warn for its 502; a refresh's
// "refresh failed"), and anyone can make a callback fail by sending it a
// made-up code. x/oauth2 puts the token endpoint's whole answer, up to
// 1 MiB, in that error when it is not an OAuth error object, and the
// error_description of one uncut: a page that quotes the request (a WAF's
// block page, a framework's debug page) put the code, the PKCE verifier,
// the refresh token and the client's credentials in the gateway's log, and
// each made-up code wrote up to 1 MiB at warn level. The error names the
// status and the OAuth error; a description is cut and never carries what
// the gateway sent.
func TestTokenEndpointErrorText(t *testing.T) {
	const (
		code     = "attacker-chosen-code-0123456789"
		verifier = "verifier-that-must-not-be-logged-0123456789abcdef"
		refresh  = "refresh-token-that-must-not-be-logged-0123456789"
	)
	answers := []struct {
		name string
		rt   reflectingTokenEndpoint
	}{
		{"html page", reflectingTokenEndpoint{status: http.StatusForbidden, contentType: "text/html", size: 512 << 10}},
		{"json without error", reflectingTokenEndpoint{status: http.StatusBadRequest, contentType: "application/json", size: 64 << 10}},
		{"long error_description", reflectingTokenEndpoint{status: http.StatusBadRequest, contentType: "application/json",
			size: 512 << 10, description: true}},
		{"short error_description", reflectingTokenEndpoint{status: http.StatusBadRequest, contentType: "application/json",
			description: true}},
		{"form-encoded error", reflectingTokenEndpoint{status: http.StatusBadRequest, contentType: "text/plain", size: 64 << 10}},
		{"request quoted in the error member", reflectingTokenEndpoint{status: http.StatusBadRequest, contentType: "application/json",
			inError: true}},
		{"the request's values quoted in part", reflectingTokenEndpoint{status: http.StatusBadRequest, contentType: "application/json",
			parts: true}},
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
				rt := a.rt
				rt.base = http.DefaultTransport
				cfg.HTTPClient = &http.Client{Transport: rt}
			})
			secrets := []string{code, verifier, refresh, p.ClientSecret}
			_, _, errX := c.Exchange(context.Background(), code, verifier, "nonce", time.Time{})
			_, _, errR := c.Refresh(context.Background(), refresh, nil)
			for _, err := range []error{errX, errR} {
				if err == nil {
					t.Fatal("a refused token request succeeded")
				}
				text := err.Error()
				if len(text) > 1024 {
					t.Errorf("the error (logged) is %d bytes: %.200s", len(text), text)
				}
				for _, s := range append(secrets, "Y2xpZW50OnNlY3JldA==") {
					if strings.Contains(text, s) || len(s) >= 12 && strings.Contains(text, s[:12]) {
						t.Errorf("the error (logged) carries %q: %.300s", s, text)
					}
				}
				if !strings.Contains(text, http.StatusText(a.rt.status)) && !strings.Contains(text, "400") && !strings.Contains(text, "403") {
					t.Errorf("the error does not name the status: %.300s", text)
				}
			}
			if a.rt.description && !strings.Contains(errX.Error(), `"invalid_grant" "`) {
				t.Errorf("the error leaves out the OAuth error and its description: %.300s", errX)
			}
			if a.rt.description && !errors.Is(errR, ErrInvalidGrant) {
				t.Errorf("an invalid_grant refresh is no longer ErrInvalidGrant: %v", errR)
			}
		})
	}
}

// TestRedactSentFormEncodedWhole: a provider that quotes the form-encoded
// refresh token it was sent (a base64 one with "/" and "+", as
// "%2F" and "%2B"). Redacting the raw value first put Marks over its long
// runs and cut the encoded form's runs apart, so what lay between them
// (under MinRun bytes each: "%2Fq%2B") stayed in the log though the
// message held the whole token.
func TestRedactSentFormEncodedWhole(t *testing.T) {
	c := &Client{cfg: Config{ClientID: "client", ClientSecret: "client-secret-0123456789"}}
	const rt = "1Zq3vN8sLw0P/q+T1xYk5Hd7Gm2Rc/9Ue4AfXb8Wn"
	msg := "unknown refresh_token=" + url.QueryEscape(rt) + " for client"
	if got, want := c.redactSent(msg, []string{rt}), "unknown refresh_token=[redacted] for client"; got != want {
		t.Errorf("redactSent = %q, want %q", got, want)
	}
}
