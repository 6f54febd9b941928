// Package session keeps browser sessions: the Session value, the Store
// interface, the sealed-cookie store, the Redis store and the short-lived
// login-state cookie.
package session

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unique"

	"github.com/portcullis/portcullis"
)

// Session is one logged-in browser. Values loaded from a Store may be shared
// between goroutines (stores cache opened sessions): treat them as read-only
// and Clone before changing one.
type Session struct {
	ID       string              `json:"-"` // redis store: the id the cookie carries; "" when the cookie carries the session itself
	Identity portcullis.Identity `json:"identity"`

	AccessToken  string    `json:"at,omitempty"`
	RefreshToken string    `json:"rt,omitempty"`
	IDToken      string    `json:"idt,omitempty"` // raw, kept for id_token_hint
	Expiry       time.Time `json:"exp,omitzero"`  // access-token expiry; zero when the provider states none

	// GroupsReadAt is when Identity.Groups were last read from the
	// provider's directory; zero when they come from the tokens. They are
	// read again every groups_refresh. GroupsTriedAt is the last failed
	// attempt since, so that a directory that is down is not asked on every
	// request.
	GroupsReadAt  time.Time `json:"gra,omitzero"`
	GroupsTriedAt time.Time `json:"grt,omitzero"`

	// UnconfirmedSince is when (Unix seconds) a refresh the provider
	// answered first could not derive the identity again (userinfo, the
	// JWKS or the directory not answering) and Identity was kept; zero
	// once a refresh derives it. The proxy keeps an unconfirmed identity
	// for a bounded time only. Seconds, not a time.Time: 24 bytes more
	// took every resident session from the 448-byte size class to 480.
	UnconfirmedSince int64 `json:"ucs,omitempty"`

	CreatedAt time.Time `json:"iat"`
	ExpiresAt time.Time `json:"eol"` // CreatedAt + lifetime: absolute, refreshing never moves it

	// SignInStarted is when the sign-in that makes this session began (its
	// login state's IssuedAt); zero means CreatedAt. It is not stored: the
	// Redis store's Save of a new session refuses one that a logout of its
	// user since then ended (ErrLoggedOut).
	SignInStarted time.Time `json:"-"`

	// StepUps records, per route key, when an incremental-authorization
	// redirect was last made, so a provider that does not grant a scope
	// cannot cause a loop.
	StepUps map[string]time.Time `json:"su,omitempty"`

	// elided marks the resident copy an opened-session cache keeps: some
	// of the tokens above were left out (see resident). hadRefresh records
	// that the session they were left out of has a refresh token.
	elided, hadRefresh bool
}

// endBy brings ExpiresAt forward to CreatedAt + lifetime when that is
// sooner: the lifetime in force now is the limit, not the one at sign-in,
// so a reload that lowers session.lifetime ends the older sessions. The
// sealer's own age check cannot: a refresh seals the session again, and a
// replica's cache keeps what it opened.
func (s *Session) endBy(lifetime time.Duration) {
	if s.CreatedAt.IsZero() || lifetime <= 0 {
		return
	}
	if end := s.CreatedAt.Add(lifetime); end.Before(s.ExpiresAt) {
		s.ExpiresAt = end
	}
}

// Clone returns a deep-enough copy of s to change tokens, expiry and StepUps.
// A clone of an elided session is elided too: Save refuses it.
func (s *Session) Clone() *Session {
	c := *s
	if s.StepUps != nil {
		c.StepUps = make(map[string]time.Time, len(s.StepUps))
		for k, v := range s.StepUps {
			c.StepUps[k] = v
		}
	}
	return &c
}

// Elided reports whether s is the copy a store keeps in memory, without
// its ID and refresh tokens (and its access token unless the store was told
// to keep it, StoreOptions.KeepAccessToken). Such a session is enough to
// decide a request; Store.Full returns it with its tokens, and Save refuses
// it, so a session is never stored without them.
func (s *Session) Elided() bool { return s.elided }

// CanRefresh reports whether s has a refresh token, or had one before its
// tokens were elided: whether a refresh is worth reading the full session for.
func (s *Session) CanRefresh() bool { return s.RefreshToken != "" || s.hadRefresh }

// residentRule is what an opened-session cache keeps of a session
// (StoreOptions.KeepAccessToken and KeepClaims).
type residentRule struct {
	keepAccessToken bool
	claims          map[string]bool // top-level claim names kept; nil = every claim
}

func newResidentRule(o StoreOptions) residentRule {
	r := residentRule{keepAccessToken: o.KeepAccessToken}
	if o.KeepClaims != nil {
		r.claims = make(map[string]bool, 2*len(o.KeepClaims))
		for _, path := range o.KeepClaims {
			// portcullis.LookupClaim reads the whole path as one key, or
			// walks from its first segment.
			r.claims[path] = true
			if i := strings.IndexByte(path, '.'); i >= 0 {
				r.claims[path[:i]] = true
			}
		}
	}
	return r
}

// resident returns the copy of s an opened-session cache keeps: without
// its ID and refresh tokens, which only a refresh, a sign-out or a directory
// read needs, without its access token unless the rule keeps it (it is
// sent upstream on every request), and with only the claims the rule
// keeps. With thousands of sessions cached, the tokens were about a third
// of the gateway's live heap.
func (s *Session) resident(rule residentRule) *Session {
	c := s.Clone()
	c.hadRefresh = s.CanRefresh()
	if c.IDToken != "" || c.RefreshToken != "" || (!rule.keepAccessToken && c.AccessToken != "") {
		c.elided = true
	}
	c.IDToken, c.RefreshToken = "", ""
	if !rule.keepAccessToken {
		c.AccessToken = ""
	}
	internIdentity(&c.Identity)
	if rule.claims != nil && len(s.Identity.Claims) > 0 {
		var kept map[string]any
		for k, v := range s.Identity.Claims {
			if rule.claims[k] || !s.Identity.EmailVerified && verificationClaims[k] {
				if kept == nil {
					kept = make(map[string]any, len(rule.claims))
				}
				kept[k] = v
			}
		}
		if len(kept) != len(s.Identity.Claims) {
			c.elided = true
		}
		c.Identity.Claims = kept
	}
	return c
}

// verificationClaims are the claims a refusal of an unverified address
// reads to say whether the provider sent them at all (policy: "the
// provider sent no email_verified claim"): a resident copy keeps them for
// a session whose address is not verified. A verified address's refusals
// never read them, and keeping them for every session cost about 330 bytes
// of heap each (a map of its own).
var verificationClaims = map[string]bool{"email_verified": true, "xms_edov": true}

// internIdentity makes the strings many resident identities share (the
// issuer, scope and group names) point at one copy each (unique.Make),
// and the provider subject and username at the subject when equal: with
// thousands of sessions cached, a company's group names would otherwise be
// held once per user. Slices are replaced, never changed in place, so the
// values of other copies are untouched.
func internIdentity(id *portcullis.Identity) {
	id.Issuer = unique.Make(id.Issuer).Value()
	id.Groups = internAll(id.Groups)
	id.Scopes = internAll(id.Scopes)
	if id.ProviderSubject == id.Subject {
		id.ProviderSubject = id.Subject
	}
	if id.PreferredUsername == id.Subject {
		id.PreferredUsername = id.Subject
	}
}

// sameSession reports whether full, read again for Store.Full, is the
// session resident is the copy of: the same login of the same user.
func sameSession(full, resident *Session) bool {
	return full.CreatedAt.Equal(resident.CreatedAt) && full.Identity.Subject == resident.Identity.Subject &&
		full.Identity.Issuer == resident.Identity.Issuer
}

// errElided is Save's answer to an elided session.
var errElided = errors.New("session: save: the session was loaded without its tokens (read it with Store.Full first)")

// saveLifetime is what every store's Save checks first: an elided session
// is refused, so that none is stored without its tokens, and so is one
// already expired at now. It returns the lifetime left, the stored copy's.
func saveLifetime(s *Session, now time.Time) (time.Duration, error) {
	if s.Elided() {
		return 0, errElided
	}
	remaining := s.ExpiresAt.Sub(now)
	if remaining <= 0 {
		return 0, fmt.Errorf("session: save: session expired at %s", s.ExpiresAt.Format(time.RFC3339))
	}
	return remaining, nil
}

// ServerSide reports whether s is kept by its store (the redis store) rather
// than carried by its cookie (the cookie store). A change to a server-side
// session, once saved, is seen by every request that carries its cookie; a
// change to a cookie-carried session must be saved on each response that is
// to carry it.
func (s *Session) ServerSide() bool { return s.ID != "" }

// Store keeps sessions. Implementations: *CookieStore, *RedisStore. Every
// store is a Locker (the cookie store's lock is a no-op), so callers never
// ask which store they have; revocation (Revoker) is an optional ability.
type Store interface {
	Locker
	// Load returns the request's session, or ErrNoSession when it carries none
	// or one that is invalid or past ExpiresAt. Other errors mean the store
	// could not be asked (Redis down) and must not be read as "no session".
	//
	// The session returned is the store's resident copy (Elided): without
	// its ID and refresh tokens, and without its access token unless the
	// store keeps it.
	Load(r *http.Request) (*Session, error)
	// Full returns s, a session Load returned for r, with its tokens: s
	// itself when nothing was elided, else the session read again from r
	// (the cookie store) or from the store (the redis store) without the
	// cache. It returns ErrNoSession when the session read is gone or is not
	// the same session as s, and other errors when the store could not be
	// asked.
	Full(r *http.Request, s *Session) (*Session, error)
	// Save writes s and sets the cookie(s) that carry it. A session with an
	// empty ID gets a fresh one (a new login never reuses a cookie value).
	// An elided session is refused: it would be stored without its tokens.
	Save(w http.ResponseWriter, r *http.Request, s *Session) error
	// Delete ends the request's session: server-side state and every cookie chunk.
	Delete(w http.ResponseWriter, r *http.Request) error
	// Owns reports whether a cookie of this name belongs to the gateway, so
	// the proxy can remove it before forwarding.
	Owns(cookieName string) bool
}

// Locker holds a short lock on one session across every replica that shares
// the store, so that one replica at a time refreshes the session and the
// others wait for its result instead of presenting the same refresh token.
type Locker interface {
	// Lock tries to take the lock of session id for at most ttl (a crashed
	// holder's lock expires). acquired is false when another holder has it;
	// unlock releases it only while it is still this holder's. A store that
	// shares nothing between replicas (the cookie store) always acquires at
	// once.
	Lock(ctx context.Context, id string, ttl time.Duration) (unlock func(), acquired bool, err error)
}

// Revoker ends sessions by the provider's identity of the user, for
// back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.5) and
// revocation. *RedisStore implements it; the cookie store cannot, because
// it keeps nothing server-side.
type Revoker interface {
	// DeleteBySubject ends every session of the provider's subject sub (its
	// sub claim, whatever user_claim says) at issuer iss ("" for plain
	// OAuth 2.0 providers) and returns how many there were.
	DeleteBySubject(ctx context.Context, iss, sub string) (int, error)
	// DeleteBySID ends every session of the provider session sid at issuer
	// iss and returns how many there were.
	DeleteBySID(ctx context.Context, iss, sid string) (int, error)
}

// ReplayGuard remembers one-time keys across every replica that shares the
// store: back-channel logout tokens use it so that a jti replayed to another
// replica is refused too. *RedisStore implements it; the cookie store has
// nothing replicas share (and back-channel logout needs the redis store).
type ReplayGuard interface {
	// FirstUse records key for ttl and reports whether this was its first
	// use on any replica.
	FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Used reports whether key was recorded (FirstUse) on any replica.
	Used(ctx context.Context, key string) (bool, error)
}

// ErrNoSession means the request carries no usable session.
var ErrNoSession = errors.New("session: no session")

// ErrForeignCookie is the ErrNoSession of a session cookie that does not
// open with any of session.secrets: sealed by a gateway with other
// secrets (a replica, or this one before a redeploy that dropped the old
// secret), or altered. errors.Is(ErrForeignCookie, ErrNoSession) holds.
var ErrForeignCookie = fmt.Errorf("%w: the cookie does not open with any of session.secrets", ErrNoSession)

// ErrLoggedOut is the Redis store's refusal to save a new session whose
// provider session (sid) was ended by a back-channel logout in the last
// minutes, or whose user (sub) was logged out or revoked after its sign-in
// began: the logout came while the sign-in was under way, found no session
// to end, and must not be undone by the session the sign-in creates.
var ErrLoggedOut = errors.New("session: the provider session was logged out during the sign-in")

// ErrEvicting is the Redis store's readiness refusal of a Redis that evicts
// keys (maxmemory with a policy other than noeviction): it would drop the
// index sets revocation reads long before the sessions themselves.
var ErrEvicting = errors.New("session: redis evicts keys")

// ErrTooLarge is returned by the cookie store's Save for a session whose
// cookies the gateway could not accept back (docs/sessions.md, cookie
// store): very many groups, or very large tokens.
var ErrTooLarge = errors.New("session: too large for the cookie store")

// CookieConfig configures the cookies that both stores and the login state use.
type CookieConfig struct {
	Name     string           // resolved cookie name, e.g. "__Host-portcullis"
	Domain   string           // "" = host-only
	Secure   bool             // public_url is https
	Secrets  [][]byte         // decoded secrets, >= 32 bytes each; the first seals, all open
	Lifetime time.Duration    // absolute session lifetime
	Now      func() time.Time // nil = time.Now
	// Binding ties every sealed cookie to the provider the gateway signs in
	// with (its issuer and client_id), so that two gateways sharing secrets
	// but not their provider never accept each other's sessions or login
	// states. "" binds to nothing.
	Binding string
	// Client names the provider client the sessions sign in with (issuer,
	// or authorization endpoint, and client_id). It names the Redis
	// store's index sets and logout markers, so that gateways sharing one
	// Redis database and their secrets, each with a client of its own, end
	// only their own sessions by a logout, a revocation by sub or the cap
	// on a user's sessions. "" names them by the secrets alone.
	Client string
}

// LoginState is what a login attempt must remember between the redirect to the
// provider and the callback. It lives in its own sealed cookie for 10 minutes
// and is accepted once.
type LoginState struct {
	State     string    `json:"s"`
	Nonce     string    `json:"n"`
	Verifier  string    `json:"v"`            // PKCE code_verifier (RFC 7636)
	ReturnURL string    `json:"r"`            // already validated
	Scopes    []string  `json:"sc,omitempty"` // scopes requested, when they differ from the defaults (step-up)
	StepUp    string    `json:"su,omitempty"` // route key of an incremental-authorization attempt
	IssuedAt  time.Time `json:"iat"`
}

// RedisConfig configures the Redis store (the redis_* keys of
// docs/configuration.md). Exactly one of URL, ClusterAddrs and SentinelAddrs
// is set.
type RedisConfig struct {
	URL            string // redis:// or rediss://
	ClusterAddrs   []string
	SentinelAddrs  []string
	SentinelMaster string
	Username       string
	Password       string
	// RootCAs verifies the Redis servers' TLS certificates (redis_tls_ca_file:
	// the system roots plus that file); nil = the system roots. With URL it
	// needs a rediss:// URL; with ClusterAddrs or SentinelAddrs it turns TLS on.
	RootCAs *x509.CertPool
}
