package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// scriptedProvider answers every request with one answer, however it is
// made, and keeps how each request authenticated the client, by path: a
// provider that answers anything is the one a real provider cannot be
// made into.
type scriptedProvider struct {
	status int
	ctype  string
	body   []byte
	mu     sync.Mutex
	sent   map[string][]string // path → "basic" or "form", in order
}

func (p *scriptedProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	var how []string
	if _, _, ok := r.BasicAuth(); ok {
		how = append(how, "basic")
	}
	if f, _ := url.ParseQuery(string(b)); f.Get("client_secret") != "" {
		how = append(how, "form")
	}
	p.mu.Lock()
	p.sent[r.URL.Path] = append(p.sent[r.URL.Path], strings.Join(how, "+"))
	p.mu.Unlock()
	return &http.Response{StatusCode: p.status, Header: http.Header{"Content-Type": {p.ctype}}, Request: r,
		Body: io.NopCloser(bytes.NewReader(p.body)), ContentLength: int64(len(p.body))}, nil
}

// answerCodes are the OAuth error codes (RFC 6749 §5.2) an answer can be
// read to carry, whatever its content type says: its JSON error member,
// its form-encoded error parameter (servers that answer so exist); ""
// for none.
func answerCodes(body []byte) []string {
	var j map[string]any
	_ = json.Unmarshal(body, &j)
	s, _ := j["error"].(string)
	f, _ := url.ParseQuery(string(body))
	codes := slices.DeleteFunc([]string{s, f.Get("error")}, func(c string) bool { return c == "" })
	if len(codes) == 0 {
		return []string{""}
	}
	return codes
}

// refusesClient reports whether an answer refuses the client's
// authentication, not the grant or token it carried: a 401; a 400 with
// invalid_client, invalid_request or no code; invalid_client at any
// error status (RFC 6749 §5.2: client authentication failed, which the
// server decides before it looks at the grant; the 401 is a MAY).
func refusesClient(status int, codes []string) bool {
	for _, c := range codes {
		if status == 401 || (status == 400 && (c == "invalid_client" || c == "invalid_request" || c == "")) ||
			(status >= 400 && c == "invalid_client") {
			return true
		}
	}
	return false
}

// FuzzClientAuthRetried: whatever a plain OAuth 2.0 provider answers, a
// token request (a refresh) and an introspection are each sent at most
// twice, the second time only after an answer that refused the client,
// and then with the credentials moved from Basic to the form: a grant or
// token is never presented again after an answer that may have acted on
// it (a 5xx, invalid_grant, a 403, a 200).
func FuzzClientAuthRetried(f *testing.F) {
	for _, s := range []struct {
		status uint16
		ctype  uint8
		body   string
	}{
		{401, 0, `{"error":"invalid_client"}`}, {400, 0, `{"error":"invalid_grant"}`}, {400, 0, `{"error":"invalid_request"}`},
		{400, 0, ``}, {400, 0, `{"error":5}`}, {403, 0, `{"error":"invalid_client"}`}, {500, 0, `{"error":"invalid_client"}`},
		{500, 0, ``}, {200, 0, `{"error":"invalid_client"}`}, {200, 0, `{"active":true}`}, {400, 1, `error=invalid_grant`},
		{400, 2, `error=invalid_client`}, {400, 1, `{"error":"invalid_grant"}`}, {400, 0, `error=invalid_grant`},
		{400, 0, `{"error":"invalid_grant","expires_in":"x"}`}, {400, 0, `{"error":"invalid_grant","expires_in":1e999}`},
		{400, 3, `{"error":"invalid_grant"}`}, {302, 0, ``}, {429, 0, `{"error":"invalid_request"}`},
	} {
		f.Add(s.status, s.ctype, []byte(s.body))
	}
	ctypes := []string{"application/json", "application/x-www-form-urlencoded", "text/plain", "", "text/html; charset=utf-8"}
	f.Fuzz(func(t *testing.T, status uint16, ctype uint8, body []byte) {
		p := &scriptedProvider{status: int(status), ctype: ctypes[int(ctype)%len(ctypes)], body: body}
		if p.status < 200 || p.status > 599 {
			p.status = 200 + p.status%400
		}
		if p.status/100 == 3 {
			p.status += 100 // a redirect is followed to the same answer: another test's matter
		}
		for path, call := range map[string]func(*Client){
			"/token":      func(c *Client) { _, _, _ = c.Refresh(context.Background(), "refresh-token", nil) },
			"/introspect": func(c *Client) { _, _ = c.VerifyBearer(context.Background(), "opaque-token") },
		} {
			p.sent = map[string][]string{}
			c, err := New(Config{Kind: "oauth2", ClientID: "client", ClientSecret: "secret", RedirectURL: redirectURL,
				AuthorizationURL: "https://p.example/authorize", TokenURL: "https://p.example/token",
				UserinfoURL: "https://p.example/userinfo", IntrospectionURL: "https://p.example/introspect",
				HTTPClient: &http.Client{Transport: p}})
			if err != nil {
				t.Fatal(err)
			}
			call(c)
			sent := p.sent[path]
			refused := refusesClient(p.status, answerCodes(body))
			switch {
			case len(sent) == 0 || len(sent) > 2 || sent[0] != "basic":
				t.Fatalf("%s: %v sent, want Basic, then at most the form", path, sent)
			case len(sent) == 2 && (!refused || sent[1] != "form"):
				t.Fatalf("%s: %v sent after %d %q %q (a refusal of the client: %v)", path, sent, p.status, p.ctype, body, refused)
			case len(sent) == 1 && p.status == 401:
				t.Fatalf("%s: a 401 not answered with the form", path)
			}
		}
	})
}

// FuzzDiscoveredClientAuth: whatever methods a discovery document lists
// for the token, introspection and revocation endpoints, the client secret
// goes in the form to none that listed client_secret_basic: the token
// endpoint by its own list; introspection and revocation by theirs when it
// names one of the two (introspection's only when introspection_url is the
// document's endpoint), else as the token endpoint. A token endpoint that
// lists client_secret_post alone gets the form.
func FuzzDiscoveredClientAuth(f *testing.F) {
	f.Add("client_secret_basic,client_secret_post", "client_secret_post", "client_secret_post", true)
	f.Add("client_secret_post", "", "private_key_jwt", true)
	f.Add("client_secret_post", "client_secret_basic", "", false)
	f.Add("client_secret_basic", "client_secret_post", "client_secret_post", false)
	f.Add("", "", "", true)
	f.Add("Client_Secret_Basic,client_secret_post", " client_secret_basic", "client_secret_basic ", true)
	f.Fuzz(func(t *testing.T, token, intro, revoke string, same bool) {
		list := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		pm := &providerMetadata{TokenAuthMethods: list(token), IntrospectionAuthMethods: list(intro),
			RevocationAuthMethods: list(revoke), Introspection: "https://p.example/introspect"}
		m := &metadata{introspectionURL: "https://other.example/introspect"}
		if same {
			m.introspectionURL = pm.Introspection
		}
		m.discoveredClientAuth(pm)
		c := &Client{}
		basic := func(l []string) bool { return slices.Contains(l, "client_secret_basic") }
		post := func(l []string) bool { return slices.Contains(l, "client_secret_post") }
		tokenForm, _ := c.clientAuth(m, oauth2.AuthStyleAutoDetect)
		if tokenForm && basic(pm.TokenAuthMethods) || !tokenForm && post(pm.TokenAuthMethods) && !basic(pm.TokenAuthMethods) {
			t.Fatalf("token endpoint %q: the form %v", token, tokenForm)
		}
		introList := pm.IntrospectionAuthMethods
		if !same {
			introList = nil
		}
		for name, e := range map[string]struct {
			list  []string
			style oauth2.AuthStyle
		}{"introspection": {introList, m.introspectionAuth}, "revocation": {pm.RevocationAuthMethods, m.revocationAuth}} {
			form, probing := c.clientAuth(m, e.style)
			if probing || form && (basic(e.list) || !post(e.list) && basic(pm.TokenAuthMethods)) {
				t.Fatalf("%s %q (token endpoint %q): the form %v, probing %v", name, e.list, token, form, probing)
			}
		}
	})
}
