package idp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/portcullis/portcullis/internal/redact"
)

// Bounds of what a refused token request's error quotes from the answer.
const (
	maxErrorCode        = 64
	maxErrorDescription = 200
)

// tokenEndpointError is a token request the endpoint refused, as logged:
// the status and the OAuth error (RFC 6749 §5.2), never the body. x/oauth2
// quotes an answer that is not an OAuth error object whole (up to 1 MiB)
// in its error, and anyone can make a callback fail with a made-up code: a
// page that quotes the request (a firewall's block page, a framework's
// debug page) put the code, the PKCE verifier, the refresh token and the
// client's credentials in the log, at up to 1 MiB a request.
type tokenEndpointError struct {
	text string
	err  *oauth2.RetrieveError
}

func (e *tokenEndpointError) Error() string { return e.text }

// Unwrap keeps the RetrieveError for errors.As (its ErrorCode).
func (e *tokenEndpointError) Unwrap() error { return e.err }

// tokenError returns err with a RetrieveError in it replaced by a
// tokenEndpointError; sent are the secrets of the request (code, verifier,
// refresh token), which the error and error_description it keeps never
// quote, nor the client's credentials. Other errors pass unchanged.
func (c *Client) tokenError(err error, sent ...string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	text := "the token endpoint refused the request"
	if re.Response != nil {
		text = fmt.Sprintf("the token endpoint answered %d", re.Response.StatusCode)
	}
	if re.ErrorCode != "" {
		// Redacted too: some endpoints put their message, and what it
		// quotes of the request, in error rather than error_description.
		// Cut first: redacting is then bounded. A secret the cut leaves
		// partial is still a run of it when 8 bytes or more are left;
		// fewer, next to the cut, stay (redact.MinRun).
		text += fmt.Sprintf(": %q", c.redactSent(cut(re.ErrorCode, maxErrorCode), sent))
		if d := c.redactSent(cut(re.ErrorDescription, maxErrorDescription), sent); d != "" {
			text += fmt.Sprintf(" %q", d)
		}
	} else if len(re.Body) > 0 {
		text += fmt.Sprintf(" (a body of %d bytes that is no OAuth error, not quoted)", len(re.Body))
	}
	return &tokenEndpointError{text: text + tokenErrorHint(re), err: re}
}

// tokenErrorHint is what to fix for a refusal that a deployment causes,
// not the user: a client secret (or ID) the provider does not hold, as
// after a secret rotated at the provider and not in the file, refuses
// every sign-in and every refresh with invalid_client (RFC 6749 §5.2),
// or a bare 401.
func tokenErrorHint(re *oauth2.RetrieveError) string {
	switch {
	case re.ErrorCode == "invalid_client",
		re.ErrorCode == "" && re.Response != nil && re.Response.StatusCode == 401:
		return ": the provider refuses the gateway's client credentials: check provider.client_id and " +
			"client_secret (or client_secret_file) against the client registered there"
	case re.ErrorCode == "unauthorized_client":
		return ": the provider does not allow this client the grant: enable the authorization code " +
			"and refresh token grants for provider.client_id there"
	}
	return ""
}

// cut is truncateForLog that leaves no partial UTF-8 sequence behind.
func cut(s string, n int) string { return strings.ToValidUTF8(truncateForLog(s, n), "") }

// redactSent replaces in s every secret of the request, raw or
// form-encoded, and the client's Basic credentials, whole or any part of
// redact.MinRun bytes or more: a provider's message that quotes a token's
// first characters gives them away too.
func (c *Client) redactSent(s string, sent []string) string {
	if s == "" {
		return s
	}
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.cfg.ClientID) + ":" + url.QueryEscape(c.cfg.ClientSecret)))
	vs := append(append(make([]string, 0, 2*len(sent)+4), sent...), c.cfg.ClientSecret, basic)
	for _, v := range vs { // range reads vs once: the spellings appended are not ranged over
		if q := url.QueryEscape(v); q != v {
			vs = append(vs, q)
		}
	}
	// All at once: a value removed before its form-encoded spelling cut
	// the latter's runs apart, and the bytes between stayed.
	return redact.Secrets(s, vs...)
}
