package idp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp/directory"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/prometheus/client_golang/prometheus"
)

// directoryTimeout bounds one read of a user's groups (all pages).
const directoryTimeout = 15 * time.Second

// ErrDirectory means a user's groups could not be read from the provider's
// directory. At login it fails the sign-in: an identity is never made
// without its groups.
var ErrDirectory = errors.New("idp: groups could not be read from the directory")

// ErrUserReadBudget means the user's own directory reads are over their
// budget (dirbudget.go): this user's sign-in waits, no one else's.
var ErrUserReadBudget = errors.New("idp: this user's directory reads are over their budget")

// DirectoryError is a failed directory read. Hint, when set, is a sentence
// for the user (e.g. a GitHub organisation that needs single sign-on); it
// names no token.
type DirectoryError struct {
	Source string // "google", "github" or "graph"
	Hint   string
	Err    error
	// TokenRefused: the directory refused the user's own access token (401
	// from GitHub or Graph): the user revoked the app or the token was
	// withdrawn, so the session must end (errors.Is ErrInvalidGrant).
	TokenRefused bool
}

// EndsSession reports whether the session the read was for must end
// rather than keep its last groups: the user's token was refused, there is
// none, or a GitHub organisation withholds its data (SAML SSO), which fails
// a sign-in too and is within the user's reach.
func (e *DirectoryError) EndsSession() bool {
	var sso *directory.SSORequiredError
	return e.TokenRefused || errors.As(e.Err, &sso) || errors.Is(e.Err, directory.ErrUserTokenNeeded)
}

// Outage reports whether the read failed for want of the directory, not
// by its answer: no answer (a transport error, a timeout), a 5xx, or a
// throttle, or the user's own reads over their budget. An answer that
// refuses (a 403, a 404) or cannot be used is no outage.
func (e *DirectoryError) Outage() bool {
	var te *directory.ThrottledError
	var se *directory.StatusError
	var ne net.Error
	switch {
	case errors.As(e.Err, &te) || errors.Is(e.Err, ErrUserReadBudget):
		return true
	case errors.As(e.Err, &se):
		return se.Status >= http.StatusInternalServerError
	}
	return errors.As(e.Err, &ne) || peerClosed(e.Err) ||
		errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, syscall.ECONNREFUSED)
}

// Waiting reports whether no call was made: the directory throttled this
// credential earlier and the time it named has not come (logged then).
func (e *DirectoryError) Waiting() bool {
	var te *directory.ThrottledError
	return errors.As(e.Err, &te) && te.Err == nil
}

func (e *DirectoryError) Error() string { return "idp: " + e.Source + " directory: " + e.Err.Error() }

// Unwrap lets errors.Is find ErrDirectory, ErrInvalidGrant when the user's
// token was refused, and the cause.
func (e *DirectoryError) Unwrap() []error {
	if e.TokenRefused {
		return []error{ErrDirectory, ErrInvalidGrant, e.Err}
	}
	return []error{ErrDirectory, e.Err}
}

// groupsDirectory is the configured directory of a client.
type groupsDirectory struct {
	source directory.Source
	label  string // metric label
	errors *prometheus.CounterVec
	// throttled counts the directory's rate-limit and quota answers.
	throttled *prometheus.CounterVec
	budget    *readBudget // each user's own reads (dirbudget.go)
}

// newDirectory builds the directory of cfg's kind: Google with a service
// account key, GitHub always, Graph for Entra (used on groups overage).
func newDirectory(cfg *Config) (*groupsDirectory, error) {
	d := &groupsDirectory{source: cfg.Directory, label: directoryLabel(cfg.Kind), budget: newReadBudget(cfg.Now)}
	if d.source == nil {
		src, err := newDirectorySource(cfg)
		if err != nil {
			return nil, fmt.Errorf("idp: %w", err)
		}
		d.source = src
	}
	if d.source == nil {
		return nil, nil
	}
	if err := d.newMetrics(cfg.Metrics); err != nil {
		return nil, err
	}
	return d, nil
}

// directoryLabel is the metric label of kind's directory.
func directoryLabel(kind string) string {
	switch kind {
	case "google", "github":
		return kind
	case "entra":
		return "graph"
	}
	return ""
}

// newDirectorySource builds the directory source of cfg's kind; nil
// (without an error) when the kind reads none.
func newDirectorySource(cfg *Config) (directory.Source, error) {
	// The provider's transport (BackChannelClient), not Go's default one:
	// with no client configured (no tracing), a directory answer's headers
	// were read up to 10 MiB.
	hc := BackChannelClient(cfg.HTTPClient)
	switch cfg.Kind {
	case "google":
		if len(cfg.GoogleServiceAccountJSON) > 0 {
			return directory.NewGoogle(directory.GoogleConfig{CredentialsJSON: cfg.GoogleServiceAccountJSON,
				AdminEmail: cfg.GoogleAdminEmail, BaseURL: cfg.DirectoryURL, HTTPClient: hc})
		}
	case "github":
		// userinfo_url is GET {api}/user: its API is the directory's.
		api := cmpOr(cfg.GitHubAPIURL, strings.TrimSuffix(cfg.UserinfoURL, "/user"))
		return directory.NewGitHub(api, hc)
	case "entra":
		return directory.NewGraph(cfg.DirectoryURL, hc)
	}
	return nil, nil
}

// newMetrics makes the directory's counters, registered with reg when it
// is not nil (or the ones registered there before, on a reload).
func (d *groupsDirectory) newMetrics(reg prometheus.Registerer) error {
	d.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "portcullis", Name: "directory_errors_total",
		Help: "Failed reads of a user's groups from the provider's directory, by source.",
	}, []string{"source"})
	d.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "portcullis", Name: "directory_throttled_total",
		Help: "Rate-limit and quota answers of the provider's directory, by source; reads for that credential wait until the time it names (at most an hour).",
	}, []string{"source"})
	if reg == nil {
		return nil
	}
	var err error
	if d.errors, err = register(reg, d.errors); err != nil {
		return err
	}
	d.throttled, err = register(reg, d.throttled)
	return err
}

// HasDirectory reports whether groups come from a directory that is read
// again every groups_refresh (Google with a service account, GitHub, and
// Entra ID after a groups overage).
func (c *Client) HasDirectory() bool { return c.dir != nil }

// DirectoryGroups reads id's groups from the directory again, with the
// session's current access token (GitHub and Graph read with the user's
// token). For Entra ID the app roles of id's claims are kept. Errors wrap
// ErrDirectory and are counted in portcullis_directory_errors_total.
func (c *Client) DirectoryGroups(ctx context.Context, id *portcullis.Identity, accessToken string) ([]string, error) {
	if c.dir == nil {
		return nil, fmt.Errorf("%w: no directory is configured", ErrDirectory)
	}
	if id == nil {
		return nil, fmt.Errorf("%w: no identity", ErrDirectory)
	}
	if c.cfg.Kind == "google" && (id.Email == "" || !id.EmailVerified) {
		return nil, c.dirError(errors.New("the account has no verified email address to look up"))
	}
	if until, ok := c.dir.budget.take(providerSubject(id)); !ok {
		// No call. A sign-in says it is the user's own wait (429); a
		// session keeps groups read within groups_refresh and the window,
		// then ends (proxy's groupsEndSession): the user's own doing, not
		// an outage that would keep them for the stale hour.
		return nil, c.dirError(fmt.Errorf("%w: none before %s", ErrUserReadBudget, until.UTC().Format(time.RFC3339)))
	}
	ctx, cancel := context.WithTimeout(withEndpoint(ctx, "directory"), directoryTimeout)
	defer cancel()
	groups, err := c.dir.source.Groups(ctx, directory.User{Subject: providerSubject(id), Email: id.Email, AccessToken: accessToken})
	if err != nil {
		c.noteThrottle(err, id.Subject)
		return nil, c.dirError(err)
	}
	if err := checkIdentitySafe("groups", groups); err != nil {
		if errors.Is(err, ErrAmbiguousList) {
			return nil, err // the directory answered: its answer is refused
		}
		return nil, c.dirError(err)
	}
	if c.cfg.Kind == "entra" {
		groups = entraGroups(id.Claims, groups)
	}
	return groups, nil
}

// providerSubject is the user at the provider (sub), which a directory
// that throttles per user is keyed on: the user_claim value may be a
// GitHub login or an address, which another account can take over. An
// identity saved before ProviderSubject existed has only its Subject.
func providerSubject(id *portcullis.Identity) string {
	if id.ProviderSubject != "" {
		return id.ProviderSubject
	}
	return id.Subject
}

// noteThrottle counts and logs a directory's rate-limit or quota answer,
// once per answer (reads skipped while it lasts are only errors): the
// source, whose reads wait (a user, or all users for Google's service
// account) and until when. Never a token.
func (c *Client) noteThrottle(err error, sub string) {
	var te *directory.ThrottledError
	if !errors.As(err, &te) || te.Err == nil {
		return
	}
	c.dir.throttled.WithLabelValues(c.dir.label).Inc()
	who, sub := "sub", logattr.Value(sub, 256) // as the request lines show a user
	if c.cfg.Kind == "google" {
		who, sub = "scope", "all users (the service account's quota)"
	}
	c.log.Warn("idp: the directory throttles group reads; none is made for this credential until the time it names",
		"source", c.dir.label, "until", te.Until.UTC().Format(time.RFC3339), who, sub, logattr.Err(err))
}

func (c *Client) dirError(err error) error {
	c.dir.errors.WithLabelValues(c.dir.label).Inc()
	de := &DirectoryError{Source: c.dir.label, Err: err}
	var sso *directory.SSORequiredError
	var se *directory.StatusError
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized && c.cfg.Kind != "google" {
		de.TokenRefused = true
	}
	switch {
	case errors.As(err, &sso):
		de.Hint = "A GitHub organisation you belong to enforces SAML single sign-on and did not accept this sign-in. " +
			"Sign in to the organisation through its identity provider on github.com (and authorise this application for it), then sign in here again."
	case errors.Is(err, directory.ErrUserTokenNeeded):
		de.Hint = "The sign-in gave no access token to read your groups with."
	}
	return de
}

// loginGroups completes a fresh login's identity with its directory groups.
// It returns when they were read, zero when the groups came from the token.
// A directory that cannot be read fails the login.
func (c *Client) loginGroups(ctx context.Context, id *portcullis.Identity, accessToken string) (time.Time, error) {
	if c.cfg.Kind == "entra" && !entraOverage(id.Claims) {
		return time.Time{}, nil // groups and roles from the ID token (identity)
	}
	if c.dir == nil {
		return time.Time{}, nil
	}
	groups, err := c.DirectoryGroups(ctx, id, accessToken)
	if err != nil {
		return time.Time{}, err
	}
	id.Groups = groups
	return c.now(), nil
}

// refreshGroups keeps the directory groups of prev on a refreshed identity:
// they are read again on the groups_refresh schedule, not on every token
// refresh. Groups that Entra ID puts in a refreshed ID token (no overage)
// replace them.
func (c *Client) refreshGroups(ctx context.Context, id, prev *portcullis.Identity, out *Tokens) error {
	if c.cfg.Kind == "entra" {
		if !entraOverage(id.Claims) || prev == nil {
			return nil
		}
		if entraOverage(prev.Claims) {
			// The groups are Graph's, read again every groups_refresh; the
			// app roles are the new token's, which states them afresh: a
			// role withdrawn must not outlive the refresh that says so
			// (until the next Graph read, or an hour if the user makes
			// that read fail).
			id.Groups = entraGroups(id.Claims, graphGroups(prev))
			return nil
		}
		// The groups came from the previous ID token and this one has
		// none: read them from Graph now, and from now on every
		// groups_refresh (out.GroupsReadAt), never keep the old token's.
		at, err := c.loginGroups(ctx, id, out.AccessToken)
		if err != nil {
			return err
		}
		out.GroupsReadAt = at
		return nil
	}
	if c.dir != nil && prev != nil {
		id.Groups = slices.Clone(prev.Groups)
	}
	return nil
}

// graphGroups is prev's groups without the app roles entraGroups added from
// prev's roles claim: the groups last read from Graph. A role whose value is
// also one of those groups' IDs is dropped with it until the next Graph
// read (fewer groups, never more).
func graphGroups(prev *portcullis.Identity) []string {
	roles := stringArray(prev.Claims["roles"])
	return slices.DeleteFunc(slices.Clone(prev.Groups), func(g string) bool { return slices.Contains(roles, g) })
}
