package directory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Throttling beyond the few short waits get makes within one read: a
// directory that answers with a rate limit or quota is not asked again for
// the same credential until the time it names, bounded by MaxBackoff. A
// rate limit lasts minutes to an hour, and every session of a user (GitHub,
// Graph), or every session at all (Google's service account), would
// otherwise ask again every 30 s and keep the limit from ever ending.
const (
	// MaxBackoff bounds the wait a directory can ask for: a broken or
	// hostile directory must not stop reads for days. GitHub's primary
	// limit resets within the hour.
	MaxBackoff = time.Hour
	// DefaultBackoff is the wait when a throttling answer names no time
	// (GitHub's secondary limits ask for at least a minute).
	DefaultBackoff = time.Minute
	// maxBackoffKeys bounds the credentials remembered as throttled.
	maxBackoffKeys = 10000
)

// ThrottledError is a read refused by the directory's rate limit or quota,
// or not made because an earlier answer asked to wait until Until.
type ThrottledError struct {
	Source string    // "google", "github" or "graph"
	Until  time.Time // no read for this credential before then
	// Err is the directory's answer (a *StatusError); nil when no call was
	// made because of an earlier one.
	Err error
}

func (e *ThrottledError) Error() string {
	until := e.Until.UTC().Format(time.RFC3339)
	if e.Err == nil {
		return fmt.Sprintf("directory: %s: throttled by the directory until %s: not asked again before then", e.Source, until)
	}
	return fmt.Sprintf("%v (throttled by the directory: not asked again before %s)", e.Err, until)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// backoff remembers, per credential, until when a directory asked not to be
// called. Sources share one per fetcher (and so per configured provider).
type backoff struct {
	mu    sync.Mutex
	until map[string]time.Time
	now   func() time.Time
}

func newBackoff() *backoff {
	return &backoff{until: map[string]time.Time{}, now: time.Now}
}

// check returns a *ThrottledError when key is throttled.
func (b *backoff) check(source, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, ok := b.until[key]; ok {
		if b.now().Before(u) {
			return &ThrottledError{Source: source, Until: u}
		}
		delete(b.until, key)
	}
	return nil
}

// hold throttles key for d, within [0, MaxBackoff], and returns the error
// for the answer se. A full table is pruned of ended entries; when it is
// still full, nothing is remembered (reads are then retried at the
// caller's pace).
func (b *backoff) hold(source, key string, d time.Duration, se *StatusError) error {
	now := b.now()
	until := now.Add(min(max(d, 0), MaxBackoff))
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.until[key]; !ok && len(b.until) >= maxBackoffKeys {
		for k, u := range b.until {
			if !now.Before(u) {
				delete(b.until, k)
			}
		}
	}
	if _, ok := b.until[key]; ok || len(b.until) < maxBackoffKeys {
		b.until[key] = until
	}
	te := &ThrottledError{Source: source, Until: until}
	if se != nil {
		te.Err = se
	}
	return te
}

// userKey is the backoff key of a source read with the user's own token:
// GitHub's and Graph's limits are per user (all of a user's tokens share
// GitHub's), so the subject, or the token's hash when there is none.
func userKey(u User) string {
	if u.Subject != "" {
		return "sub:" + u.Subject
	}
	h := sha256.Sum256([]byte(u.AccessToken))
	return "at:" + hex.EncodeToString(h[:16])
}

// userTurn starts a read with the user's own token: without one there is
// nothing to read with, and a user the source throttled waits until then.
// It returns the user's backoff key (userKey).
func (f fetcher) userTurn(u User) (string, error) {
	if u.AccessToken == "" {
		return "", ErrUserTokenNeeded
	}
	key := userKey(u)
	if err := f.bo.check(f.source, key); err != nil {
		return "", err
	}
	return key, nil
}

// throttleWait reports whether r is a throttling answer any directory may
// give, and the wait it asks for: 429 (Retry-After, or DefaultBackoff), or
// 503 with Retry-After (Graph's overload). A 503 without one is an outage,
// retried at the caller's pace.
func throttleWait(r *response, now time.Time) (time.Duration, bool) {
	ra, hasRA := retryAfter(r.header.Get("Retry-After"), now)
	switch {
	case r.status == http.StatusTooManyRequests && hasRA:
		return ra, true
	case r.status == http.StatusTooManyRequests:
		return DefaultBackoff, true
	case r.status == http.StatusServiceUnavailable && hasRA:
		return ra, true
	}
	return 0, false
}

// githubThrottleWait reads GitHub's rate limit answers (403 or 429): a
// Retry-After first, then X-RateLimit-Remaining: 0 until X-RateLimit-Reset
// (epoch seconds), then a secondary limit's message, for at least a minute.
func githubThrottleWait(r *response, now time.Time) (time.Duration, bool) {
	if r.status != http.StatusForbidden && r.status != http.StatusTooManyRequests {
		return throttleWait(r, now)
	}
	if ra, ok := retryAfter(r.header.Get("Retry-After"), now); ok {
		return ra, true
	}
	if r.header.Get("X-RateLimit-Remaining") == "0" {
		reset, err := strconv.ParseInt(strings.TrimSpace(r.header.Get("X-RateLimit-Reset")), 10, 64)
		if err != nil || reset <= 0 {
			return DefaultBackoff, true
		}
		if reset > now.Add(MaxBackoff).Unix() {
			return MaxBackoff, true
		}
		return time.Unix(reset, 0).Sub(now), true
	}
	var b struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.body, &b)
	if r.status == http.StatusTooManyRequests || strings.Contains(strings.ToLower(b.Message), "rate limit") {
		return DefaultBackoff, true
	}
	return 0, false
}

// googleThrottleReasons are the error reasons Google's APIs give a rate
// limit or quota with 403 (Admin SDK) or 429.
var googleThrottleReasons = map[string]bool{
	"rateLimitExceeded": true, "userRateLimitExceeded": true, "quotaExceeded": true,
	"dailyLimitExceeded": true, "RATE_LIMIT_EXCEEDED": true,
}

// googleThrottleWait reads Google's throttling answers: 429, and 403 whose
// error names a rate-limit reason (error.errors[].reason,
// error.details[].reason) or the status RESOURCE_EXHAUSTED.
func googleThrottleWait(r *response, now time.Time) (time.Duration, bool) {
	if d, ok := throttleWait(r, now); ok || r.status != http.StatusForbidden {
		return d, ok
	}
	var b struct {
		Error struct {
			Status string `json:"status"`
			Errors []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &b)
	limited := b.Error.Status == "RESOURCE_EXHAUSTED"
	for _, e := range b.Error.Errors {
		limited = limited || googleThrottleReasons[e.Reason]
	}
	for _, e := range b.Error.Details {
		limited = limited || googleThrottleReasons[e.Reason]
	}
	if !limited {
		return 0, false
	}
	if ra, ok := retryAfter(r.header.Get("Retry-After"), now); ok {
		return ra, true
	}
	return DefaultBackoff, true
}
