package idp

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// clock is a settable clock shared by a test provider and client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const redirectURL = "https://gw.example.com/oauth2/callback"

// setup starts a provider and a discovered client sharing one clock.
func setup(t testing.TB, o oidctest.Options, mod func(*Config)) (*oidctest.Provider, *Client, *clock) {
	t.Helper()
	clk := newClock()
	o.Now = clk.Now
	p := oidctest.New(t, o)
	cfg := Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: redirectURL, Now: clk.Now, Metrics: prometheus.NewRegistry()}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return p, c, clk
}

// authorize follows AuthCodeURL to the provider and returns the code it
// sends back, checking the state round-trips.
func authorize(t testing.TB, c *Client, state, nonce, verifier string) string {
	t.Helper()
	return authorizeVia(t, &http.Client{}, c, state, nonce, verifier)
}

// authorizeVia is authorize with the browser's requests sent through hc's
// transport (a provider whose URLs name another host than its test
// server's). It does not follow the redirect back.
func authorizeVia(t testing.TB, hc *http.Client, c *Client, state, nonce, verifier string) string {
	t.Helper()
	u, err := c.AuthCodeURL(state, nonce, verifier, nil)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	browser := &http.Client{Transport: hc.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := loc.Query().Get("state"); got != state {
		t.Fatalf("state came back as %q", got)
	}
	return loc.Query().Get("code")
}

const testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789"

// login runs a whole authorization-code flow.
func login(t testing.TB, c *Client) (*Tokens, *portcullis.Identity, error) {
	t.Helper()
	code := authorize(t, c, "state-1", "nonce-1", testVerifier)
	return c.Exchange(context.Background(), code, testVerifier, "nonce-1", time.Time{})
}
