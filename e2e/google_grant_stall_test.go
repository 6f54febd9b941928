package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestGoogleStalledGrantKeepsTheRefreshBound: a read of the groups at
// groups_refresh, which the session's request waits on, is bounded to 5 s
// (docs/security.md), the service-account grant it may need included.
// With Google's token endpoint stalling (or an egress proxy before it), the
// grant ran without the read's context and queued the reads of all
// sessions behind one mutex: three sessions' requests at once were
// answered after about 10, 20 and 30 seconds. Each is now answered within
// the bound, with the groups last read.
func TestGoogleStalledGrantKeepsTheRefreshBound(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "108123",
		Claims: map[string]any{"email": "ann@acme.com", "email_verified": true, "hd": "acme.com"}}})
	// A token this short-lived is never reused: every read makes a grant,
	// as the first read after the hourly expiry of a real one does.
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{TokenLifetime: 2 * time.Second})
	g.SetMemberships("ann@acme.com", "eng@acme.com")
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: googleProvider(t, p, g, "admin@acme.com", g.URL) + "groups_refresh = \"1s\"\n",
		Upstream: newUpstream(t).URL,
		Routes:   directoryRoutes("eng@acme.com", "ops@acme.com"),
	}.String())
	browsers := make([]*http.Client, 3)
	for i := range browsers {
		browsers[i] = browser(t)
		if status, body, _ := get(t, browsers[i], gw.URL+"/eng/dash"); status != http.StatusOK {
			t.Fatalf("login %d: %d\n%s\ngateway:\n%s", i, status, body, gw.Proc.Output())
		}
		browsers[i].Timeout = 45 * time.Second // beyond the 30 s measured before
	}
	g.SetFaults(oidctest.GoogleTokenStalls)
	time.Sleep(1200 * time.Millisecond) // groups_refresh is due
	for i, r := range getAtOnce(browsers, gw.URL+"/eng/dash") {
		if r.err != nil || r.status != http.StatusOK || r.took > 8*time.Second {
			t.Errorf("session %d: %d, %v after %s, want 200 (the last groups) within the read's 5 s",
				i, r.status, r.err, r.took.Round(time.Millisecond))
		}
	}
}

// timedGet is the answer to one of getAtOnce's requests.
type timedGet struct {
	status int
	err    error
	took   time.Duration
}

// getAtOnce GETs url with each client at the same time and times each.
func getAtOnce(clients []*http.Client, url string) []timedGet {
	out := make([]timedGet, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp, err := c.Get(url)
			out[i] = timedGet{err: err, took: time.Since(start)}
			if err == nil {
				out[i].status = resp.StatusCode
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	return out
}
