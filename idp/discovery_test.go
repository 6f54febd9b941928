package idp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestDiscoveryBodyBounded: provider answers are read up to 1 MiB, also
// where go-oidc reads them (discovery reads the whole body and, on a
// non-200 answer, quotes all of it in the error serve logs on every retry).
func TestDiscoveryBodyBounded(t *testing.T) {
	const size = 8 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	var read atomic.Int64
	hc := &http.Client{Transport: countingTransport{base: http.DefaultTransport, n: &read}}
	c, err := New(Config{Issuer: srv.URL, ClientID: "client", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Discover(context.Background())
	if err == nil {
		t.Fatal("discovery succeeded")
	}
	if n := len(err.Error()); n > 2*maxErrorText {
		t.Errorf("the discovery error (logged) is %d bytes long", n)
	}
	if n := read.Load(); n > maxProviderBody+64<<10 {
		t.Errorf("discovery read %d bytes of the provider's answer, beyond the 1 MiB bound", n)
	}
}

// countingTransport counts the response body bytes read through it.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if resp != nil {
		resp.Body = countingBody{resp.Body, c.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestDiscoveryErrorShortened: a provider's failed answer under the body
// bound is still cut in the error that is logged.
func TestDiscoveryErrorShortened(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Repeat("x", 100<<10)))
	}))
	defer srv.Close()
	c, err := New(Config{Issuer: srv.URL, ClientID: "client"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Discover(context.Background())
	if err == nil || len(err.Error()) > 2*maxErrorText || !strings.Contains(err.Error(), "503") {
		t.Errorf("discovery error: %d bytes: %.200v", len(err.Error()), err)
	}
}

type zeroThenEOF struct{ n int }

func (z *zeroThenEOF) Read(p []byte) (int, error) {
	z.n++
	if z.n == 1 {
		return 0, nil // allowed by io.Reader
	}
	return 0, io.EOF
}
func (z *zeroThenEOF) Close() error { return nil }

// TestBoundedBodyAtBound: an answer of exactly the bound is accepted, and
// at the bound a (0, nil) read is not taken for a larger answer.
func TestBoundedBodyAtBound(t *testing.T) {
	b := &boundedBody{rc: &zeroThenEOF{}, left: 0}
	if _, err := b.Read(make([]byte, 8)); err != nil && errors.Is(err, errBodyTooLarge) {
		t.Errorf("a (0, nil) read at the bound is reported as %v", err)
	}
	// exact bound, with io.ReadAll
	body := strings.Repeat("x", maxDirectoryBody)
	bb := &boundedBody{rc: io.NopCloser(strings.NewReader(body)), left: maxDirectoryBody}
	got, err := io.ReadAll(io.LimitReader(bb, maxDirectoryBody+1))
	if err != nil || len(got) != maxDirectoryBody {
		t.Errorf("exactly 4 MiB: %d bytes, %v", len(got), err)
	}
}
