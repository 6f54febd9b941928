package proxy

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// TestSignOutWithRedisDownClearsTheCookie: a sign-out while Redis is down
// (its session cannot even be read) is a 503, and the browser's cookie is
// cleared all the same, as when Redis can read but not delete: the cookie
// used to stay, and the browser was signed in again as soon as Redis came
// back, though its user had signed out (a shared computer, left at the
// "please retry" page).
func TestSignOutWithRedisDownClearsTheCookie(t *testing.T) {
	var st *session.RedisStore
	var stop func()
	f := newFixture(t, func(c *Config) {
		addr, p := testenv.StartRedis(t)
		st, stop = redisStoreAt(t, addr, c.Now), p.Stop
		c.Sessions = st
	})
	cookies := saveToStore(t, st, f.session())
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed-in request: %d", resp.StatusCode)
	}
	stop()
	resp := f.do(t, "GET", "/oauth2/sign_out?rd=%2Fafter", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("sign-out with Redis down: status %d, want 503", resp.StatusCode)
	}
	if c := responseCookies(resp)["portcullis"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out with Redis down left the session cookie in the browser (Set-Cookie %v)", c)
	}
}
