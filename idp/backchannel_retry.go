package idp

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"syscall"
)

// staleRetry sends a back-channel call once more, on another connection,
// when the kept-alive connection it went out on was closed by the server
// before any answer: the race of every HTTP/1.1 client with a server's
// idle timeout (Node's 5 s, Apache's 5 s, a load balancer's), where the
// request is written just as the server closes the connection. Go's
// transport retries such a call only when it is idempotent (a GET), so a
// token request, a refresh, an introspection or a revocation failed with
// "EOF" now and then, and a refresh that fails after the access token
// expired ends the session.
//
// The retry is safe for the POSTs too. A server that closed an idle
// connection never read the request. One that read it and died before
// answering consumed the code or rotated the refresh token, whose answer is
// lost either way: the retry is refused with invalid_grant, which is what
// the next use of the old refresh token would get. Only one retry, only on
// a reused connection (a fresh one that closes is a failing server), only
// for a body that can be sent again, and never after the caller's context
// ended.
type staleRetry struct{ base http.RoundTripper }

func (t staleRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	reused := false
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	resp, err := t.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil || !reused || req.Context().Err() != nil || !closedBeforeAnswer(err) {
		return resp, err
	}
	again, ok := rewound(req)
	if !ok {
		return resp, err
	}
	// The other idle connections went idle with this one (a burst of
	// calls) and the server's timeout closes them together: the retry
	// would take the next and fail the same way. It dials anew.
	t.CloseIdleConnections()
	return t.base.RoundTrip(again)
}

// CloseIdleConnections passes http.Client.CloseIdleConnections on.
func (t staleRetry) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// closedBeforeAnswer reports whether err is the peer closing the
// connection (peerClosed), or Go's own "server closed idle connection"
// (unexported, so matched by its text).
func closedBeforeAnswer(err error) bool {
	return peerClosed(err) || strings.Contains(err.Error(), "server closed idle connection")
}

// peerClosed reports whether err is the peer closing the connection: end
// of stream, a reset or a broken pipe. DirectoryError.Outage counts it as
// no answer too.
func peerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// rewound is a copy of req with its body from the start, when it has none
// or GetBody can make it again.
func rewound(req *http.Request) (*http.Request, bool) {
	again := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return again, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	again.Body = body
	return again, true
}
