package proxy

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/policy"
)

// workerAllowed is the header with which an answer to a service worker's
// script widens the scope the browser lets the worker control past the
// script's own directory (W3C Service Workers, "Service-Worker-Allowed").
const workerAllowed = "Service-Worker-Allowed"

// keepWorkerScope removes an upstream's Service-Worker-Allowed unless the
// path it names is one the routes send to the upstream that answered
// (docs/requests.md, request hygiene): a worker answers every request of
// the origin under its scope, so an application under /hostile/ whose
// script allowed "/" registered a worker that answered the other
// applications' requests on its host and the gateway's own (a sign-out it
// faked). A scope that names another origin, does not resolve, or comes
// on several lines is removed too. Without the field a worker's scope is
// limited by its script's directory, which may hold another's paths
// (/public/sw.js above /public/other/): for a worker's script (asked, the
// request's header, has Service-Worker) the limit is then scriptScope.
func (h *Handler) keepWorkerScope(ex *exchange, asked, hdr http.Header) error {
	vals := hdr[workerAllowed]
	script := asked["Service-Worker"] != nil
	if vals == nil && !script {
		return nil // the hot path: two map lookups, no allocation
	}
	if len(vals) == 1 && h.ownsScope(ex, vals[0]) {
		return nil
	}
	delete(hdr, workerAllowed)
	if script && ex != nil && !h.ownsScope(ex, "./") {
		return h.scriptScope(ex, hdr)
	}
	return nil
}

// scriptScope limits the scope of a worker whose script's directory is not
// its application's to the script's path as a directory (/public/sw.js/).
// The path itself (/public/sw.js) was the limit, and a scope controls every
// URL it is a prefix of: a script at /hostile, which /hostile/** matches,
// had Chromium register its worker for "/hostile", over another
// application's /hostile-admin/. A directory is checked like any scope;
// when even that one holds another's paths the script is refused (502), so
// that no worker's scope is left to its script's directory.
func (h *Handler) scriptScope(ex *exchange, hdr http.Header) error {
	limit := ex.path
	if !strings.HasSuffix(limit, "/") {
		limit += "/"
	}
	if !h.ownsScope(ex, limit) {
		return errors.New("proxy: a service worker script whose scope would hold another upstream's paths")
	}
	hdr[workerAllowed] = []string{limit}
	return nil
}

// ownsScope reports whether every path the scope v controls, resolved
// against the request's path, is routed (as a GET on the request's host)
// to the upstream of the route that decided the request, and to no other
// upstream by any method. A scope controls every URL it is a prefix of:
// "/a/" the paths beneath /a/, "/a/b" those of /a/ whose next segment
// starts with b (/a/bc/), so such a scope is checked as its directory.
func (h *Handler) ownsScope(ex *exchange, v string) bool {
	if ex == nil || ex.dec.route == nil {
		return false
	}
	ref, err := url.Parse(strings.TrimSpace(v))
	if err != nil || ref.Scheme != "" || ref.Host != "" || ref.Opaque != "" || strings.HasPrefix(ref.Path, "//") {
		return false
	}
	base, err := url.Parse(ex.path)
	if err != nil {
		return false
	}
	scope, err := policy.Normalize(base.ResolveReference(ref).EscapedPath())
	if err != nil {
		return false
	}
	own := h.upstreamFor(ex.dec.route)
	route := h.cfg.Routes.Match(http.MethodGet, ex.host.Name, scope)
	return own != nil && route != nil && h.upstreamFor(route) == own &&
		h.onlyUpstreamBeneath(own, ex.host.Name, scope[:strings.LastIndexByte(scope, '/')+1])
}

// onlyUpstreamBeneath reports whether the routes send the directory dir
// ("/a/") and every path beneath it, by any method on host, to up alone:
// a route to another upstream, or to none, is another's path.
func (h *Handler) onlyUpstreamBeneath(up *upstream, host, dir string) bool {
	t := h.cfg.Routes
	only := true
	for _, m := range t.Methods() {
		if r := t.Match(m, host, dir); r != nil && h.upstreamFor(r) != up {
			return false
		}
		t.Beneath(m, host, dir, policy.Infinity, math.MaxInt, func(r *policy.Route) {
			only = only && h.upstreamFor(r) == up
		})
		if !only {
			return false
		}
	}
	return true
}
