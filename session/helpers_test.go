package session

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// testClock is an injectable clock that tests advance.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now().Truncate(time.Second)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func randomSecret(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func randomText(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n*3/4+3)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func testCookieConfig(tb testing.TB, clock *testClock, secrets ...[]byte) CookieConfig {
	tb.Helper()
	if len(secrets) == 0 {
		secrets = [][]byte{randomSecret(tb)}
	}
	return CookieConfig{
		Name:     "__Host-portcullis",
		Secure:   true,
		Secrets:  secrets,
		Lifetime: 12 * time.Hour,
		Now:      clock.Now,
	}
}

// testSession returns a session created now; groups and the ID token size
// are chosen by the caller.
func testSession(tb testing.TB, now time.Time, groups, idTokenLen int) *Session {
	tb.Helper()
	var gs []string
	for i := range groups {
		gs = append(gs, fmt.Sprintf("group-%03d", i))
	}
	claims := map[string]any{"sub": "user-1", "email": "ada@example.com"}
	if gs != nil {
		claims["groups"] = gs
	}
	return &Session{
		Identity: portcullis.Identity{
			Subject: "user-1", Issuer: "https://idp.example.com", Email: "ada@example.com",
			EmailVerified: true, Groups: gs, Scopes: []string{"openid", "email"},
			SessionID: "sid-1", Claims: claims, UserinfoClaims: []string{"email", "groups"},
		},
		AccessToken:  "at-" + randomText(tb, 40),
		RefreshToken: "rt-" + randomText(tb, 40),
		IDToken:      randomText(tb, idTokenLen),
		Expiry:       now.Add(time.Hour),
		CreatedAt:    now,
		ExpiresAt:    now.Add(12 * time.Hour),
	}
}

// saveCookies saves s with store and returns the cookies the response set.
func saveCookies(tb testing.TB, store Store, r *http.Request, s *Session) []*http.Cookie {
	tb.Helper()
	if r == nil {
		r = httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil)
	}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, r, s); err != nil {
		tb.Fatalf("Save: %v", err)
	}
	return rec.Result().Cookies()
}

// loadFull loads r's session with store and reads it in full (Store.Full),
// tokens included.
func loadFull(tb testing.TB, store Store, r *http.Request) (*Session, error) {
	tb.Helper()
	s, err := store.Load(r)
	if err != nil {
		return nil, err
	}
	return store.Full(r, s)
}

// requestWith builds a request that carries the live cookies among cs.
func requestWith(cs []*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil)
	for _, c := range cs {
		if c.MaxAge >= 0 {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return r
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// fullCookieHeader is a Cookie header of about 16 KiB (the gateway's limit)
// made of cookie(0), cookie(1), ...
func fullCookieHeader(cookie func(int) string) string {
	var b strings.Builder
	for i := 0; b.Len() < 16<<10-100; i++ {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(cookie(i))
	}
	return b.String()
}
