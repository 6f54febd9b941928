package directory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestGoogleGrantKeepsTheReadsBound: the service-account grant is part of a
// read and ends with the read's context. x/oauth2/jwt sends no context, and
// its ReuseTokenSource makes every waiting read queue behind the grant in
// flight under a mutex: with Google's token endpoint (or an egress proxy
// before it) stalling, a read bounded to 1 s took the HTTP client's 10 s,
// and each of three reads at once one grant more (10 s, 20 s, 30 s); every
// user's groups wait on that one service account.
func TestGoogleGrantKeepsTheReadsBound(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	grants := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		grants++
		mu.Unlock()
		select { // a stalled token endpoint
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	for name, admin := range map[string]string{"admin sdk": "admin@acme.com", "cloud identity": ""} {
		t.Run(name, func(t *testing.T) {
			src, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, srv.URL+"/token"), AdminEmail: admin, BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			took := make([]time.Duration, 3)
			errs := make([]error, 3)
			for i := range took {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					defer cancel()
					start := time.Now()
					_, errs[i] = src.Groups(ctx, User{Email: "ann@acme.com"})
					took[i] = time.Since(start)
				}()
			}
			wg.Wait()
			for i := range took {
				if errs[i] == nil || took[i] > 3*time.Second {
					t.Errorf("read %d: %v after %s, want an error within the read's 1 s", i, errs[i], took[i].Round(time.Millisecond))
				}
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if grants == 0 {
		t.Error("no grant was asked for")
	}
}

// TestGoogleGrantShared: reads at once share one grant, and later reads
// reuse its token until it expires; a read whose context ends while it
// makes the grant leaves the next read to make its own.
func TestGoogleGrantShared(t *testing.T) {
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{})
	g.SetMemberships("ann@acme.com", "sre@acme.com")
	src, err := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), AdminEmail: "admin@acme.com", BaseURL: g.URL})
	if err != nil {
		t.Fatal(err)
	}
	cut, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Groups(cut, User{Email: "ann@acme.com"}); !errors.Is(err, context.Canceled) {
		t.Errorf("a read whose context ended: %v", err)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := src.Groups(context.Background(), User{Email: "ann@acme.com"}); err != nil || len(got) != 1 {
				t.Errorf("groups = %v, %v", got, err)
			}
		}()
	}
	wg.Wait()
	if _, err := src.Groups(context.Background(), User{Email: "ann@acme.com"}); err != nil {
		t.Fatal(err)
	}
	if n := len(g.TokenRequests()); n != 1 {
		t.Errorf("%d grants made by the answered reads, want 1", n)
	}
}
