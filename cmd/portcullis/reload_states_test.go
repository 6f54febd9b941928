package main

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/session"
)

// checkStateReplayRefused takes a login state with prev's jar, as a
// callback before the reload did, and replays its cookie to now's: a
// reload that rebuilt the jar (the secrets changed, the one that sealed
// the cookie still listed) forgot the states taken, and the replay was
// accepted again by this process.
func checkStateReplayRefused(t *testing.T, prev, now *generation) {
	t.Helper()
	issued := httptest.NewRecorder()
	if err := prev.states.Issue(issued, httptest.NewRequest("GET", "/", nil), &session.LoginState{State: "reload-replay"}); err != nil {
		t.Fatal(err)
	}
	callback := httptest.NewRequest("GET", "/oauth2/callback", nil)
	for _, c := range issued.Result().Cookies() {
		callback.AddCookie(c)
	}
	if _, err := prev.states.Take(httptest.NewRecorder(), callback, "reload-replay"); err != nil {
		t.Fatalf("the first callback: %v", err)
	}
	if _, err := now.states.Take(httptest.NewRecorder(), callback, "reload-replay"); !errors.Is(err, session.ErrLoginState) {
		t.Errorf("a login state taken before the reload was accepted again after it (err %v)", err)
	}
}
