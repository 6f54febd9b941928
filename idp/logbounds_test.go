package idp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp/directory"
)

// TestDirectoryThrottleLogBounded: the throttle line quotes the directory's
// answer, which the directory chooses: here GitHub's API pages on to a
// next link of 20 KB and then refuses with a message holding a line break
// and a C1 control (U+009B, an 8-bit CSI to terminals). Unbounded, the line
// was over 20 KB, past what Docker keeps in one line, and the JSON handler
// wrote the C1 control as it came.
func TestDirectoryThrottleLogBounded(t *testing.T) {
	long := "/user/orgs/" + strings.Repeat("p", 20000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == long {
			w.Header().Set("Retry-After", "600")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message":"limit\nlevel=ERROR msg=forged \u009b2J"}`))
			return
		}
		w.Header().Set("Link", "<http://"+r.Host+long+`>; rel="next"`)
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	gh, err := directory.NewGitHub(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	c, err := New(Config{Kind: "github", ClientID: "c", Directory: gh, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	id := &portcullis.Identity{Subject: "octo", ProviderSubject: "1"}
	if _, err := c.DirectoryGroups(context.Background(), id, "gho_limited"); !errors.Is(err, ErrDirectory) {
		t.Fatalf("err = %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "throttles group reads") {
		t.Fatalf("no throttle line:\n%.2000s", out)
	}
	if n := len(out); n > 2048 || !strings.Contains(out, "…") || strings.Contains(out, "\u009b") {
		t.Errorf("a line of %d bytes, want at most 2048, cut with …, no C1: %.600s", n, out)
	}
}
