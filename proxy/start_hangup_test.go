package proxy

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/session"
)

// TestStartEndsSessionWhenClientHangsUp (Redis store): a start of the
// gateway's own origin ends the browser's session as a sign-out does, and
// a sign-out is carried out whether or not the browser waits for its
// answer (TestSignOutCarriedOutWhenClientHangsUp). The start read and
// deleted the session with the request's context, which the server
// cancels when the client goes (a second click, a closed tab): the
// session stayed in Redis, alive for every copy of its cookie, and its
// refresh token was not refused here. Found by review JA.
func TestStartEndsSessionWhenClientHangsUp(t *testing.T) {
	var st *session.RedisStore
	f := newFixture(t, func(c *Config) {
		st = realRedisStore(t, c.Now)
		c.Sessions = st
	})
	cookies := saveToStore(t, st, f.session())
	f.h.ServeHTTP(httptest.NewRecorder(), goneRequest("/oauth2/start?rd=%2Fapp%2Fx", browser(), withCookies(cookies)))
	if s, err := st.Load(withCookiesRequest(cookies)); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("session after the start: %v, %v: it stays alive in Redis", s != nil, err)
	}
	if !f.h.refresher.dead("rt-0") {
		t.Error("the refresh token of the session the start ended is not refused here")
	}
}
