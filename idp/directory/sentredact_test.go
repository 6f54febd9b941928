package directory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSentRedactedTakesOutQueryAndToken: a transport error quoting the
// directory request (its query, raw or decoded, and its bearer token) is
// shown without them, keeps its cause and unwraps to the original.
func TestSentRedactedTakesOutQueryAndToken(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://dir.example/v1/groups?userKey=ann%40acme.com&pageToken=p4ge-t0ken-xyz", nil)
	req.Header.Set("Authorization", "Bearer ya29.directory-token-0123456789")
	cause := fmt.Errorf("malformed HTTP status code %q, echo %q %q: %w", req.URL.RequestURI(),
		"userKey=ann@acme.com&pageToken=p4ge-t0ken-xyz", "ya29.directory-token-01", context.DeadlineExceeded)
	got := sentRedacted(cause, req)
	for _, s := range []string{"ann%40acme", "ann@acme", "p4ge-t0ken", "directory-token"} {
		if strings.Contains(got.Error(), s) {
			t.Errorf("%q shows %q", got, s)
		}
	}
	if !strings.HasPrefix(got.Error(), `malformed HTTP status code "/v1/groups?[redacted]`) {
		t.Errorf("the cause is lost: %q", got)
	}
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("%v does not unwrap", got)
	}
}
