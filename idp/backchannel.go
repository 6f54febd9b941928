package idp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// ErrRedirect means the provider answered a back-channel call (discovery,
// JWKS, token, userinfo, introspection, revocation or a provider API) with
// a redirect. Such calls never follow one: a token request carries the
// code, the PKCE verifier and perhaps the client secret, and a redirect
// would post them wherever Location points (a 307 or 308 keeps the body).
var ErrRedirect = errors.New("idp: the provider answered with a redirect, which back-channel calls never follow")

// BackChannelClient returns a copy of base (nil = a client with a 10 s
// timeout) that never follows a redirect: a 3xx answer ends the call with
// an error wrapping ErrRedirect, after the response body is closed, so no
// caller can mistake the redirect's body for the provider's answer. A base
// without a transport gets BackChannelTransport, not http.DefaultTransport.
// Every HTTP call to the provider or its APIs uses such a client; Client
// makes one from Config.HTTPClient, and hands it to x/oauth2 and go-oidc
// too. A call whose kept-alive connection the server closed before
// answering is sent once more (staleRetry).
func BackChannelClient(base *http.Client) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		c.Timeout = 10 * time.Second
	}
	c.CheckRedirect = refuseRedirect
	rt := c.Transport
	if rt == nil {
		rt = BackChannelTransport()
	}
	c.Transport = redirectRefusal{staleRetry{rt}}
	return &c
}

// redirectRefusal ends a back-channel call that its base answers with a
// redirect, before the client sees the answer: the client reports a
// redirect its CheckRedirect refused with an error whose URL is Location,
// whole, and a provider (or a proxy or debug page in front of it) that
// echoes the refused request there put the refresh token, the PKCE
// verifier, the client secret or a bearer token in the error and the log.
// The error names the endpoint instead; refuseRedirect stays as the rule
// of a transport that follows by itself.
type redirectRefusal struct{ base http.RoundTripper }

func (t redirectRefusal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || !followable(resp) {
		return resp, err
	}
	resp.Body.Close()
	return nil, fmt.Errorf("%w (%d from %s)", ErrRedirect, resp.StatusCode, endpointName(req.URL))
}

// CloseIdleConnections passes http.Client.CloseIdleConnections on.
func (t redirectRefusal) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// followable reports whether Go's client would follow resp: one of the
// redirect statuses with a Location.
func followable(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// maxProviderHeaderBytes bounds the header section of a back-channel
// answer, as maxProviderBody bounds its body: Go's transport reads up to
// 10 MiB of headers by default, per call.
const maxProviderHeaderBytes = 64 << 10

// BackChannelTransport is the transport of provider and directory calls:
// http.DefaultTransport's settings (the environment's proxies, its dial and
// handshake timeouts, HTTP/2) with each answer's header section bounded by
// maxProviderHeaderBytes. One is shared by every client, so that a reload's
// new provider client reuses the connections of the old one.
var BackChannelTransport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxResponseHeaderBytes = maxProviderHeaderBytes
	return t
})

// refuseRedirect is the CheckRedirect of BackChannelClient. req is the
// request the redirect asks for and req.Response the redirect; the error
// names the endpoint that answered it, without its query.
func refuseRedirect(req *http.Request, via []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	from := ""
	if len(via) > 0 {
		from = endpointName(via[len(via)-1].URL)
	}
	return fmt.Errorf("%w (%d from %s)", ErrRedirect, status, from)
}

// endpointName is u without userinfo, query and fragment, for messages.
func endpointName(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// getJSON GETs u (with a bearer token when not "") and returns the body of
// a 200 response, at most 1 MiB. Transport failures, redirects and 5xx
// statuses wrap ErrUnavailable; other statuses are plain errors.
func (c *Client) getJSON(ctx context.Context, u, bearer string, accept ...string) ([]byte, error) {
	body, _, err := c.getBody(ctx, u, bearer, accept...)
	return body, err
}

// getBody is getJSON that also returns the response's Content-Type: a
// userinfo endpoint may answer a signed JWT instead of JSON.
func (c *Client) getBody(ctx context.Context, u, bearer string, accept ...string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/json")
	if len(accept) > 0 {
		req.Header.Set("Accept", accept[0])
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if resp.StatusCode >= 500 {
		return nil, "", fmt.Errorf("%w: status %d", ErrUnavailable, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("idp: GET %s: status %d", endpointName(req.URL), resp.StatusCode)
	}
	return body, resp.Header.Get("Content-Type"), nil
}
