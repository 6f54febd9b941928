package idp

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
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
// the first token to verify.
func (c *Client) Discover(ctx context.Context) error {
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
	algs := signingAlgs(pm.SigningAlgs)
	ep := p.Endpoint()
	// RFC 6749 §2.3.1: Basic is the method servers must support; use
	// client_secret_post only when the provider says it is all it takes.
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if len(pm.TokenAuthMethods) > 0 && !slices.Contains(pm.TokenAuthMethods, "client_secret_basic") &&
		slices.Contains(pm.TokenAuthMethods, "client_secret_post") {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	primary := c.newTrustedIssuer(c.cfg.Issuer, c.cfg.Audiences, pm.JWKSURI, algs)
	m := &metadata{
		oauth: oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
			RedirectURL: c.cfg.RedirectURL, Scopes: c.cfg.Scopes, Endpoint: ep},
		userinfoURL:      p.UserInfoEndpoint(),
		introspectionURL: cmpOr(c.cfg.IntrospectionURL, pm.Introspection),
		revocationURL:    pm.Revocation,
		endSessionURL:    pm.EndSession,
		issParameter:     pm.IssParameter,
		primary:          primary,
		idVerifier: oidc.NewVerifier(c.cfg.Issuer, primary.keys, &oidc.Config{
			ClientID: c.cfg.ClientID, SupportedSigningAlgs: algs, SkipExpiryCheck: true, Now: c.now}),
	}
	c.meta.Store(m)
	return nil
}
