package directory

import (
	"math"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzThrottleWait: whatever a directory answers (status, Retry-After,
// GitHub's X-RateLimit-* fields, a body), a throttling answer holds its
// credential for the wait it reads, capped at MaxBackoff: never before
// now, never beyond; and Retry-After is read as refRetryAfter reads it
// (delay-seconds or an HTTP-date), never a negative wait.
func FuzzThrottleWait(f *testing.F) {
	f.Add(429, "120", "", "", []byte(nil))
	f.Add(403, "", "0", "99999999999999999999", []byte(`{"message":"API rate limit exceeded"}`))
	f.Add(403, "", "0", "1", []byte(`{"error":{"status":"RESOURCE_EXHAUSTED"}}`))
	f.Add(503, "Wed, 21 Oct 2015 07:28:00 GMT", "", "", []byte(nil))
	f.Add(429, "-9223372036854775809", "0", "-5", []byte(`{"error":{"errors":[{"reason":"quotaExceeded"}]}}`))
	f.Add(429, "9223372036854775808", "", "", []byte(nil))
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, status int, ra, remaining, reset string, body []byte) {
		d, ok := retryAfter(ra, now)
		if want, wantOK := refRetryAfter(ra, now); ok && d < 0 || ok != wantOK || ok && d != want {
			t.Fatalf("Retry-After %q read as %v, %v; want %v, %v", ra, d, ok, want, wantOK)
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
			if te == nil || te.Until.Before(now) || te.Until.After(now.Add(MaxBackoff)) || !te.Until.Equal(now.Add(min(max(d, 0), MaxBackoff))) {
				t.Fatalf("%s: answer %d Retry-After %q reset %q held until %v (wait %v)", name, status, ra, reset, te, d)
			}
		}
	})
}

// refRetryAfter is retryAfter's reference, with big numbers: delay-seconds
// (an optional sign and decimal digits, space around them ignored) as that
// many seconds, at most time.Duration's longest whole seconds; an
// HTTP-date as the time from now to it, none when it is past; else none.
func refRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if n, ok := new(big.Int).SetString(strings.TrimSpace(v), 10); ok && v != "" {
		if n.Sign() < 0 {
			return 0, false
		}
		if longest := big.NewInt(math.MaxInt64 / int64(time.Second)); n.Cmp(longest) > 0 {
			n = longest
		}
		return time.Duration(n.Int64()) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if t.Before(now) {
			return 0, true
		}
		return t.Sub(now), true
	}
	return 0, false
}
