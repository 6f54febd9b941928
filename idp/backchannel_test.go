package idp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// sink is where a hostile redirect points: it records every request it
// gets, with its body, so a test can prove nothing reached it.
type sink struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newSink(t testing.TB) *sink {
	t.Helper()
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.String()+" "+r.Header.Get("Authorization")+" "+string(body))
		s.mu.Unlock()
		// Answer like the real endpoint would, so that a client that
		// followed would succeed and the test would see it.
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"keys":[],"access_token":"x","token_type":"Bearer","active":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// mustRefuseRedirect checks that err reports the redirect and that the
// sink saw nothing.
func mustRefuseRedirect(t *testing.T, err error, s *sink) {
	t.Helper()
	if err == nil {
		t.Fatal("the call succeeded through a redirect")
	}
	if !strings.Contains(err.Error(), "redirect") {
		t.Errorf("err = %v, want it to say the provider redirected", err)
	}
	if got := s.requests(); len(got) != 0 {
		t.Fatalf("the redirect was followed: the sink got %q", got)
	}
}

// redirectToSink has p answer path with status and a Location on a new
// sink, at the same path.
func redirectToSink(t *testing.T, p *oidctest.Provider, path string, status int) *sink {
	t.Helper()
	s := newSink(t)
	p.SetRedirect(path, status, s.URL+path)
	return s
}

// TestBackChannelNeverFollowsRedirects: every call to the provider refuses
// a 307 or 308 (which would re-send the code, the PKCE verifier and the
// client credentials to Location) and a 302, and the error surfaces.
func TestBackChannelNeverFollowsRedirects(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			for _, path := range []string{"/token", "/userinfo", "/jwks"} {
				t.Run("login "+path, func(t *testing.T) {
					p, c, _ := setup(t, oidctest.Options{}, nil)
					s := redirectToSink(t, p, path, status)
					toks, id, err := login(t, c)
					mustRefuseRedirect(t, err, s)
					if toks != nil || id != nil {
						t.Errorf("login returned %+v %+v", toks, id)
					}
					if path == "/token" && !errors.Is(err, ErrRedirect) {
						t.Errorf("err = %v, want ErrRedirect", err)
					}
				})
			}
			t.Run("refresh", func(t *testing.T) {
				p, c, _ := setup(t, oidctest.Options{}, nil)
				toks, id, err := login(t, c)
				if err != nil {
					t.Fatal(err)
				}
				s := redirectToSink(t, p, "/token", status)
				_, _, err = c.Refresh(context.Background(), toks.RefreshToken, id)
				mustRefuseRedirect(t, err, s)
				if !errors.Is(err, ErrRedirect) || errors.Is(err, ErrInvalidGrant) {
					t.Errorf("err = %v, want ErrRedirect and not ErrInvalidGrant", err)
				}
			})
			t.Run("revocation", func(t *testing.T) {
				p, c, _ := setup(t, oidctest.Options{}, nil)
				s := redirectToSink(t, p, "/revoke", status)
				mustRefuseRedirect(t, c.Revoke(context.Background(), "rt-1"), s)
			})
			t.Run("discovery", func(t *testing.T) {
				p := oidctest.New(t, oidctest.Options{})
				s := redirectToSink(t, p, "/.well-known/openid-configuration", status)
				c, err := New(Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret})
				if err != nil {
					t.Fatal(err)
				}
				mustRefuseRedirect(t, c.Discover(context.Background()), s)
				if c.Ready() {
					t.Error("ready after a redirected discovery")
				}
			})
			bearerNeverFollowsRedirects(t, status)
		})
	}
}

// bearerNeverFollowsRedirects is TestBackChannelNeverFollowsRedirects for
// the calls VerifyBearer makes: the JWKS, an extra issuer's discovery and
// introspection.
func bearerNeverFollowsRedirects(t *testing.T, status int) {
	t.Run("bearer JWKS", func(t *testing.T) {
		p, c, _ := setup(t, oidctest.Options{}, nil)
		s := redirectToSink(t, p, "/jwks", status)
		id, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", nil))
		mustRefuseRedirect(t, err, s)
		if id != nil || !errors.Is(err, ErrInvalidToken) {
			t.Errorf("id %+v, err = %v, want ErrInvalidToken", id, err)
		}
	})
	t.Run("bearer extra issuer discovery", func(t *testing.T) {
		k := oidctest.New(t, oidctest.Options{})
		s := redirectToSink(t, k, "/.well-known/openid-configuration", status)
		_, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
			cfg.ExtraIssuers = []ExtraIssuer{{Issuer: k.Issuer, Audiences: []string{k.ClientID}}}
		})
		id, err := c.VerifyBearer(context.Background(), k.AccessToken("robot", nil))
		mustRefuseRedirect(t, err, s)
		if id != nil || !errors.Is(err, ErrInvalidToken) {
			t.Errorf("id %+v, err = %v", id, err)
		}
	})
	t.Run("bearer introspection", func(t *testing.T) {
		p, c, clk := setup(t, oidctest.Options{}, nil)
		s := redirectToSink(t, p, "/introspect", status)
		tok := p.OpaqueToken("alice", p.ClientID, "", clk.Now().Add(time.Hour))
		id, err := c.VerifyBearer(context.Background(), tok)
		mustRefuseRedirect(t, err, s)
		// Fails closed like any introspection the provider does not
		// answer (503, not a 401 about the token).
		if id != nil || !errors.Is(err, ErrUnavailable) {
			t.Errorf("id %+v, err = %v, want ErrUnavailable", id, err)
		}
	})
}

// TestGitHubBackChannelNeverFollowsRedirects: GitHub's token endpoint
// takes the client secret in the form, and /user and /user/emails carry
// the access token; none of them is re-sent to a redirect's Location.
func TestGitHubBackChannelNeverFollowsRedirects(t *testing.T) {
	for _, path := range []string{"/login/oauth/access_token", "/user", "/user/emails"} {
		t.Run(path, func(t *testing.T) {
			g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 1, Login: "octocat"})
			s := newSink(t)
			// A front that redirects path to the sink and passes the rest
			// to the GitHub fake.
			backend, _ := url.Parse(g.URL)
			rp := httputil.NewSingleHostReverseProxy(backend)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == path {
					http.Redirect(w, r, s.URL+path, http.StatusPermanentRedirect)
					return
				}
				rp.ServeHTTP(w, r)
			}))
			t.Cleanup(front.Close)
			c, err := New(Config{Kind: "github", ClientID: g.ClientID, ClientSecret: g.ClientSecret,
				RedirectURL: redirectURL, AuthorizationURL: g.AuthorizationURL(), TokenURL: front.URL + "/login/oauth/access_token",
				UserinfoURL: front.URL + "/user", Metrics: prometheus.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			_, id, err := login(t, c)
			mustRefuseRedirect(t, err, s)
			if id != nil {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

// TestBackChannelClient: the exported constructor keeps the caller's
// timeout and transport (under the redirect refusal and the retry of a
// closed kept-alive connection) and replaces only the redirect rule.
func TestBackChannelClient(t *testing.T) {
	base := &http.Client{Timeout: 3 * time.Second, Transport: http.DefaultTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	c := BackChannelClient(base)
	if rr, ok := c.Transport.(redirectRefusal); c == base || c.Timeout != 3*time.Second || !ok || rr.base != (staleRetry{http.DefaultTransport}) {
		t.Errorf("client = %+v", c)
	}
	if base.CheckRedirect(nil, nil) != nil {
		t.Error("the caller's client was changed")
	}
	if d := BackChannelClient(nil); d.Timeout != 10*time.Second || d.CheckRedirect == nil {
		t.Errorf("default client = %+v", d)
	}
	s := newSink(t)
	redirector := httptest.NewServer(http.RedirectHandler(s.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirector.Close)
	resp, err := c.Post(redirector.URL, "application/x-www-form-urlencoded", strings.NewReader("client_secret=s3cret"))
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "307 from "+redirector.URL) {
		t.Errorf("err = %v, want ErrRedirect naming the status and endpoint", err)
	}
	mustRefuseRedirect(t, err, s)
}
