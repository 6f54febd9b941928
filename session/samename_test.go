package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
)

// TestSecondCookieOfTheNameOpens: a browser holds two cookies of the
// session's name after a change of cookie_domain (the old scope's comes
// first, and no longer opens). Each store serves the session of the one
// that opens, reads its tokens from it, and a Delete ends that session,
// with Redis in the store too. Before, the first alone was read: the
// browser was sent to sign in for ever, and a sign-out ended nothing.
func TestSecondCookieOfTheNameOpens(t *testing.T) {
	clock := newTestClock()
	redisStore, raw, _, _ := newTestRedisStore(t, clock)
	cookieStore, err := NewCookieStore(testCookieConfig(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		store Store
	}{{"cookie", cookieStore}, {"redis", redisStore}} {
		t.Run(c.name, func(t *testing.T) {
			want := testSession(t, clock.Now(), 3, 200)
			cs := saveCookies(t, c.store, nil, want)
			r := httptest.NewRequest("GET", "https://gw.example.com/", nil)
			r.Header.Set("Cookie", "__Host-portcullis=sealed-for-another-scope; "+cs[0].Name+"="+cs[0].Value)
			got, err := loadFull(t, c.store, r)
			if err != nil || got.RefreshToken != want.RefreshToken || got.Identity.Subject != want.Identity.Subject {
				t.Fatalf("Load and Full with a foreign cookie first: %v, %+v", err, got)
			}
			if err := c.store.Delete(httptest.NewRecorder(), r); err != nil {
				t.Fatal(err)
			}
			if n, _ := raw.Exists(context.Background(), sessionKey(got.ID)).Result(); got.ID != "" && n != 0 {
				t.Errorf("Delete left the session it was served in Redis")
			}
			only := httptest.NewRequest("GET", "https://gw.example.com/", nil)
			only.Header.Set("Cookie", "__Host-portcullis=sealed-for-another-scope")
			if _, err := c.store.Load(only); !errors.Is(err, ErrForeignCookie) {
				t.Errorf("the foreign cookie alone: %v, want ErrForeignCookie", err)
			}
		})
	}
}

// TestNthCookie: the n-th cookie of a name across Cookie lines, quotes
// removed, other names skipped.
func TestNthCookie(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header["Cookie"] = []string{`a=1; b=2; a="3"`, `a=4`}
	for n, want := range []string{"1", "3", "4", ""} {
		got, ok := nthCookie(r.Header, "a", n)
		if got != want || ok != (want != "") {
			t.Errorf("nthCookie(a, %d) = %q %v, want %q", n, got, ok, want)
		}
	}
}
