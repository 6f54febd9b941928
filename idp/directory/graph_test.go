package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGraph serves /v1.0/me/transitiveMemberOf two groups per page,
// answering 429 with Retry-After to the first throttle requests.
type fakeGraph struct {
	groups   []string
	throttle int32
	calls    atomic.Int32
}

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.URL.Path != "/v1.0/me/transitiveMemberOf" || r.URL.Query().Get("$select") != "id" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer graph-at" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Access token is empty."}}`))
		return
	}
	if atomic.AddInt32(&f.throttle, -1) >= 0 {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"Too many requests"}}`))
		return
	}
	skip, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	end := min(skip+2, len(f.groups))
	out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"}
	var vals []map[string]string
	for _, g := range f.groups[skip:end] {
		vals = append(vals, map[string]string{"@odata.type": "#microsoft.graph.group", "id": g})
	}
	out["value"] = vals
	if end < len(f.groups) {
		out["@odata.nextLink"] = fmt.Sprintf("http://%s%s?$select=id&$top=999&$skiptoken=%d", r.Host, r.URL.Path, end)
	}
	_ = json.NewEncoder(w).Encode(out)
}

func graphSource(t *testing.T, f *fakeGraph) (*Graph, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	g, err := NewGraph(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	g.f.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return g, &waits
}

func TestGraphPagingAndThrottling(t *testing.T) {
	ids := []string{"0b1f9851-1bf0-433f-aec3-cb9272f093dc", "6b2d2b3c-6e3a-4e8f-9f1a-3c5b1b2d4e5f", "a1b2c3d4-0000-1111-2222-333344445555"}
	f := &fakeGraph{groups: ids, throttle: 2}
	g, waits := graphSource(t, f)
	got, err := g.Groups(context.Background(), User{AccessToken: "graph-at"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("groups = %v", got)
	}
	if !slices.Equal(*waits, []time.Duration{2 * time.Second, 2 * time.Second}) {
		t.Errorf("waits = %v, want Retry-After honoured twice", *waits)
	}
}

func TestGraphThrottledBeyondRetries(t *testing.T) {
	f := &fakeGraph{groups: []string{"g"}, throttle: 100}
	g, _ := graphSource(t, f)
	_, err := g.Groups(context.Background(), User{AccessToken: "graph-at"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusTooManyRequests {
		t.Fatalf("err = %v, want the 429", err)
	}
	if n := f.calls.Load(); n != maxRetries+1 {
		t.Errorf("%d calls, want %d", n, maxRetries+1)
	}
}

func TestGraphErrors(t *testing.T) {
	g, _ := graphSource(t, &fakeGraph{})
	_, err := g.Groups(context.Background(), User{AccessToken: "wrong"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 401 {
		t.Errorf("err = %v", err)
	}
	hit := false
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, `{"value":[{"id":"x"}],"@odata.nextLink":%q}`, other.URL+"/v1.0/steal")
	}))
	defer srv.Close()
	g2, _ := NewGraph(srv.URL, nil)
	if _, err := g2.Groups(context.Background(), User{AccessToken: "graph-at"}); err == nil || hit {
		t.Errorf("foreign nextLink: err %v, hit %v", err, hit)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"3": 3 * time.Second, "0": 0,
		now.Add(5 * time.Second).Format(http.TimeFormat): 5 * time.Second} {
		if got, ok := retryAfter(in, now); !ok || got != want {
			t.Errorf("retryAfter(%q) = %v %v", in, got, ok)
		}
	}
	if _, ok := retryAfter("soon", now); ok {
		t.Error("nonsense accepted")
	}
}

// TestGraphKeepsOnlyGroups reads the uncast membership list, which Graph
// serves without advanced query parameters: directory roles and
// administrative units in it are no groups, and an object whose type Graph
// did not name is refused rather than guessed.
func TestGraphKeepsOnlyGroups(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/me/transitiveMemberOf" || r.Header.Get("ConsistencyLevel") != "" {
			http.Error(w, `{"error":{"code":"Request_UnsupportedQuery","message":"no"}}`, http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	g, _ := NewGraph(srv.URL, nil)
	body = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id)","value":[
		{"@odata.type":"#microsoft.graph.group","id":"0b1f9851-1bf0-433f-aec3-cb9272f093dc"},
		{"@odata.type":"#microsoft.graph.directoryRole","id":"62e90394-69f5-4237-9190-012177145e10"},
		{"@odata.type":"#microsoft.graph.administrativeUnit","id":"4d7ea995-bc0f-45c0-8c3e-132e93bc6ed8"}]}`
	got, err := g.Groups(context.Background(), User{AccessToken: "graph-at"})
	if err != nil || !slices.Equal(got, []string{"0b1f9851-1bf0-433f-aec3-cb9272f093dc"}) {
		t.Fatalf("groups %v, err %v; want the group only", got, err)
	}
	body = `{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1"},{"id":"62e90394-69f5-4237-9190-012177145e10"}]}`
	if got, err := g.Groups(context.Background(), User{AccessToken: "graph-at"}); err == nil {
		t.Fatalf("an object without @odata.type: groups %v, want an error", got)
	}
}
