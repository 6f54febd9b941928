package idp

import (
	"errors"
	"net/http"

	"golang.org/x/oauth2"
)

// tokenRequest makes a token request, do, with the client authentication
// the provider takes. A plain OAuth 2.0 provider publishes none: Basic is
// tried first (RFC 6749 §2.3.1), and the credentials in the form only
// after an answer that refused the client's authentication
// (refusedClientAuth), which a server gives before it looks at the grant
// (RFC 6749 §5.2); once the form
// worked it is used from then on. No other failure is retried: the code
// is single-use (RFC 6749 §4.1.2: a provider that sees it twice revokes
// what it issued for it), and a rotating refresh token presented twice
// revokes the grant. x/oauth2's own detection sent any failed request a
// second time: a 5xx, a timeout, a refused code or refresh token.
func (c *Client) tokenRequest(m *metadata, do func(*oauth2.Config) (*oauth2.Token, error)) (*oauth2.Token, error) {
	if m.formAuth != nil && c.formAuth.Load() {
		return do(m.formAuth)
	}
	tok, err := do(&m.oauth)
	if err == nil || m.formAuth == nil || !refusedClientAuth(err) {
		return tok, err
	}
	if tok, err = do(m.formAuth); err == nil {
		c.formAuth.Store(true)
	}
	return tok, err
}

// refusedClientAuth reports whether err is a token endpoint's refusal of
// the client's authentication: invalid_client or a 401 (RFC 6749 §5.2),
// or a 400 that says the request lacked something, invalid_request or no
// OAuth error code at all, which a server that reads the client only from
// the form answers when it finds no client_id there. A refusal of the
// grant itself (invalid_grant, unauthorized_client, invalid_scope, ...), a
// 5xx or no answer is not one: the form would present the grant again.
func refusedClientAuth(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return false
	}
	switch re.Response.StatusCode {
	case http.StatusUnauthorized:
		return true
	case http.StatusBadRequest:
		return re.ErrorCode == "invalid_client" || re.ErrorCode == "invalid_request" || re.ErrorCode == ""
	}
	return re.ErrorCode == "invalid_client"
}
