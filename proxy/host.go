package proxy

import (
	"net/http"

	"github.com/portcullis/portcullis/policy"
)

// Host is a request's host parsed by the one Host rule (policy.ParseHost),
// which routes, return URLs and forward-auth's checks read hosts by too.
type Host = policy.Host

// requestHost is the one host a request is decided, forwarded and logged
// under (docs/requests.md, Host): the Host header (HTTP/2's :authority) or,
// from a trusted proxy that sends one, its X-Forwarded-Host, the host the
// client asked that proxy for. The upstream receives this host as its
// X-Forwarded-Host (setForwarded), so an application that believes the
// header acts on the host the routes decided, never on another. Both follow
// the Host rule; an X-Forwarded-Host given twice is refused.
func requestHost(r *http.Request, trusted bool) (Host, error) {
	host, err := policy.ParseHost(r.Host)
	if err != nil {
		return Host{}, badRequest("the request's Host is not acceptable", err)
	}
	if err := oneHost(r, host); err != nil {
		return Host{}, err
	}
	if !trusted {
		return host, nil
	}
	v, err := singleHeader(r, "X-Forwarded-Host")
	if err != nil || v == "" {
		return host, err
	}
	if host, err = policy.ParseHost(v); err != nil {
		return Host{}, badRequest("the forwarded host is not acceptable", err)
	}
	return host, nil
}

// oneHost refuses an HTTP/2 request that names another host than its
// :authority (RFC 9113 §8.3.1 calls it malformed): in a Host field, which
// Go's server leaves in the header beside :authority, or in an
// absolute-form :path, which it parses into r.URL. The gateway decides and
// forwards :authority's host alone, but a component in front of it that
// read the other host would have decided another request. Over HTTP/1.x a
// request has one host: Go's server takes an absolute-form target's host
// and drops the Host field.
func oneHost(r *http.Request, host Host) error {
	if r.ProtoMajor < 2 {
		return nil
	}
	for _, v := range r.Header["Host"] {
		if err := sameHost(v, host); err != nil {
			return err
		}
	}
	if r.URL.Host != "" {
		return sameHost(r.URL.Host, host)
	}
	return nil
}

// sameHost refuses v unless it parses to host (canonical forms compared).
func sameHost(v string, host Host) error {
	h, err := policy.ParseHost(v)
	if err != nil || h.String() != host.String() {
		return badRequest("the request names two different hosts", err)
	}
	return nil
}
