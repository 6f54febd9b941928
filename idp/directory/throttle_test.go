package directory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// throttler is a directory that answers every request with the status,
// headers and body the test sets, and counts the requests.
type throttler struct {
	mu     sync.Mutex
	status int
	header map[string]string
	body   string
	calls  atomic.Int32
}

func (f *throttler) set(status int, header map[string]string, body string) {
	f.mu.Lock()
	f.status, f.header, f.body = status, header, body
	f.mu.Unlock()
}

func (f *throttler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		_, _ = w.Write([]byte(`{"access_token":"sa-token","token_type":"Bearer","expires_in":3600}`))
		return
	}
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(f.status)
	_, _ = w.Write([]byte(f.body))
}

// fakeNow is a clock the test moves.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeNow) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func throttlerServer(t *testing.T) (*throttler, string, *fakeNow) {
	t.Helper()
	f := &throttler{status: http.StatusOK, body: "[]"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL, &fakeNow{t: time.Now().Truncate(time.Second)}
}

func noSleep(context.Context, time.Duration) error { return nil }

// wantThrottled checks err is a *ThrottledError until want, with (answered)
// or without (no call made) the directory's answer.
func wantThrottled(t *testing.T, err error, want time.Time, answered bool) {
	t.Helper()
	var te *ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a ThrottledError", err)
	}
	if !te.Until.Equal(want) {
		t.Errorf("until %v, want %v", te.Until, want)
	}
	if (te.Err != nil) != answered {
		t.Errorf("answered = %v, want %v (err %v)", te.Err != nil, answered, err)
	}
	if !strings.Contains(err.Error(), want.UTC().Format(time.RFC3339)) {
		t.Errorf("error %q does not name the time reads resume", err)
	}
}

// TestGitHubRateLimitHoldsTheUserUntilReset: a user's exhausted primary
// limit is not asked again, by any of their sessions (tokens), until
// X-RateLimit-Reset; other users are still read; after the reset, reads
// resume.
func TestGitHubRateLimitHoldsTheUserUntilReset(t *testing.T) {
	f, url, clk := throttlerServer(t)
	g, err := NewGitHub(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.f.bo.now, g.f.sleep = clk.now, noSleep
	reset := clk.now().Add(20 * time.Minute)
	f.set(http.StatusForbidden, map[string]string{"X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)}, `{"message":"API rate limit exceeded for user ID 1."}`)

	_, err = g.Groups(context.Background(), User{Subject: "1", AccessToken: "gho_a"})
	wantThrottled(t, err, reset, true)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 403 || strings.Contains(err.Error(), "read:org") {
		t.Errorf("err = %v, want the 403 as a rate limit, not a missing scope", err)
	}
	_, err = g.Groups(context.Background(), User{Subject: "1", AccessToken: "gho_other_session"})
	wantThrottled(t, err, reset, false)
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d calls while the user's limit lasts, want 1", n)
	}
	f.set(http.StatusOK, nil, "[]")
	if _, err := g.Groups(context.Background(), User{Subject: "2", AccessToken: "gho_b"}); err != nil {
		t.Errorf("another user: %v", err)
	}
	clk.add(20*time.Minute + time.Second)
	before := f.calls.Load()
	if _, err := g.Groups(context.Background(), User{Subject: "1", AccessToken: "gho_a"}); err != nil || f.calls.Load() == before {
		t.Errorf("after the reset: err %v, %d calls", err, f.calls.Load()-before)
	}
}

// TestGitHubSecondaryLimits: Retry-After first, else a minute; a 403 with
// no sign of a rate limit (a missing scope) holds nothing.
func TestGitHubSecondaryLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		wait   time.Duration // 0: not throttled
	}{
		{"Retry-After", 403, map[string]string{"Retry-After": "120"}, `{"message":"You have exceeded a secondary rate limit."}`, 2 * time.Minute},
		{"message only", 403, nil, `{"message":"You have exceeded a secondary rate limit."}`, time.Minute},
		{"429 long Retry-After", 429, map[string]string{"Retry-After": "90"}, `{"message":"slow down"}`, 90 * time.Second},
		{"missing scope", 403, nil, `{"message":"Must have admin rights to Repository."}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, url, clk := throttlerServer(t)
			g, _ := NewGitHub(url, nil)
			g.f.bo.now, g.f.sleep = clk.now, noSleep
			f.set(tc.status, tc.header, tc.body)
			_, err := g.Groups(context.Background(), User{Subject: "1", AccessToken: "gho_a"})
			_, err2 := g.Groups(context.Background(), User{Subject: "1", AccessToken: "gho_a"})
			if tc.wait == 0 {
				var te *ThrottledError
				if errors.As(err, &te) || errors.As(err2, &te) || f.calls.Load() < 2 {
					t.Errorf("held without a rate limit: %v; %d calls", err, f.calls.Load())
				}
				return
			}
			wantThrottled(t, err, clk.now().Add(tc.wait), true)
			wantThrottled(t, err2, clk.now().Add(tc.wait), false)
		})
	}
}

// TestBackoffIsCapped: a reset or Retry-After days away holds a credential
// for MaxBackoff, no longer.
func TestBackoffIsCapped(t *testing.T) {
	far := time.Now().Add(30 * 24 * time.Hour)
	for _, tc := range []struct {
		name, source string
		status       int
		header       map[string]string
	}{
		{"GitHub reset", "github", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(far.Unix(), 10)}},
		{"GitHub Retry-After", "github", 429, map[string]string{"Retry-After": "99999999"}},
		{"Graph 503 date", "graph", 503, map[string]string{"Retry-After": far.UTC().Format(http.TimeFormat)}},
		{"Graph 429", "graph", 429, map[string]string{"Retry-After": "604800"}},
		// Seconds beyond time.Duration's range wrapped around to a negative
		// or short wait: retried at once, and then not held at all.
		{"Graph 429 Retry-After beyond a Duration", "graph", 429, map[string]string{"Retry-After": "9300000000"}},
		{"GitHub 429 Retry-After int64 max", "github", 429, map[string]string{"Retry-After": "9223372036854775807"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, url, clk := throttlerServer(t)
			f.set(tc.status, tc.header, `{"message":"API rate limit exceeded"}`)
			var src Source
			if tc.source == "github" {
				g, _ := NewGitHub(url, nil)
				g.f.bo.now, g.f.sleep = clk.now, noSleep
				src = g
			} else {
				g, _ := NewGraph(url, nil)
				g.f.bo.now, g.f.sleep = clk.now, noSleep
				src = g
			}
			_, err := src.Groups(context.Background(), User{Subject: "1", AccessToken: "at"})
			wantThrottled(t, err, clk.now().Add(MaxBackoff), true)
			if n := f.calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1: a wait beyond the read's is not retried within it", n)
			}
		})
	}
}

// TestGraphThrottleHoldsTheUser: a 429 beyond the retries of one read holds
// the user until Retry-After; a 503 without one is an outage and holds
// nothing.
func TestGraphThrottleHoldsTheUser(t *testing.T) {
	f, url, clk := throttlerServer(t)
	g, _ := NewGraph(url, nil)
	g.f.bo.now, g.f.sleep = clk.now, noSleep
	f.set(http.StatusTooManyRequests, map[string]string{"Retry-After": "45"}, `{"error":{"code":"TooManyRequests","message":"Too many requests"}}`)
	_, err := g.Groups(context.Background(), User{Subject: "ann", AccessToken: "at1"})
	wantThrottled(t, err, clk.now().Add(45*time.Second), true)
	if strings.Contains(err.Error(), "GroupMember.Read.All") {
		t.Errorf("a throttle explained as a permission: %v", err)
	}
	_, err = g.Groups(context.Background(), User{Subject: "ann", AccessToken: "at2"})
	wantThrottled(t, err, clk.now().Add(45*time.Second), false)
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1 (45 s is beyond one read's waits)", n)
	}

	f.set(http.StatusServiceUnavailable, nil, `{"error":{"code":"serviceNotAvailable","message":"down"}}`)
	for range 2 {
		_, err = g.Groups(context.Background(), User{Subject: "bob", AccessToken: "at3"})
		var te *ThrottledError
		if errors.As(err, &te) {
			t.Errorf("a 503 without Retry-After held the user: %v", err)
		}
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

// TestGoogleQuotaHoldsEveryUser: the quota is the service account's, so a
// rate-limit answer (403 with a rate-limit reason, or 429) stops every
// user's reads until the time Google names, and is not explained as a
// missing permission.
func TestGoogleQuotaHoldsEveryUser(t *testing.T) {
	for _, tc := range []struct {
		name, admin string
		status      int
		header      map[string]string
		body        string
		wait        time.Duration
	}{
		{"Admin SDK 403 userRateLimitExceeded", "admin@acme.com", 403, nil,
			`{"error":{"code":403,"message":"Quota exceeded for quota metric 'Queries'","errors":[{"reason":"userRateLimitExceeded","domain":"usageLimits"}]}}`, time.Minute},
		{"Admin SDK 403 rateLimitExceeded with Retry-After", "admin@acme.com", 403, map[string]string{"Retry-After": "300"},
			`{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"reason":"rateLimitExceeded"}]}}`, 5 * time.Minute},
		{"Cloud Identity 429", "", 429, nil,
			`{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"reason":"RATE_LIMIT_EXCEEDED"}]}}`, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, url, clk := throttlerServer(t)
			g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, url+"/token"), AdminEmail: tc.admin, BaseURL: url})
			if err != nil {
				t.Fatal(err)
			}
			g.f.bo.now, g.f.sleep = clk.now, noSleep
			f.set(tc.status, tc.header, tc.body)
			_, err = g.Groups(context.Background(), User{Email: "ann@acme.com"})
			wantThrottled(t, err, clk.now().Add(tc.wait), true)
			if strings.Contains(err.Error(), "Workspace admin") || strings.Contains(err.Error(), "Groups Reader") {
				t.Errorf("a quota explained as a permission: %v", err)
			}
			_, err = g.Groups(context.Background(), User{Email: "bob@acme.com"})
			wantThrottled(t, err, clk.now().Add(tc.wait), false)
			if n := f.calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
			clk.add(tc.wait)
			f.set(http.StatusOK, nil, `{}`)
			if _, err := g.Groups(context.Background(), User{Email: "bob@acme.com"}); err != nil || f.calls.Load() != 2 {
				t.Errorf("after the wait: err %v, %d calls", err, f.calls.Load())
			}
		})
	}
}

// TestBackoffTableBounded: at most maxBackoffKeys credentials are held;
// ended entries make room.
func TestBackoffTableBounded(t *testing.T) {
	clk := &fakeNow{t: time.Unix(1_800_000_000, 0)}
	b := newBackoff()
	b.now = clk.now
	for i := range maxBackoffKeys + 10 {
		_ = b.hold("github", "sub:"+strconv.Itoa(i), time.Minute, nil)
	}
	if len(b.until) != maxBackoffKeys {
		t.Errorf("%d entries, want %d", len(b.until), maxBackoffKeys)
	}
	clk.add(time.Minute)
	_ = b.hold("github", "sub:new", time.Minute, nil)
	if len(b.until) != 1 || b.check("github", "sub:new") == nil {
		t.Errorf("ended entries not pruned: %d", len(b.until))
	}
}
