package proxy

import (
	"io"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/internal/logattr"
	"golang.org/x/net/http/httpguts"
)

// responseControlled are the response fields the gateway decides on an
// upstream's answer (dropOwnSetCookies, keepPrivate, unshareable): as
// trailer fields they would reach the client past those checks, and a
// recipient that merges trailers into the header (RFC 9110 §6.5.1 allows
// none of them there) would act on them; so would a shared cache on
// a sharedCacheField, which trailerAllowed refuses too.
var responseControlled = newHeaderSet(
	"Set-Cookie", "Set-Cookie2", "Clear-Site-Data",
	"Cache-Control", "Expires", "Pragma", "Age", "Vary",
)

// trailerGuard is the body of a forwarded answer that can end with trailer
// fields (chunked, or HTTP/2): once it is closed, which the reverse proxy
// does before copying the trailers to the client, the trailers it may not
// pass on (trailerAllowed) are gone. Trailers the upstream announced are
// filtered before the announcement is copied (guardTrailers); those it
// sends unannounced arrive with the body's end, and only Close sees them.
// It lives in the exchange.
type trailerGuard struct {
	io.ReadCloser
	h    *Handler
	resp *http.Response
}

// guardTrailers filters resp's announced trailers and, when resp can carry
// trailers at all, wraps its body in ex's trailerGuard. An HTTP/1.1 answer
// with a Content-Length has none: it costs nothing.
func (h *Handler) guardTrailers(ex *exchange, resp *http.Response) {
	h.dropTrailers(resp)
	if resp.Trailer == nil && len(resp.TransferEncoding) == 0 && resp.ProtoMajor < 2 {
		return
	}
	g := &trailerGuard{}
	if ex != nil {
		g = &ex.trailers
	}
	*g = trailerGuard{ReadCloser: resp.Body, h: h, resp: resp}
	resp.Body = g
}

// Close closes the body, which completes resp.Trailer, then filters it.
func (g *trailerGuard) Close() error {
	err := g.ReadCloser.Close()
	g.h.dropTrailers(g.resp)
	return err
}

// dropTrailers removes from resp.Trailer every field trailerAllowed refuses,
// and logs one line for them all: a line per field let one answer write
// a line for each of its trailers.
func (h *Handler) dropTrailers(resp *http.Response) {
	var first string
	n := 0
	for k := range resp.Trailer {
		if !h.trailerAllowed(k) {
			if n == 0 {
				first = k
			}
			n++
			delete(resp.Trailer, k)
		}
	}
	if n > 0 {
		h.log.Info("proxy: dropped an upstream's trailers", "upstream_host", resp.Request.URL.Host,
			"trailer", logattr.Value(first, 64), "count", n)
	}
}

// trailerAllowed reports whether an upstream's trailer field may reach the
// client: not a field RFC 9110 §6.5.1 forbids in trailers (framing,
// authentication, caching, content; Go's HTTP/2 server drops those, its
// HTTP/1.1 server sends them when they come unannounced), not one the
// gateway controls on the answer's header, and not an identity header.
// gRPC's grpc-status and grpc-message, Server-Timing and an application's
// own fields pass. A forbidden field is recognised in the spellings the
// gateway's header sets fold together ("Content.Length", "Content_Length"),
// which servers that map '_' and '.' to '-' would read as it.
func (h *Handler) trailerAllowed(name string) bool {
	dashed := dashedName.Replace(name)
	return httpguts.ValidTrailerHeader(name) && httpguts.ValidTrailerHeader(dashed) &&
		!responseControlled.has(name) && !sharedCacheField(dashed) && !h.scrub.has(name)
}

// dashedName spells a field name with '_' and '.' as '-'.
var dashedName = strings.NewReplacer("_", "-", ".", "-")
