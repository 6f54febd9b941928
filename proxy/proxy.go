// Package proxy is the gateway's http.Handler: the gateway endpoints under the
// prefix, the per-request decision flow, forwarding with
// httputil.ReverseProxy.Rewrite, forward-auth, the identity assertion and its
// JWKS, error pages and request metrics.
package proxy

import (
	"context"
	"crypto"
	"crypto/x509"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/session"
)

// Login is what signing in needs from the identity provider: the
// authorization request and the code exchange.
type Login interface {
	Ready() bool
	Issuer() string
	IssuerParameterSupported() bool
	AuthCodeURL(state, nonce, verifier string, scopes []string) (string, error)
	// Exchange's started is when the authorization request was made
	// (the login state's IssuedAt): max_age counts back from it.
	Exchange(ctx context.Context, code, verifier, nonce string, started time.Time) (*idp.Tokens, *portcullis.Identity, error)
}

// Logout is what ending sessions needs from the identity provider: RFC 7009
// revocation, RP-initiated logout and back-channel logout tokens.
type Logout interface {
	Issuer() string
	Revoke(ctx context.Context, refreshToken string) error
	// Revocable reports whether the provider publishes a revocation
	// endpoint: without one, Revoke has nothing to call and the grant
	// lives on at the provider.
	Revocable() bool
	EndSessionURL(idTokenHint, state, postLogoutRedirectURI string) string
	VerifyLogoutToken(ctx context.Context, raw string) (sub, sid string, err error)
	MarkLogoutTokenUsed(ctx context.Context, raw string) error
}

// Verifier is what establishing a request's identity needs from the identity
// provider: bearer-token verification and the refresh of a session's tokens.
type Verifier interface {
	VerifyBearer(ctx context.Context, token string) (*portcullis.Identity, error)
	Refresh(ctx context.Context, refreshToken string, prev *portcullis.Identity) (*idp.Tokens, *portcullis.Identity, error)
}

// Provider is everything the proxy needs from the identity provider;
// *idp.Client implements it.
type Provider interface {
	Login
	Logout
	Verifier
}

var _ Provider = (*idp.Client)(nil)

// Config configures a Handler. Fields marked "from config" come from the TOML
// file through package config; the rest are wired by cmd.
type Config struct {
	PublicURL            *url.URL       // from config; required
	Prefix               string         // from config; default "/oauth2"
	TrustedProxies       []netip.Prefix // from config
	AllowedRedirectHosts []string       // from config: "host", "host:port", "*.example.com"
	Upstreams            []Upstream     // from config
	Headers              Headers        // from config
	Refresh              bool           // from config: session.refresh
	RefreshMargin        time.Duration  // from config: session.refresh_margin
	GroupsRefresh        time.Duration  // from config: provider.groups_refresh; 0 = 10m
	SessionLifetime      time.Duration  // from config: session.lifetime; 0 = 12h
	Branding             Branding       // from config: [branding]
	// SignOutKeepsGrant (from config: provider.revoke_on_sign_out = false)
	// keeps the grant at a sign-out: the session ends here and the
	// end-session redirect is still made, but its refresh token is not
	// revoked at the provider, where a revocation may end more than this
	// session (Google's ends every session of the user at this client,
	// docs/sessions.md). false (the default) revokes.
	SignOutKeepsGrant bool

	Routes       *policy.Table
	Provider     Provider
	Sessions     session.Store // a session.Revoker too (the redis store) enables back-channel logout
	LoginStates  *session.StateCookies
	AssertionKey crypto.Signer // from config (headers.assertion_key_file) or cmd; nil = generate an ES256 key at New
	// AssertionPublishedKeys are listed in jwks.json after AssertionKey but
	// never sign: from config, the further keys of headers.assertion_key_file
	// (ParseAssertionKeys), for a rotation across replicas.
	AssertionPublishedKeys []crypto.PublicKey
	// RetiredAssertionKey is the public key that signed assertions before
	// AssertionKey replaced it (cmd tracks it across reloads): jwks.json
	// still lists it until RetiredAssertionKeyUntil, so that assertions it
	// signed verify to their end. Its private key is never needed. nil = none.
	RetiredAssertionKey      crypto.PublicKey
	RetiredAssertionKeyUntil time.Time

	Metrics prometheus.Registerer // nil = no metrics
	Logger  *slog.Logger          // nil = discard
	Now     func() time.Time      // nil = time.Now

	// Tracer records OpenTelemetry spans for requests, policy decisions and
	// upstream calls, and propagates W3C trace context upstream; nil = no
	// tracing, and no OTel code runs per request.
	Tracer trace.TracerProvider

	// UpgradeRecheck is how often an upgraded connection's (a WebSocket's)
	// session or bearer token is looked up again, to close the connection
	// once it is signed out or revoked; 0 = 10s.
	UpgradeRecheck time.Duration

	// Live returns the handler of the configuration in force (cmd: after
	// reloads), with which open connections and answers are checked again
	// every UpgradeRecheck: its routes, provider and session store. nil,
	// or a nil result, = this handler.
	Live func() *Handler

	// OwnListener reports whether a connection to addr would reach one of
	// the gateway's own listeners; an upstream connection there is refused
	// (502). The file's upstreams are checked against them (config), but a
	// name that resolves to this host is not: served, it would put the ops
	// listener's /metrics and profiler behind a route, or loop. nil = none.
	OwnListener func(addr netip.AddrPort) bool

	// ShuttingDown reports that the process has begun to shut down; then
	// {prefix}/healthz answers 503. nil = never.
	ShuttingDown func() bool
}

// Upstream is one [[upstreams]] entry.
type Upstream struct {
	Name         string
	URL          *url.URL
	PreserveHost bool
	Timeout      time.Duration // response-header timeout; 0 = 30s
	// FlushInterval is httputil.ReverseProxy's: 0 (the default) flushes
	// server-sent events and bodies of unknown length at once and buffers
	// the rest; negative flushes after every write; positive periodically.
	FlushInterval time.Duration
	RootCAs       *x509.CertPool // from tls_ca_file: the system roots plus that file; nil = the system roots
	TLSSkipVerify bool
	// AssertionAudience is the aud of the assertion sent to this upstream;
	// "" derives it from the route's host or public_url (docs/headers.md).
	AssertionAudience string
}

// Headers names the identity headers sent upstream (docs/configuration.md, [headers]); an
// empty name disables that header.
type Headers struct {
	User              string
	Email             string
	Groups            string
	PreferredUsername string
	AccessToken       string
	Assertion         string
	Claims            map[string]string // header name -> dotted claim path
}
