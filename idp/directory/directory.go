// Package directory reads a user's groups from an identity provider's
// directory: Google Workspace (Admin SDK Directory API or Cloud Identity
// Groups API), GitHub organisations and teams, and Microsoft Graph (Entra ID).
// Each is a Source; package idp calls them at login and again every
// groups_refresh while a session lives. Nothing else imports this package.
//
// Every call follows the gateway's back-channel rules: no redirect is
// followed (a 3xx is an error), response bodies are read up to a bound,
// paging links must stay on the directory's own origin (a token is never
// sent elsewhere), the number of pages and groups is bounded, and tokens
// never appear in errors or logs.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/ascii"
	"github.com/portcullis/portcullis/internal/redact"
)

// Source reads the groups of one user.
type Source interface {
	// Groups returns the user's groups, nested memberships included where
	// the directory has them. An error means the groups are unknown: the
	// caller must not treat it as "no groups".
	Groups(ctx context.Context, u User) ([]string, error)
}

// User is who the groups are asked for. Google reads Email with its own
// service-account credentials; GitHub and Microsoft Graph are asked with the
// user's own AccessToken. Subject is the user at the provider (its sub,
// never a login or an address another account could take over): GitHub
// and Graph hold a throttled user by it.
type User struct {
	Subject     string
	Email       string
	AccessToken string
}

// Limits shared by the sources.
const (
	// maxBody bounds one response body; directory pages are a few KiB.
	maxBody = 4 << 20
	// maxPages bounds the pages followed for one user.
	maxPages = 50
	// MaxGroups bounds the groups kept for one user: a session carries them
	// in its cookie or Redis entry.
	MaxGroups = 2000
	// maxGroupLen bounds one group's name: real ones are short (Google
	// addresses <= 254 bytes, GitHub "org/slug", Graph GUIDs).
	maxGroupLen = 1024
	// callTimeout bounds one directory call when the caller's context has
	// no earlier deadline.
	callTimeout = 10 * time.Second
)

// ErrUserTokenNeeded is returned by sources that read the directory with
// the user's own access token (GitHub, Microsoft Graph) when there is none.
var ErrUserTokenNeeded = errors.New("directory: this directory is read with the user's access token, and there is none")

// SSORequiredError reports a GitHub organisation that enforces SAML single
// sign-on and refused the user's token (X-GitHub-SSO). Its memberships are
// unknown, so the groups are refused as a whole rather than silently
// incomplete.
type SSORequiredError struct {
	// Organizations names the organisations (logins, or numeric ids when
	// GitHub gives only those).
	Organizations []string
}

func (e *SSORequiredError) Error() string {
	return fmt.Sprintf("directory: GitHub organisation(s) %s enforce SAML single sign-on and refused the token: "+
		"the user must sign in to the organisation through its identity provider (and authorise this OAuth app for it), then sign in again",
		strings.Join(e.Organizations, ", "))
}

// StatusError is a directory answer other than 200.
type StatusError struct {
	Source string // "google", "github" or "graph"
	URL    string // the request URL without its query
	Status int
	Detail string // the directory's error message, shortened
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("directory: %s %s: status %d", e.Source, e.URL, e.Status)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// NewHTTPClient returns a copy of hc (nil: a client with a 10 s timeout) that
// never follows redirects: a directory answering 3xx is an error, and a
// bearer token is never carried to another location.
func NewHTTPClient(hc *http.Client) *http.Client {
	c := &http.Client{Timeout: callTimeout}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout <= 0 {
		// The service-account grant of x/oauth2/jwt is bounded by this
		// timeout only (it sends no context).
		c.Timeout = callTimeout
	}
	return c
}

// response is one fetched page.
type response struct {
	status int
	header http.Header
	body   []byte
	// token is the credential the request carried, so that an error
	// quoting the answer can leave it out (statusError).
	token string
}

// fetcher performs a source's GETs.
type fetcher struct {
	hc     *http.Client
	source string // metric and error label: "google", "github" or "graph"
	// sleep waits d or until ctx ends (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
	// bo remembers the credentials the directory throttled (throttle.go).
	bo *backoff
}

func newFetcher(hc *http.Client, source string) fetcher {
	return fetcher{hc: NewHTTPClient(hc), source: source, sleep: sleepCtx, bo: newBackoff()}
}

// Throttling: a 429 or 503 with Retry-After is retried after the time it
// asks for, at most maxRetries times and never for longer than maxRetryWait
// at once or past the context's deadline. Beyond that the credential is
// not used again until the time asked for (throttle.go).
const (
	maxRetries   = 3
	maxRetryWait = 10 * time.Second
)

// get GETs u with the Authorization header set to authz (and header),
// honouring Retry-After on 429 and 503, and returns the bounded body.
func (f fetcher) get(ctx context.Context, u, authz string, header http.Header) (*response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*callTimeout)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		r, err := f.getOnce(ctx, u, authz, header)
		if err != nil {
			return nil, err
		}
		if r.status != http.StatusTooManyRequests && r.status != http.StatusServiceUnavailable {
			return r, nil
		}
		wait, ok := retryAfter(r.header.Get("Retry-After"), time.Now())
		if !ok || attempt >= maxRetries || wait > maxRetryWait {
			return r, nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return r, nil
		}
		if err := f.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("directory: %s %s: %w", f.source, redactURL(u), err)
		}
	}
}

func (f fetcher) getOnce(ctx context.Context, u, authz string, header http.Header) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("directory: %s: %v", f.source, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		// *url.Error names the whole URL: name it without its query.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("directory: %s %s: %w", f.source, redactURL(u), sentRedacted(err, req))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("directory: %s %s: reading the response: %w", f.source, redactURL(u), err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("directory: %s %s: response larger than %d bytes", f.source, redactURL(u), maxBody)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, &StatusError{Source: f.source, URL: redactURL(u), Status: resp.StatusCode, Detail: "redirects are not followed"}
	}
	_, token, _ := strings.Cut(authz, " ")
	return &response{status: resp.StatusCode, header: resp.Header, body: body, token: token}, nil
}

// retryAfter parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an
// HTTP-date. Seconds beyond time.Duration's range are its longest wait
// (callers cap it): multiplied out, they wrapped around to a negative or
// short one. Only digits are such seconds: ParseInt reports a range error
// before it reads a byte past int64's range, so "99999999999999999999x"
// was read as the longest wait.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	s := strings.TrimSpace(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) && ascii.Digits(strings.TrimPrefix(s, "+")) {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(math.MaxInt64/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// statusError builds the error of a non-200 answer, with the directory's
// own message when its body has one (Google and Graph: error.message,
// GitHub: message).
func statusError(source, u string, r *response) *StatusError {
	var b struct {
		Message string `json:"message"`
		Error   struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &b)
	msg := b.Error.Message
	if msg == "" {
		msg = b.Message
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	// A proxy, firewall or debug page that echoes the request it refused
	// would put the token in the log, whole or in part. Cut first: a token
	// the cut leaves partial is still a run of it.
	msg = redact.Secret(msg, r.token)
	return &StatusError{Source: source, URL: redactURL(u), Status: r.status, Detail: msg}
}

// decodePage decodes the 200 body of one page into page. A body that is no
// JSON object, or that is an error object (an "error" or "message" member,
// as Google, Graph, GitHub and API gateways put errors), is refused:
// decoded, it would be an empty page, and the user would be given no groups
// instead of theirs.
func decodePage(body []byte, page any) error {
	// The probe keeps only these two members: a page is up to maxBody.
	var probe *struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return err
	}
	switch {
	case probe == nil:
		return errors.New("the answer is null, not a page")
	case probe.Error != nil || probe.Message != nil:
		return errors.New("the answer is an error object, not a page")
	}
	return json.Unmarshal(body, page)
}

// redactURL drops the query of u for error messages.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// sameOrigin reports whether next has the scheme and host of base: paging
// links from a response are followed only there, so the token they are
// fetched with never travels to another server.
func sameOrigin(base *url.URL, next string) bool {
	n, err := url.Parse(next)
	if err != nil {
		return false
	}
	return n.Scheme == base.Scheme && ascii.EqualFold(n.Host, base.Host) && n.User == nil
}

// parseBase parses a directory base URL: http(s), a host, no query.
func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("directory: %q is not an http(s) base URL", raw)
	}
	return u, nil
}

// groupSet collects groups once each, in first-seen order, up to MaxGroups.
type groupSet struct {
	seen map[string]bool
	list []string
}

func (s *groupSet) add(g string) error {
	if g == "" || s.seen[g] {
		return nil
	}
	if len(g) > maxGroupLen {
		return fmt.Errorf("directory: a group name of %d bytes (at most %d)", len(g), maxGroupLen)
	}
	if len(s.list) >= MaxGroups {
		return fmt.Errorf("directory: more than %d groups", MaxGroups)
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[g] = true
	s.list = append(s.list, g)
	return nil
}
