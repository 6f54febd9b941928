package idp

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/internal/panicerr"
	"golang.org/x/oauth2"
)

// providerMetadata are the discovery members go-oidc does not expose
// (OIDC Discovery 1.0 §3, RFC 8414 §2, RFC 9207 §3).
type providerMetadata struct {
	JWKSURI          string   `json:"jwks_uri"`
	Introspection    string   `json:"introspection_endpoint"`
	Revocation       string   `json:"revocation_endpoint"`
	EndSession       string   `json:"end_session_endpoint"`
	IssParameter     bool     `json:"authorization_response_iss_parameter_supported"`
	SigningAlgs      []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	// RFC 8414 §2: when omitted, "determined by other means"; the gateway
	// uses the token endpoint's.
	IntrospectionAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
}

// maxErrorText bounds the text of an error that quotes a provider's answer
// (go-oidc puts a failed discovery's whole body in its error), which is
// logged on every retry.
const maxErrorText = 512

// shortenedError is an error whose text is cut at maxErrorText.
type shortenedError struct {
	text string
	err  error
}

func (e *shortenedError) Error() string { return e.text }
func (e *shortenedError) Unwrap() error { return e.err }

// shortened returns err, with its text cut when it is longer than maxErrorText.
func shortened(err error) error {
	if s := err.Error(); len(s) > maxErrorText {
		return &shortenedError{text: strings.ToValidUTF8(s[:maxErrorText], "") + "… (cut)", err: err}
	}
	return err
}

// Discover loads provider metadata (OIDC discovery, JWKS set-up). Plain OAuth
// 2.0 and GitHub clients are ready without it. Keys are fetched lazily, on
// the first token to verify. A panic reading the provider's answer is its
// error (panicerr): the gateway discovers in a goroutine of its own, at
// start and on a reload, where it ended the process at every restart; the
// metadata is stored last, so the client stays as it was.
func (c *Client) Discover(ctx context.Context) (err error) {
	defer panicerr.Recover(&err, "idp: discovery of "+c.cfg.Issuer)
	return c.discover(ctx)
}

// discover is Discover's work.
func (c *Client) discover(ctx context.Context) error {
	if !c.isOIDC() {
		return nil
	}
	p, err := oidc.NewProvider(c.providerCtx(ctx, "discovery"), c.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("idp: discovery of %s: %w", c.cfg.Issuer, shortened(err))
	}
	var pm providerMetadata
	if err := p.Claims(&pm); err != nil {
		return fmt.Errorf("idp: discovery of %s: %w", c.cfg.Issuer, err)
	}
	if pm.JWKSURI == "" {
		return fmt.Errorf("idp: discovery of %s: no jwks_uri", c.cfg.Issuer)
	}
	// A jwks_uri that cannot be used is as none: no token would verify.
	if why := endpointProblem(c.cfg.Issuer, pm.JWKSURI); why != "" {
		return fmt.Errorf("idp: discovery of %s: the provider's jwks_uri %s %s, so no token can be verified: %s",
			c.cfg.Issuer, shownEndpoint(pm.JWKSURI), why, endpointFix(why))
	}
	ep := p.Endpoint()
	if err := c.checkSignInEndpoints(ep, p.UserInfoEndpoint()); err != nil {
		return err
	}
	algs := signingAlgs(pm.SigningAlgs)
	primary := c.newTrustedIssuer(c.cfg.Issuer, c.cfg.Audiences, pm.JWKSURI, algs)
	m := &metadata{
		oauth: oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
			RedirectURL: c.cfg.RedirectURL, Scopes: c.cfg.Scopes, Endpoint: ep},
		userinfoURL:      p.UserInfoEndpoint(),
		introspectionURL: c.cfg.IntrospectionURL,
		revocationURL:    c.optionalEndpoint("revocation_endpoint", pm.Revocation, "a sign-out revokes no refresh token"),
		endSessionURL:    c.optionalEndpoint("end_session_endpoint", pm.EndSession, "a sign-out ends the session at the gateway only, not at the provider"),
		issParameter:     pm.IssParameter,
		primary:          primary,
		idVerifier: oidc.NewVerifier(c.cfg.Issuer, primary.keys, &oidc.Config{
			ClientID: c.cfg.ClientID, SupportedSigningAlgs: algs, SkipExpiryCheck: true, Now: c.now}),
	}
	if m.introspectionURL == "" {
		m.introspectionURL = c.optionalEndpoint("introspection_endpoint", pm.Introspection, "opaque bearer tokens are refused")
	}
	m.discoveredClientAuth(&pm)
	c.meta.Store(m)
	return nil
}

// checkSignInEndpoints holds the endpoints a sign-in uses to the rule of
// endpointProblem: the browser brings the user's credentials to the
// authorization endpoint, the client secret and the code go to the token
// endpoint, the access token to userinfo. An unusable one fails discovery
// as an unusable jwks_uri does (none is optional to a sign-in that uses it;
// userinfo may be absent).
func (c *Client) checkSignInEndpoints(ep oauth2.Endpoint, userinfo string) error {
	for _, e := range [...]struct{ name, raw string }{
		{"authorization_endpoint", ep.AuthURL}, {"token_endpoint", ep.TokenURL}, {"userinfo_endpoint", userinfo},
	} {
		if e.raw == "" && e.name == "userinfo_endpoint" {
			continue
		}
		if why := endpointProblem(c.cfg.Issuer, e.raw); why != "" {
			return fmt.Errorf("idp: discovery of %s: the provider's %s %s %s, so no sign-in can be made: %s",
				c.cfg.Issuer, e.name, shownEndpoint(e.raw), why, endpointFix(why))
		}
	}
	return nil
}

// optionalEndpoint returns the discovered endpoint raw of the member name
// when it can be used (endpointProblem), else "" as if the document listed
// none, with one warning at discovery that says what is lost (without):
// dropped silently, a malformed end_session_endpoint made every sign-out
// local-only, and one that failed at use logged at every sign-out.
func (c *Client) optionalEndpoint(name, raw, without string) string {
	if raw == "" {
		return ""
	}
	why := endpointProblem(c.cfg.Issuer, raw)
	if why == "" {
		return raw
	}
	c.cfg.Logger.Warn("idp: discovery: the provider's "+name+" cannot be used; "+without,
		"issuer", c.cfg.Issuer, "endpoint", shownEndpoint(raw), "problem", why, "fix", endpointFix(why))
	return ""
}

// problemHTTPUnderHTTPS is endpointProblem's answer for an http endpoint
// under an https issuer.
const problemHTTPUnderHTTPS = "is http under an https issuer"

// endpointFix says what to change at the provider for an endpoint with the
// problem why (endpointProblem). An http endpoint under an https issuer is
// nearly always a provider behind a TLS-terminating proxy that builds its
// back-channel URLs from the plain http request it was given (Keycloak with
// an https frontendUrl or hostname but no proxy headers): the fix is there,
// not in the gateway's configuration.
func endpointFix(why string) string {
	if why == problemHTTPUnderHTTPS {
		return "the provider takes itself to be reached over http; behind a TLS-terminating proxy, " +
			"have it trust the proxy's X-Forwarded-Proto or give it its public https URL " +
			"(Keycloak: --proxy-headers xforwarded, or --hostname with the full https URL)"
	}
	return "the provider's discovery document must give an absolute https URL with no fragment or user information"
}

// shownEndpoint is raw as it may be logged: as logattr.Value shows it,
// and without the user information of its authority (a password), parsed
// or not, as any reader may find it: after the scheme and any slashes or
// backslashes ("//user:pw@host" has no scheme; WHATWG URLs read
// "https:/user:pw@host" and "https:\\user:pw@host" as having one).
func shownEndpoint(raw string) string {
	rest, scheme := raw, ""
	if i := strings.IndexByte(raw, ':'); i > 0 && !strings.ContainsAny(raw[:i], "/?#@\\") {
		scheme, rest = raw[:i+1], raw[i+1:]
	}
	slashes := len(rest) - len(strings.TrimLeft(rest, "/\\"))
	scheme, rest = scheme+rest[:slashes], rest[slashes:]
	end := strings.IndexAny(rest, "/\\?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	return logattr.Value(strings.ToValidUTF8(scheme+rest, "?"), 200)
}

// endpointProblem says why a URL a discovery document gives for an
// endpoint cannot be used, "" when it can: it must be an absolute http(s)
// URL with a host and no fragment (RFC 6749 §3.1-3.2, RFC 8414 §2), and
// https when the issuer is (OIDC Discovery 1.0 §3, RP-Initiated Logout 1.0
// §2.1, RFC 7009 §2: client credentials, tokens and keys travel there); an
// http issuer (a loopback one, or one check warns about) may list http ones.
func endpointProblem(issuer, raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "https" && u.Scheme != "http", u.Hostname() == "":
		return "is not an absolute http(s) URL"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "has a fragment"
	case u.User != nil:
		return "has user information"
	case u.Scheme == "http" && strings.HasPrefix(strings.ToLower(issuer), "https:"):
		return problemHTTPUnderHTTPS
	}
	return ""
}
