package proxy

import "net/http"

// keepUnlabelled keeps an upstream's answer that names no Content-Type
// without one on its way to the client (docs/requests.md, answers). Go's
// server labels a body whose header has no Content-Type from its first 512
// bytes, which a reverse proxy inherits: an upload that starts with <html>
// became "text/html; charset=utf-8", and the browser ran it as a page on
// the gateway's origin, over the application's X-Content-Type-Options:
// nosniff, which had kept every browser from doing so. A Content-Type
// entry with no value stops the server's sniffing and writes no field; the
// browser then reads the answer as it would from the application itself.
// h is the upstream's answer's header, client the header of the answer
// being written.
func keepUnlabelled(h, client http.Header) {
	if _, labelled := h["Content-Type"]; !labelled {
		client["Content-Type"] = nil
	}
}
