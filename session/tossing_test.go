package session

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestTossedCookiesDoNotMix: with a cookie_domain, another host of the
// domain can plant cookies of the gateway's names beside its own, and the
// browser sends both. The chunks of two sessions never combine into one
// (the seal covers the whole value), a chunk count of one session with the
// chunks of another opens nothing, and of two base cookies the first one
// sent is read, whole, never a blend.
func TestTossedCookiesDoNotMix(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	name := store.cfg.Name
	victim := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 5000))
	attacker := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 5000))
	for _, cs := range [][]*http.Cookie{victim, attacker} {
		if c := cookieNamed(cs, name+"_1"); c == nil || !strings.HasPrefix(cookieNamed(cs, name).Value, "2:") {
			t.Fatal("the test sessions are not two chunks each")
		}
	}
	mixed := []*http.Cookie{cookieNamed(victim, name), cookieNamed(attacker, name+"_1")}
	if _, err := store.Load(requestWith(mixed)); !errors.Is(err, ErrNoSession) {
		t.Errorf("the victim's chunk 0 with the attacker's chunk 1: %v, want ErrNoSession", err)
	}
	// Two NAME_1: the first is read, and it is not the victim's own.
	shadowed := []*http.Cookie{cookieNamed(victim, name), cookieNamed(attacker, name+"_1"), cookieNamed(victim, name+"_1")}
	if _, err := store.Load(requestWith(shadowed)); !errors.Is(err, ErrNoSession) {
		t.Errorf("a tossed chunk before the victim's own: %v, want ErrNoSession", err)
	}
	small := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 10))
	both := append([]*http.Cookie{cookieNamed(small, name)}, victim...)
	s, err := store.Load(requestWith(both))
	if err != nil || s.Identity.Subject != "user-1" {
		t.Fatalf("two base cookies, the first a whole session: %v", err)
	}
	full, err := store.Full(requestWith(both), s)
	if err != nil || len(full.IDToken) != 10 {
		t.Errorf("the session read is not the first cookie's whole: %v", err)
	}
}
