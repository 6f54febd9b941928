package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// busyResult is one answer of a concurrent bearer request.
type busyResult struct {
	status     int
	retryAfter string
	took       time.Duration
}

// concurrentBearers sends one API request per token at once and returns
// the answers; a transport error is status 0.
func concurrentBearers(u string, tokens []string) []busyResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(tokens)}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	out := make([]busyResult, len(tokens))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, tok := range tokens {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			<-start
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			out[i] = busyResult{resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(t0)}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestIntrospectionNotAnAmplifier drives the gateway binary against a test
// provider whose introspection endpoint can be made slow: 1,000 random
// opaque tokens at once cost at most 32 introspection calls and the other
// requests get 503 with Retry-After without waiting for them; 100 requests
// with one token cost one call; a refused token retried 100 times costs
// one call.
func TestIntrospectionNotAnAmplifier(t *testing.T) {
	t.Parallel()
	// Long enough that a 503 queued behind the calls is told from one
	// slowed by a loaded machine (6 s was not, beside a build: 6.4-7.8 s),
	// and under the gateway's 10 s bound on a call (idp's
	// introspectionTimeout), which the one-token case waits out.
	const slow = 8 * time.Second
	p := oidctest.New(t, oidctest.Options{SlowDelay: slow})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", `
[[routes]]
path = "/**"
`))

	t.Run("random tokens", func(t *testing.T) {
		p.SetFaults(oidctest.FaultSlow)
		defer p.SetFaults(0)
		before := p.Requests("/introspect")
		tokens := make([]string, 1000)
		for i := range tokens {
			b := make([]byte, 24)
			_, _ = rand.Read(b)
			tokens[i] = hex.EncodeToString(b)
		}
		res := concurrentBearers(gw.URL+"/x", tokens)
		var busy, refused int
		for i, r := range res {
			switch {
			case r.status == 503 && r.retryAfter != "":
				busy++
				if r.took >= slow {
					t.Errorf("request %d waited %v for its 503: it was queued", i, r.took)
				}
			case r.status == 401:
				refused++
			default:
				t.Errorf("request %d: status %d Retry-After %q", i, r.status, r.retryAfter)
			}
		}
		calls := p.Requests("/introspect") - before
		t.Logf("%d provider calls, %d refused, %d busy", calls, refused, busy)
		if calls > 32 || refused != calls || busy != len(tokens)-calls {
			t.Errorf("1,000 random tokens: %d introspection calls, %d 401, %d 503; want at most 32 calls, one 401 each, 503 for the rest",
				calls, refused, busy)
		}
		if up.count() != 0 {
			t.Error("a request reached the upstream")
		}
	})

	t.Run("one token, 100 requests", func(t *testing.T) {
		p.SetFaults(oidctest.FaultSlow) // the requests overlap the call
		defer p.SetFaults(0)
		tok := p.OpaqueToken("bob", p.ClientID, "read", time.Now().Add(time.Hour))
		before := p.Requests("/introspect")
		tokens := make([]string, 100)
		for i := range tokens {
			tokens[i] = tok
		}
		for i, r := range concurrentBearers(gw.URL+"/x", tokens) {
			if r.status != 200 {
				t.Fatalf("request %d: status %d", i, r.status)
			}
		}
		if n := p.Requests("/introspect") - before; n != 1 {
			t.Errorf("100 concurrent requests with one token cost %d introspection calls, want 1", n)
		}
	})

	t.Run("refused token retried", func(t *testing.T) {
		before := p.Requests("/introspect")
		for i := range 100 {
			if res := apiCall(t, "GET", gw.URL+"/x", bearer("refused-opaque-token")); res.status != 401 {
				t.Fatalf("try %d: status %d", i, res.status)
			}
		}
		if n := p.Requests("/introspect") - before; n != 1 {
			t.Errorf("a refused token retried 100 times cost %d introspection calls, want 1", n)
		}
	})
}
