package directory

import (
	"net/http"
	"testing"
	"time"
)

// FuzzThrottleWait: whatever a directory answers (status, Retry-After,
// GitHub's X-RateLimit-* fields, a body), a throttling answer never holds
// its credential before now or beyond MaxBackoff, and Retry-After is never
// a negative wait.
func FuzzThrottleWait(f *testing.F) {
	f.Add(429, "120", "", "", []byte(nil))
	f.Add(403, "", "0", "99999999999999999999", []byte(`{"message":"API rate limit exceeded"}`))
	f.Add(403, "", "0", "1", []byte(`{"error":{"status":"RESOURCE_EXHAUSTED"}}`))
	f.Add(503, "Wed, 21 Oct 2015 07:28:00 GMT", "", "", []byte(nil))
	f.Add(429, "-9223372036854775809", "0", "-5", []byte(`{"error":{"errors":[{"reason":"quotaExceeded"}]}}`))
	f.Add(429, "9223372036854775808", "", "", []byte(nil))
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, status int, ra, remaining, reset string, body []byte) {
		if d, ok := retryAfter(ra, now); ok && d < 0 {
			t.Fatalf("Retry-After %q read as %v", ra, d)
		}
		r := &response{status: status, body: body, header: http.Header{}}
		for k, v := range map[string]string{"Retry-After": ra, "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset} {
			if v != "" {
				r.header.Set(k, v)
			}
		}
		for name, wait := range map[string]func(*response, time.Time) (time.Duration, bool){
			"any": throttleWait, "github": githubThrottleWait, "google": googleThrottleWait,
		} {
			d, ok := wait(r, now)
			if !ok {
				continue
			}
			b := newBackoff()
			b.now = func() time.Time { return now }
			te, _ := b.hold(name, "k", d, nil).(*ThrottledError)
			if te == nil || te.Until.Before(now) || te.Until.After(now.Add(MaxBackoff)) {
				t.Fatalf("%s: answer %d Retry-After %q reset %q held until %v (wait %v)", name, status, ra, reset, te, d)
			}
		}
	})
}
