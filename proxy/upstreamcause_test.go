package proxy

import (
	"github.com/portcullis/portcullis/internal/redact"

	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/logattr"
)

// TestSentRedactedTakesOutWhatTheRequestCarried: an upstream's error that
// quotes the request it got (its query, decoded too, and credentials in its
// headers) is shown without them, still names its cause and the address
// dialled, and unwraps to the original error.
func TestSentRedactedTakesOutWhatTheRequestCarried(t *testing.T) {
	out, _ := http.NewRequest("GET", "http://10.0.0.7:8080/app/x?state=st4te-v4lue-9f8e&next=%2Fhome%3Fa%3Db-c-d-e-f", nil)
	out.Header.Set("Authorization", "Bearer client-token-0123456789")
	out.Header.Set("X-Access-Token", "access-token-abcdefghij")
	out.Header.Set("Cookie", "app=cookie-value-zyxwvuts")
	out.Header.Set("X-Forwarded-For", "10.0.0.7")
	out.Header.Set("Upgrade", "websocket")
	secrets := []string{"st4te-v4lue-9f8e", "/home?a=b-c-d-e-f", "client-token-0123456789", "access-token-abcdefghij", "cookie-value-zyxwvuts"}
	cause := fmt.Errorf("dial 10.0.0.7:8080: malformed HTTP status code %q, then %q %q %q, for \"websocket\": %w",
		out.URL.RequestURI(), "Bearer client-token-0123", "x access-token-abcdefghij", "app=cookie-value-zyxwvuts;", context.Canceled)
	got := sentRedacted(out, cause)
	text := got.Error()
	for _, s := range secrets {
		if strings.Contains(text, s) || strings.Contains(text, s[:10]) {
			t.Errorf("%q shows %q", text, s)
		}
	}
	if !strings.Contains(text, "dial 10.0.0.7:8080: malformed HTTP status code") || !strings.Contains(text, `for "websocket"`) || !strings.Contains(text, "[redacted]") {
		t.Errorf("the cause is lost: %q", text)
	}
	if !errors.Is(got, context.Canceled) {
		t.Errorf("%v does not unwrap to context.Canceled", got)
	}
	plain := errors.New("dial tcp 10.0.0.7:8080: connect: connection refused")
	if sentRedacted(out, plain) != plain {
		t.Errorf("an error quoting nothing sent is wrapped: %v", sentRedacted(out, plain))
	}
}

// TestSentRedactedIsBounded: the transport quotes up to
// maxResponseHeaderBytes of a peer's line; the text is cut to what the log
// shows before it is searched, so a long line costs no more than a short
// one, and a secret past the cut is not in what is shown at all.
func TestSentRedactedIsBounded(t *testing.T) {
	q := "token=" + strings.Repeat("s3cr3t-", 20)
	out, _ := http.NewRequest("GET", "http://up/x?"+q, nil)
	long := fmt.Errorf("malformed HTTP status code %q", "/x?"+q+strings.Repeat("y", maxResponseHeaderBytes)+q)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	text := sentRedacted(out, long).Error()
	runtime.ReadMemStats(&after)
	if len(text) > 2*logattr.MaxCause || strings.Contains(text, "s3cr3t-s3cr3t") {
		t.Errorf("%d bytes shown, %q", len(text), text[:min(len(text), 200)])
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
		t.Errorf("%d bytes allocated for one error: the whole line was searched", n)
	}
}

// TestSentRedactedKeepsShortHeaderValues: a browser's short header values
// ("1", "en", "gzip") are no credentials; the cause they appear in by
// chance (the address dialled) is shown whole, and the token beside them
// is still taken out, as is a short value of a header named for a
// credential.
func TestSentRedactedKeepsShortHeaderValues(t *testing.T) {
	out, _ := http.NewRequest("GET", "http://10.0.0.1:8080/app", nil)
	out.Header.Set("Upgrade-Insecure-Requests", "1")
	out.Header.Set("Accept-Language", "en")
	out.Header.Set("Accept-Encoding", "gzip")
	out.Header.Set("Authorization", "Bearer client-token-0123456789")
	out.Header.Set("X-Api-Key", "k3y4")
	cause := errors.New("dial tcp 10.0.0.1:8080: connect: connection refused, sent \"Bearer client-token-0123456789\" k3y4")
	want := "dial tcp 10.0.0.1:8080: connect: connection refused, sent \"[redacted]\" [redacted]"
	if got := sentRedacted(out, cause).Error(); got != want {
		t.Errorf("sentRedacted = %q, want %q", got, want)
	}
}

// TestSentRedactedManyHeaderValuesIsCheap: thousands of one-byte header
// values (what fits under the 32 KiB header limit), against an error that
// quotes a path of that byte (an echoing peer), were each searched for on
// their own: some 40 ms of CPU for one failed request. Each distinct value
// is searched for once, and a short one only in a header named for a
// credential; the cost is measured by BenchmarkSentRedactedManyHeaderValues
// (0.01 ms, from 40), not timed here.
func TestSentRedactedManyHeaderValuesIsCheap(t *testing.T) {
	out := manyShortValues()
	if got := redact.SentValues(out.Header, shownHeaders); len(got) != 1 || got[0] != "a" {
		t.Errorf("searched for %d values (%.20q), want the credential header's one value once", len(got), got)
	}
}

// manyShortValues is a request with as many one-byte header values as fit
// under the server's header limit, half of them in a credential header.
func manyShortValues() *http.Request {
	out, _ := http.NewRequest("GET", "http://up/app", nil)
	for range maxHeaderBytes / len("X-Token"+"a"+"    ") / 2 {
		out.Header.Add("X-A", "a")
		out.Header.Add("X-Token", "a") // named for a credential: kept, but once
	}
	return out
}

func BenchmarkSentRedactedManyHeaderValues(b *testing.B) {
	out := manyShortValues()
	cause := fmt.Errorf("malformed HTTP status code %q", "/"+strings.Repeat("a", logattr.MaxCause))
	for b.Loop() {
		sentRedacted(out, cause)
	}
}
