package proxy

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// gatedDirectory is a directory whose read waits for release, so that
// requests of one session pile up behind it.
type gatedDirectory struct {
	*directoryProvider
	entered chan struct{}
	release chan struct{}
}

func (p *gatedDirectory) DirectoryGroups(ctx context.Context, id *portcullis.Identity, at string) ([]string, error) {
	p.entered <- struct{}{}
	<-p.release
	return p.directoryProvider.DirectoryGroups(ctx, id, at)
}

// TestGroupsReadEndingSessionAnswersEveryRequest: with the cookie store,
// a directory read that ends the session (the directory refused the
// user's token) is shared by the session's requests at the same time, and
// only the one that made it cleared its cookie: the others were a 401
// that left the cookie, and every later request with a copy of it read
// the directory again. Each now gets the same answer, the cookie
// cleared, and the ending is remembered for the cookie as the read's
// result would be.
func TestGroupsReadEndingSessionAnswersEveryRequest(t *testing.T) {
	f, dp := directoryFixture(t)
	gd := &gatedDirectory{directoryProvider: dp, entered: make(chan struct{}, 8), release: make(chan struct{})}
	f.cfg.Provider = gd
	var err error
	if f.h, err = New(f.cfg); err != nil {
		t.Fatal(err)
	}
	s := f.session()
	s.GroupsReadAt = f.clock.Now()
	cookies := withCookies(f.cookies(t, s))
	dp.set(nil, &idp.DirectoryError{Source: "github", TokenRefused: true, Err: errors.New("status 401")})
	f.clock.Advance(11 * time.Minute)

	const n = 4
	resps := make([]*http.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); resps[i] = f.do(t, "GET", "/app/x", nil, cookies) }()
		if i == 0 {
			<-gd.entered // the read is under way before the others ask
		}
	}
	waitUntil(t, "the others to wait for the read", func() bool { return waitingForGroupsRead() == n-1 })
	close(gd.release)
	wg.Wait()
	for i, resp := range resps {
		c := responseCookies(resp)["portcullis"]
		if resp.StatusCode != http.StatusUnauthorized || c == nil || c.MaxAge >= 0 {
			t.Errorf("request %d: status %d, cookie %+v; want 401 and the cookie cleared", i, resp.StatusCode, c)
		}
	}
	later := f.do(t, "GET", "/app/x", nil, cookies)
	if c := responseCookies(later)["portcullis"]; later.StatusCode != http.StatusUnauthorized || c == nil || c.MaxAge >= 0 {
		t.Errorf("a later copy of the cookie: status %d, cookie %+v; want 401 and the cookie cleared", later.StatusCode, c)
	}
	if dp.count() != 1 {
		t.Errorf("the directory was read %d times for one session it ended; want 1", dp.count())
	}
}

// waitingForGroupsRead counts the goroutines that wait in rereadGroups for
// a directory read another request makes: a request late to join it
// would read the directory itself, or find the ending already
// remembered, and the test would no longer show that the read's answer is
// shared.
func waitingForGroupsRead() int { return waitingToShare("proxy.(*Handler).rereadGroups(") }

// waitingToShare counts the goroutines in frame (a function's name and
// its opening parenthesis, as a stack prints it) that wait for another's
// result (a singleflight's Wait), from their stacks, which a test cannot
// otherwise see: it waits for that rather than for a time.
func waitingToShare(frame string) int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	for ; n == len(buf); n = runtime.Stack(buf, true) {
		buf = make([]byte, 2*len(buf))
	}
	waiting := 0
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, frame) && strings.Contains(g, "sync.(*WaitGroup).Wait(") {
			waiting++
		}
	}
	return waiting
}
