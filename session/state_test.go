package session

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newTestStateCookies(tb testing.TB, cfg CookieConfig) *StateCookies {
	tb.Helper()
	c, err := NewStateCookies(cfg)
	if err != nil {
		tb.Fatalf("NewStateCookies: %v", err)
	}
	return c
}

// issue issues a login state for state and returns the cookies set.
func issue(tb testing.TB, c *StateCookies, r *http.Request, state string) []*http.Cookie {
	tb.Helper()
	if r == nil {
		r = requestWith(nil)
	}
	rec := httptest.NewRecorder()
	ls := &LoginState{State: state, Nonce: "n-" + state, Verifier: "v-" + state, ReturnURL: "/after/" + state}
	if err := c.Issue(rec, r, ls); err != nil {
		tb.Fatalf("Issue: %v", err)
	}
	return rec.Result().Cookies()
}

func take(c *StateCookies, cs []*http.Cookie, state string) (*LoginState, []*http.Cookie, error) {
	rec := httptest.NewRecorder()
	ls, err := c.Take(rec, requestWith(cs), state)
	return ls, rec.Result().Cookies(), err
}

func TestStateCookiesRoundTrip(t *testing.T) {
	clock := newTestClock()
	c := newTestStateCookies(t, testCookieConfig(t, clock))
	cs := issue(t, c, nil, "state-1")
	if len(cs) != 1 {
		t.Fatalf("Issue set %d cookies, want 1", len(cs))
	}
	ck := cs[0]
	if !strings.HasPrefix(ck.Name, "__Host-portcullis_login_") || !c.Owns(ck.Name) || !ck.Secure ||
		ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 600 {
		t.Errorf("login-state cookie = %+v", ck)
	}
	ls, cleared, err := take(c, cs, "state-1")
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	want := LoginState{State: "state-1", Nonce: "n-state-1", Verifier: "v-state-1", ReturnURL: "/after/state-1", IssuedAt: clock.Now()}
	if !ls.IssuedAt.Equal(want.IssuedAt) {
		t.Errorf("IssuedAt = %v, want %v", ls.IssuedAt, want.IssuedAt)
	}
	ls.IssuedAt = want.IssuedAt
	if !reflect.DeepEqual(*ls, want) {
		t.Errorf("Take = %+v, want %+v", *ls, want)
	}
	if len(cleared) != 1 || cleared[0].Name != ck.Name || cleared[0].MaxAge >= 0 {
		t.Errorf("Take set %+v, want the cookie cleared", cleared)
	}
}

func TestStateCookiesRefusals(t *testing.T) {
	clock := newTestClock()
	cfg := testCookieConfig(t, clock)
	c := newTestStateCookies(t, cfg)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"second take (replay)", func(t *testing.T) error {
			cs := issue(t, c, nil, "replay")
			if _, _, err := take(c, cs, "replay"); err != nil {
				t.Fatalf("first Take: %v", err)
			}
			_, _, err := take(c, cs, "replay")
			return err
		}},
		{"wrong state", func(t *testing.T) error {
			_, _, err := take(c, issue(t, c, nil, "right"), "wrong")
			return err
		}},
		{"cookie renamed to another state", func(t *testing.T) error {
			cs := issue(t, c, nil, "mine")
			cs[0].Name = c.cookieName("yours")
			_, _, err := take(c, cs, "yours")
			return err
		}},
		{"expired", func(t *testing.T) error {
			cs := issue(t, c, nil, "slow")
			clock.Advance(LoginStateTTL + time.Second)
			defer clock.Advance(-LoginStateTTL - time.Second)
			_, _, err := take(c, cs, "slow")
			return err
		}},
		{"tampered", func(t *testing.T) error {
			cs := issue(t, c, nil, "tamper")
			b := []byte(cs[0].Value)
			b[20] ^= 1
			cs[0].Value = string(b)
			_, _, err := take(c, cs, "tamper")
			return err
		}},
		{"no cookie", func(t *testing.T) error {
			_, _, err := take(c, nil, "none")
			return err
		}},
		{"empty state", func(t *testing.T) error {
			_, _, err := take(c, issue(t, c, nil, "x"), "")
			return err
		}},
		{"session cookie under a login-state name", func(t *testing.T) error {
			store := newTestCookieStore(t, cfg)
			sealed, err := store.seal.seal(c.cookieName("forged"), []byte(`{"s":"forged"}`))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = take(c, []*http.Cookie{{Name: c.cookieName("forged"), Value: sealed}}, "forged")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(t); !errors.Is(err, ErrLoginState) {
				t.Errorf("Take = %v, want ErrLoginState", err)
			}
		})
	}
	t.Run("login state is no session", func(t *testing.T) {
		sealed, err := c.seal.seal(cfg.Name, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		store := newTestCookieStore(t, cfg)
		if _, err := store.Load(requestWith([]*http.Cookie{{Name: cfg.Name, Value: sealed}})); !errors.Is(err, ErrNoSession) {
			t.Errorf("Load = %v, want ErrNoSession", err)
		}
	})
}

func TestStateCookiesParallelAndPruning(t *testing.T) {
	clock := newTestClock()
	c := newTestStateCookies(t, testCookieConfig(t, clock))
	var jar []*http.Cookie
	for i := range 7 {
		clock.Advance(time.Second)
		set := issue(t, c, requestWith(jar), fmt.Sprintf("tab-%d", i))
		jar = applyCookies(jar, set)
	}
	if len(jar) != maxLogins {
		t.Fatalf("jar holds %d login cookies, want %d", len(jar), maxLogins)
	}
	for i := range 7 {
		state := fmt.Sprintf("tab-%d", i)
		_, _, err := take(c, jar, state)
		if pruned := i < 2; pruned != errors.Is(err, ErrLoginState) {
			t.Errorf("Take(%s) = %v; pruned = %v", state, err, pruned)
		}
	}
}

// applyCookies updates a browser's jar with the cookies a response set.
func applyCookies(jar, set []*http.Cookie) []*http.Cookie {
	for _, s := range set {
		var kept []*http.Cookie
		for _, c := range jar {
			if c.Name != s.Name {
				kept = append(kept, c)
			}
		}
		jar = kept
		if s.MaxAge >= 0 {
			jar = append(jar, s)
		}
	}
	return jar
}

func TestStateCookiesConfig(t *testing.T) {
	cfg := testCookieConfig(t, newTestClock())
	cfg.Name, cfg.Secure, cfg.Domain = "portcullis", false, "example.com"
	c := newTestStateCookies(t, cfg)
	cs := issue(t, c, nil, "s")
	if cs[0].Domain != "" || cs[0].Secure {
		t.Errorf("login-state cookie = %+v, want host-only and not Secure on http", cs[0])
	}
	if c.Owns("portcullis") || c.Owns("portcullis_1") || !c.Owns(cs[0].Name) {
		t.Error("Owns claims the wrong cookies")
	}
}

func TestBoundReturnURL(t *testing.T) {
	long := strings.Repeat("q", 2048)
	longPath := "/" + strings.Repeat("p", maxReturnURL)
	for _, tc := range []struct{ in, want string }{
		{"/app/x?a=1", "/app/x?a=1"},
		{"/app/x?q=" + long, "/app/x"},
		{"/app/x#" + long, "/app/x"},
		{"https://app.example.com/x?q=" + long, "https://app.example.com/x"},
		{longPath, "/"},
		{longPath + "?q=1", "/"},
		{"?" + long, "/"},
	} {
		if got := boundReturnURL(tc.in); got != tc.want {
			t.Errorf("boundReturnURL(%.40q) = %.40q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLoginStateFloodIsBounded: login starts with 2 KB return URLs leave at
// most MaxLoginStateBytes of login-state cookies, and the newest login
// still finishes, returning to the URL's path.
func TestLoginStateFloodIsBounded(t *testing.T) {
	clock := newTestClock()
	c := newTestStateCookies(t, testCookieConfig(t, clock))
	var jar []*http.Cookie
	for i := range 12 {
		clock.Advance(time.Second)
		rec := httptest.NewRecorder()
		ls := &LoginState{State: fmt.Sprintf("flood-%d", i), Nonce: "n", Verifier: "v",
			ReturnURL: fmt.Sprintf("/app/%d?q=%s", i, strings.Repeat("x", 2048))}
		if err := c.Issue(rec, requestWith(jar), ls); err != nil {
			t.Fatal(err)
		}
		jar = applyCookies(jar, rec.Result().Cookies())
		total := 0
		for _, ck := range jar {
			total += cookieBytes(ck.Name, ck.Value)
		}
		if total > MaxLoginStateBytes || len(jar) > maxLogins {
			t.Fatalf("after %d starts: %d login-state cookies, %d bytes", i+1, len(jar), total)
		}
	}
	ls, _, err := take(c, jar, "flood-11")
	if err != nil || ls.ReturnURL != "/app/11" {
		t.Fatalf("newest login: %v, return URL %q", err, ls.ReturnURL)
	}
	// Bounded by bytes, not only by count: long return URLs keep fewer.
	long := 0
	for range 6 {
		clock.Advance(time.Second)
		rec := httptest.NewRecorder()
		long++
		ls := &LoginState{State: fmt.Sprintf("long-%d", long), Nonce: "n", Verifier: "v", ReturnURL: "/" + strings.Repeat("p", maxReturnURL-1)}
		if err := c.Issue(rec, requestWith(jar), ls); err != nil {
			t.Fatal(err)
		}
		jar = applyCookies(jar, rec.Result().Cookies())
	}
	total := 0
	for _, ck := range jar {
		total += cookieBytes(ck.Name, ck.Value)
	}
	if total > MaxLoginStateBytes {
		t.Errorf("%d login-state cookies of %d bytes in all", len(jar), total)
	}
}

func TestStateCookiesClearAll(t *testing.T) {
	c := newTestStateCookies(t, testCookieConfig(t, newTestClock()))
	r := requestWith(nil)
	r.Header.Add("Cookie", "__Host-portcullis_login_a=1; other=2; __Host-portcullis=s")
	r.Header.Add("Cookie", "__Host-portcullis_login_b=bad\"value; __Host-portcullis_login_a=dup")
	rec := httptest.NewRecorder()
	c.ClearAll(rec, r)
	var cleared []string
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge >= 0 || !ck.Secure || ck.Path != "/" {
			t.Errorf("not an expiry of a __Host- cookie: %+v", ck)
		}
		cleared = append(cleared, ck.Name)
	}
	if want := []string{"__Host-portcullis_login_a", "__Host-portcullis_login_b"}; !reflect.DeepEqual(cleared, want) {
		t.Errorf("cleared %q, want %q", cleared, want)
	}
}

// TestStateCookiesClearAllBounded: a 431 expired every cookie with a
// login-state name the request carried, so 60 KiB of empty cookies named
// portcullis_login_<n> drew an answer of 2,607 Set-Cookie lines (168 KB):
// the client got nearly three times what it sent, from a header it built.
func TestStateCookiesClearAllBounded(t *testing.T) {
	c := newTestStateCookies(t, testCookieConfig(t, newTestClock()))
	var b strings.Builder
	for i := 0; b.Len() < 60<<10; i++ {
		fmt.Fprintf(&b, "__Host-portcullis_login_%d=; ", i)
	}
	r := requestWith(nil)
	r.Header.Set("Cookie", b.String())
	rec := httptest.NewRecorder()
	c.ClearAll(rec, r)
	n := 0
	for _, v := range rec.Header()["Set-Cookie"] {
		n += len(v)
	}
	if n > b.Len() {
		t.Fatalf("%d Set-Cookie lines, %d bytes, answer a Cookie header of %d bytes", len(rec.Header()["Set-Cookie"]), n, b.Len())
	}
}

// TestLoginStartAnswerNoLargerThanItsCookies: a login start expires the
// unreadable login-state cookies the request carries. It expired every one,
// duplicates included, so a 16 KiB Cookie header of empty cookies named
// __Host-portcullis_login_a drew 780 Set-Cookie lines (60 KB) from any
// anonymous navigation: like the 431's ClearAll, the answer must not be
// larger than the header that drew it. Real unreadable states (another
// secret, expired) are still expired, once each.
func TestLoginStartAnswerNoLargerThanItsCookies(t *testing.T) {
	clock := newTestClock()
	cfg := testCookieConfig(t, clock)
	c := newTestStateCookies(t, cfg)
	for _, tc := range []struct {
		name   string
		cookie func(i int) string
	}{
		{"one name repeated", func(int) string { return "__Host-portcullis_login_a=" }},
		{"distinct names", func(i int) string { return fmt.Sprintf("__Host-portcullis_login_%d=", i) }},
		{"short values", func(i int) string { return fmt.Sprintf("__Host-portcullis_login_%d=%s", i, strings.Repeat("A", 40)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := fullCookieHeader(tc.cookie)
			r := requestWith(nil)
			r.Header.Set("Cookie", header)
			rec := httptest.NewRecorder()
			if err := c.Issue(rec, r, &LoginState{State: "s", Nonce: "n", Verifier: "v", ReturnURL: "/"}); err != nil {
				t.Fatal(err)
			}
			expiries := 0
			for _, line := range rec.Result().Header["Set-Cookie"] {
				if strings.Contains(line, "Max-Age=0") {
					expiries += len("Set-Cookie: \r\n") + len(line)
				}
			}
			if expiries > len(header) {
				t.Errorf("a Cookie header of %d bytes drew %d bytes of expiries", len(header), expiries)
			}
		})
	}

	// An unreadable state the gateway did seal (an older secret) is expired,
	// once, even when the browser sends it twice.
	old := newTestStateCookies(t, testCookieConfig(t, clock))
	stale := issue(t, old, nil, "old")[0]
	if len(stale.Value) < minSealedState {
		t.Fatalf("a sealed state of %d bytes, under minSealedState", len(stale.Value))
	}
	r := requestWith([]*http.Cookie{stale, stale})
	rec := httptest.NewRecorder()
	if err := c.Issue(rec, r, &LoginState{State: "new", Nonce: "n", Verifier: "v", ReturnURL: "/"}); err != nil {
		t.Fatal(err)
	}
	var cleared []string
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			cleared = append(cleared, ck.Name)
		}
	}
	if !reflect.DeepEqual(cleared, []string{stale.Name}) {
		t.Errorf("expired %q, want the stale state %q once", cleared, stale.Name)
	}
}
