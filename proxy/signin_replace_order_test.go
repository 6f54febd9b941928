package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// stopAtSave is the real Redis store of one redis-server, which it stops
// (SIGSTOP, by PID) when a new session is first saved: the moment of a
// sign-in after its code was redeemed and its state claimed.
type stopAtSave struct {
	*session.RedisStore
	pid  int
	once sync.Once
}

func (s *stopAtSave) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	if sess.ID == "" {
		s.once.Do(func() { _ = syscall.Kill(s.pid, syscall.SIGSTOP) })
	}
	return s.RedisStore.Save(w, r, sess)
}

// TestSignInWhoseSaveFailsKeepsTheSession: redis-server stops when the new
// session of a sign-in over bob's session is saved. The sign-in fails (503)
// and bob's session must be as it was once Redis answers again: usable,
// its token not revoked, no line saying it was replaced, its cookie not
// expired by the failure page.
func TestSignInWhoseSaveFailsKeepsTheSession(t *testing.T) {
	var logs syncBuffer
	addr, proc := testenv.StartRedis(t)
	var st *stopAtSave
	f := newFixture(t, withDebugLog(&logs), func(c *Config) {
		st = &stopAtSave{RedisStore: redisStoreAt(t, addr, c.Now), pid: proc.Cmd.Process.Pid}
		c.Sessions = st
	})
	resume := func() { _ = syscall.Kill(st.pid, syscall.SIGCONT) }
	t.Cleanup(resume)
	s := f.session()
	s.Identity.Subject, s.Identity.ProviderSubject, s.RefreshToken = "bob", "bob", "rt-bob-old"
	old := saveToStore(t, st.RedisStore, s)
	resp := signInOver(t, f, old)
	resume()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("callback whose save failed = %d, want 503", resp.StatusCode)
	}
	wantSessionKept(t, f, resp, old, &logs)
}

// TestSignInTooLargeKeepsTheSession: a sign-in over bob's session whose
// new session is too large for the cookie store fails (500); the failure
// page must not expire bob's cookie nor revoke its token.
func TestSignInTooLargeKeepsTheSession(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	s := f.session()
	s.Identity.Subject, s.Identity.ProviderSubject, s.RefreshToken = "bob", "bob", "rt-bob-old"
	old := f.cookies(t, s)
	for i := range 3000 {
		f.prov.identity.Groups = append(f.prov.identity.Groups, fmt.Sprintf("group-%d-%x", i, i*7919))
	}
	resp := signInOver(t, f, old)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("callback of a session too large = %d, want 500", resp.StatusCode)
	}
	wantSessionKept(t, f, resp, old, &logs)
}

// wantSessionKept checks that the failed sign-in answered by resp left the
// session of the cookies old as it was.
func wantSessionKept(t *testing.T, f *fixture, resp *http.Response, old []*http.Cookie, logs *syncBuffer) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "portcullis") && !strings.Contains(c.Name, "_login_") && c.MaxAge < 0 {
			t.Errorf("the failed sign-in's answer expires the session cookie %s", c.Name)
		}
	}
	if r := f.do(t, "GET", "/app/x", nil, withCookies(old)); r.StatusCode != http.StatusOK {
		t.Errorf("the session after a sign-in over it failed to save: %d, want 200", r.StatusCode)
	}
	if len(f.prov.revoked) != 0 || len(logLines(logs.String(), "proxy: session replaced by a new sign-in")) != 0 {
		t.Errorf("a failed sign-in revoked %q or logged a replacement:\n%s", f.prov.revoked, logs.String())
	}
}
