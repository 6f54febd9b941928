package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"

	"github.com/portcullis/portcullis/internal/ascii"
)

// exportOrigin is the http/protobuf exporter's proxy function: the
// environment's proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as the SDK's
// own default, for a request on the collector's origin, and an error for
// a redirect to any other. Go's client follows a collector's redirect and
// keeps every header but Authorization and Cookie on another host, so
// OTEL_EXPORTER_OTLP_HEADERS (an API key) went with the spans to wherever
// Location pointed.
//
// OTLP/HTTP defines no redirect (200 is success, 4xx and 5xx failures;
// anything else is left to HTTP, which lets a client decline to follow),
// so refusing every redirect would be the plain answer; but the transport
// asks its proxy function only before a new connection or an HTTP/1.1
// request, and an HTTP/2 redirect on a connection already open to the
// collector never reaches it. What it does see without exception is a
// connection to a new origin, and that is the line drawn: a redirect on
// the collector's origin (scheme, host, port) reaches the party that
// already holds the headers and is followed; one to any other origin is
// refused before a byte is sent. This is a proxy function rather than an
// HTTP client of our own (WithHTTPClient) because the SDK then keeps its
// own transport: the CA, client certificate and key, and timeout that the
// OTEL_EXPORTER_OTLP_* variables set still apply exactly as it documents.
func exportOrigin(req *http.Request) (*url.URL, error) {
	if req.Response != nil && req.Response.Request != nil && !sameOrigin(req.URL, req.Response.Request.URL) {
		return nil, &redirectRefused{from: req.Response.Request.URL, status: req.Response.StatusCode}
	}
	return http.ProxyFromEnvironment(req)
}

var _ otlptracehttp.HTTPTransportProxyFunc = exportOrigin

// sameOrigin reports whether a and b have the same scheme, host and port
// (RFC 6454 §4), a port left out being the scheme's default, in ASCII case
// only, as the project compares every name (strings.EqualFold takes the
// Kelvin sign for k).
func sameOrigin(a, b *url.URL) bool {
	return ascii.EqualFold(a.Scheme, b.Scheme) && ascii.EqualFold(a.Hostname(), b.Hostname()) &&
		originPort(a) == originPort(b)
}

func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if ascii.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// redirectRefused is a collector's redirect to another origin, refused.
// Its text names the collector's origin and the status, never where the
// redirect pointed: the Location is the answering party's to fill, with
// anything the request carried included.
type redirectRefused struct {
	from   *url.URL
	status int
}

func (e *redirectRefused) Error() string {
	return fmt.Sprintf("tracing: the collector at %s answered %d %s, a redirect to another origin: refused "+
		"(it would carry the export's headers there); name the collector's final URL",
		shownOTLPEndpoint(e.from.Scheme+"://"+e.from.Host), e.status, http.StatusText(e.status))
}

// asRedirectRefused is err's redirectRefused alone when it holds one: Go's
// client reports the failed request as a url.Error quoting its URL, the
// Location whole.
func asRedirectRefused(err error) error {
	var r *redirectRefused
	if errors.As(err, &r) {
		return r
	}
	return err
}
