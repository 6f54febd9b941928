package idp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// clientAuth is the one choice of the client authentication for the token,
// introspection and revocation endpoints. style is the method the
// endpoint's own metadata names (oauth2.AuthStyleAutoDetect: none, so as
// the token endpoint). form reports the credentials go in the form rather
// than Basic; probing, that Basic is sent only because a plain OAuth 2.0
// provider has not refused it yet (RFC 6749 §2.3.1: the method servers
// must support), so a refusal of the client may be answered with the form.
func (c *Client) clientAuth(m *metadata, style oauth2.AuthStyle) (form, probing bool) {
	if style == oauth2.AuthStyleAutoDetect {
		if m.formAuth != nil {
			form = c.formAuth.Load()
			return form, !form
		}
		style = m.oauth.Endpoint.AuthStyle
	}
	return style == oauth2.AuthStyleInParams, false
}

// authStyleOf is the method a list of *_endpoint_auth_methods_supported
// (RFC 8414 §2, OIDC Discovery 1.0 §3) makes the gateway use: Basic when
// listed, the form when it is the only one of the two listed, else
// oauth2.AuthStyleAutoDetect (no word on either).
func authStyleOf(methods []string) oauth2.AuthStyle {
	for _, want := range [...]struct {
		name  string
		style oauth2.AuthStyle
	}{{"client_secret_basic", oauth2.AuthStyleInHeader}, {"client_secret_post", oauth2.AuthStyleInParams}} {
		for _, m := range methods {
			if m == want.name {
				return want.style
			}
		}
	}
	return oauth2.AuthStyleAutoDetect
}

// discoveredClientAuth sets the client authentication of m's endpoints
// from its discovery document pm. The token endpoint's: Basic, the method
// servers must support (RFC 6749 §2.3.1) and OIDC Discovery's default,
// unless the provider says client_secret_post is all it takes. The
// document's word on introspection is about its own endpoint, not another
// one introspection_url names.
func (m *metadata) discoveredClientAuth(pm *providerMetadata) {
	m.oauth.Endpoint.AuthStyle = authStyleOf(pm.TokenAuthMethods)
	if m.oauth.Endpoint.AuthStyle == oauth2.AuthStyleAutoDetect {
		m.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	if m.introspectionURL == pm.Introspection {
		m.introspectionAuth = authStyleOf(pm.IntrospectionAuthMethods)
	}
	m.revocationAuth = authStyleOf(pm.RevocationAuthMethods)
}

// tokenRequest makes a token request, do, with the client authentication
// clientAuth chooses. A plain OAuth 2.0 provider publishes none: Basic is
// tried first, and the credentials in the form only after an answer that
// refused the client's authentication (refusedClientAuth), which a server
// gives before it looks at the grant (RFC 6749 §5.2); once the form
// worked it is used from then on. No other failure is retried: the code
// is single-use (RFC 6749 §4.1.2: a provider that sees it twice revokes
// what it issued for it), and a rotating refresh token presented twice
// revokes the grant. x/oauth2's own detection sent any failed request a
// second time: a 5xx, a timeout, a refused code or refresh token.
func (c *Client) tokenRequest(m *metadata, do func(*oauth2.Config) (*oauth2.Token, error)) (*oauth2.Token, error) {
	form, probing := c.clientAuth(m, oauth2.AuthStyleAutoDetect)
	conf := &m.oauth
	if form && m.formAuth != nil {
		conf = m.formAuth
	}
	tok, err := do(conf)
	if err == nil || !probing || !refusedClientAuth(err) {
		return tok, err
	}
	if tok, err = do(m.formAuth); err == nil {
		c.formAuth.Store(true)
	}
	return tok, err
}

// postForm POSTs form to u, the introspection or revocation endpoint,
// whose own method is style, with the client authentication clientAuth
// chooses, and returns the answer's status and body (at most 1 MiB).
// Probing, an answer that refused the client (refusedClient) is followed
// by the same form with the credentials in it, once: the server refused
// before it looked at the token (RFC 7662 §2.1, RFC 7009 §2.1), so the
// token is acted on at most once; a form that worked is used from then on,
// at the token endpoint too. No other answer is sent again.
func (c *Client) postForm(ctx context.Context, m *metadata, style oauth2.AuthStyle, u string, form url.Values) (int, []byte, error) {
	inForm, probing := c.clientAuth(m, style)
	status, body, err := c.post(ctx, u, form, inForm)
	if err != nil || !probing || !refusedClient(status, oauthErrorCode(body)) {
		return status, body, err
	}
	if status, body, err = c.post(ctx, u, form, true); err == nil && status == http.StatusOK {
		c.formAuth.Store(true)
	}
	return status, body, err
}

// post POSTs form to u with client_secret_post (inForm) or
// client_secret_basic authentication (RFC 6749 §2.3.1: id and secret
// form-urlencoded before Basic encoding).
func (c *Client) post(ctx context.Context, u string, form url.Values, inForm bool) (int, []byte, error) {
	if inForm {
		form = maps.Clone(form)
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !inForm {
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// oauthErrorCode is the error member of an OAuth error answer (RFC 6749
// §5.2): a JSON object's, else a form-encoded body's error parameter (as
// some servers answer); "" when body has none. It is read alone: a
// member of another type ("expires_in":"x") does not hide it.
func oauthErrorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil || e.Error != "" {
		return e.Error
	}
	f, _ := url.ParseQuery(string(body))
	return f.Get("error")
}

// refusedClientAuth is refusedClient for a token endpoint's answer.
// x/oauth2 reads no error code from an answer any member of which it
// cannot type, or whose content type is not the one it is written in:
// such a refusal of the grant was taken for a 400 with no code, and the
// grant presented again with the form.
func refusedClientAuth(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return false
	}
	code := re.ErrorCode
	if code == "" {
		code = oauthErrorCode(re.Body)
	}
	return refusedClient(re.Response.StatusCode, code)
}

// refusedClient reports whether an answer of status with the OAuth error
// code is a refusal of the client's authentication: invalid_client or a
// 401 (RFC 6749 §5.2), or a 400 that says the request lacked something,
// invalid_request or no OAuth error code at all, which a server that
// reads the client only from the form answers when it finds no client_id
// there. A refusal of the grant itself (invalid_grant,
// unauthorized_client, invalid_scope, ...), a 5xx or no answer is not
// one: the form would present the grant again.
func refusedClient(status int, code string) bool {
	switch {
	case status < 400:
		return false
	case status == http.StatusUnauthorized:
		return true
	case status == http.StatusBadRequest:
		return code == "invalid_client" || code == "invalid_request" || code == ""
	}
	return code == "invalid_client"
}
