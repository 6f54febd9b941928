package proxy

import (
	"net/http"
	"net/url"
)

// baseDestination puts the upstream URL's path in front of the path a
// forwarded request's Destination header names, as rewrite puts it in front
// of the request's own path. A WebDAV server acts on the Destination's path
// (a COPY or MOVE writes there): forwarded as sent, "Destination:
// /bob/notes" on an upstream "http://files/alice/" overwrote the server's
// /bob/notes, outside the part of the server the upstream's path fences,
// and a plain rename left alice's tree. The path is the normalised one the
// routes decided (decideDestination); an absolute URL names the scheme and
// the Host the upstream receives, which servers compare with their own
// (x/net/webdav, mod_dav). A value that cannot be read again (not reached:
// the decision refused it) is removed, so that nothing outside the base
// path is named.
func baseDestination(out *http.Request, up *upstream, host Host) {
	vs := out.Header["Destination"]
	if up.basePath == "" || len(vs) == 0 {
		return
	}
	path, err := destinationPath(vs[0], host)
	u, perr := url.Parse(vs[0])
	if err != nil || perr != nil || len(vs) != 1 {
		delete(out.Header, "Destination")
		return
	}
	dest := up.basePath + path
	if u.Host != "" {
		authority := out.Host
		if authority == "" {
			authority = up.target.Host
		}
		dest = up.target.Scheme + "://" + authority + dest
	}
	out.Header["Destination"] = []string{dest}
}
