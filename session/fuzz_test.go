package session

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/portcullis/portcullis"
)

// FuzzCookieRoundTrip: a session sealed into cookies (one or several
// chunks) opens again, through the cache and in full, to exactly what was
// sealed. Its strings come from JSON (tokens, claims), so they are UTF-8.
func FuzzCookieRoundTrip(f *testing.F) {
	f.Add("user-1", "ada@example.com", "admins", "at", "rt", "idt", uint16(0))
	f.Add("", "", "", "", "", "", uint16(7000))
	f.Add("ü\u2028<>&\"", "a@b", "g,h", "x\x00y", strings.Repeat("r", 500), "i", uint16(9000))
	clock := newTestClock()
	store, err := NewCookieStore(testCookieConfig(f, clock))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sub, email, group, at, rt, idt string, pad uint16) {
		for _, s := range []string{sub, email, group, at, rt, idt} {
			if !utf8.ValidString(s) {
				return
			}
		}
		now := clock.Now()
		s := &Session{
			Identity: portcullis.Identity{Subject: sub, Email: email, Groups: []string{group},
				Claims: map[string]any{"sub": sub, "pad": strings.Repeat("p", int(pad))}},
			AccessToken: at, RefreshToken: rt, IDToken: idt,
			Expiry: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}
		rec := httptest.NewRecorder()
		if err := store.Save(rec, nil, s); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return
			}
			t.Fatalf("Save: %v", err)
		}
		got, err := loadFull(t, store, requestWith(rec.Result().Cookies()))
		if err != nil {
			t.Fatalf("the cookies just set do not open: %v", err)
		}
		if !reflect.DeepEqual(got.Identity, s.Identity) || got.AccessToken != at || got.RefreshToken != rt ||
			got.IDToken != idt || !got.Expiry.Equal(s.Expiry) || !got.ExpiresAt.Equal(s.ExpiresAt) {
			t.Fatalf("reopened session differs:\n got %+v\nwant %+v", got, s)
		}
	})
}

// FuzzOpenSessionCookie: whatever Cookie header a client sends, starting
// from a real session's cookies, loading it never panics, and yields either
// no session or exactly the sealed one: a changed value never opens to
// another session.
func FuzzOpenSessionCookie(f *testing.F) {
	clock := newTestClock()
	store, err := NewCookieStore(testCookieConfig(f, clock))
	if err != nil {
		f.Fatal(err)
	}
	want := testSession(f, clock.Now(), 3, 6000) // three chunks
	rec := httptest.NewRecorder()
	if err := store.Save(rec, nil, want); err != nil {
		f.Fatal(err)
	}
	var parts []string
	for _, c := range rec.Result().Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	f.Add(strings.Join(parts, "; "))
	f.Add(strings.Join(parts[:1], "; "))
	f.Add("__Host-portcullis=11:x; __Host-portcullis_1=y")
	f.Add(`__Host-portcullis="a"; __Host-portcullis=b`)
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil)
		r.Header.Set("Cookie", header)
		got, err := loadFull(t, store, r)
		if err != nil {
			if !errors.Is(err, ErrNoSession) {
				t.Fatalf("Load: %v, want ErrNoSession", err)
			}
			return
		}
		if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken || got.IDToken != want.IDToken ||
			got.Identity.Subject != want.Identity.Subject || !reflect.DeepEqual(got.Identity.Groups, want.Identity.Groups) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("a Cookie header of %d bytes opened to another session: %+v", len(header), got.Identity)
		}
	})
}

// FuzzTakeLoginState: a login-state cookie a client changed is never
// taken; the one issued is, once.
func FuzzTakeLoginState(f *testing.F) {
	clock := newTestClock()
	states, err := NewStateCookies(testCookieConfig(f, clock))
	if err != nil {
		f.Fatal(err)
	}
	rec := httptest.NewRecorder()
	issued := &LoginState{State: "state-1", Nonce: "n", Verifier: "v", ReturnURL: "/x", IssuedAt: clock.Now()}
	if err := states.Issue(rec, httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil), issued); err != nil {
		f.Fatal(err)
	}
	c := rec.Result().Cookies()[0]
	f.Add("state-1", c.Name+"="+c.Value)
	f.Add("state-1", c.Name+"=\""+c.Value+"\"")
	f.Add("state-2", c.Name+"="+c.Value)
	f.Fuzz(func(t *testing.T, state, header string) {
		r := httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil)
		r.Header.Set("Cookie", header)
		ls, err := states.Take(httptest.NewRecorder(), r, state)
		if err != nil {
			if !errors.Is(err, ErrLoginState) {
				t.Fatalf("Take: %v, want ErrLoginState", err)
			}
			return
		}
		if ls.State != state || state != issued.State || ls.Verifier != issued.Verifier || ls.ReturnURL != issued.ReturnURL {
			t.Fatalf("Take(%q) with Cookie %q = %+v", state, header, ls)
		}
		if _, err := states.Take(httptest.NewRecorder(), r, state); !errors.Is(err, ErrLoginState) {
			t.Fatalf("a login state was taken twice (%v)", err)
		}
	})
}
