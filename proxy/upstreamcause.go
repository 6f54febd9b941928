package proxy

import (
	"net/http"

	"github.com/portcullis/portcullis/internal/redact"
)

// shownHeaders are the request headers sentRedacted leaves in an error's
// text: they name hosts, addresses and schemes, which the errors of a
// failed dial name too ("dial tcp 127.0.0.1:8080"), or the protocol an
// upgrade asked for, which the reverse proxy's error names ("backend tried
// to switch protocol ... when \"websocket\" was requested"); no secret.
var shownHeaders = map[string]bool{
	"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
	"X-Forwarded-Port": true, "X-Forwarded-Prefix": true, "Forwarded": true, "X-Real-Ip": true, "Via": true,
	"Upgrade": true,
}

// sentRedacted is err, the failure of a request sent upstream (out), with
// what that request carried taken out of its text (redact.Sent): its query
// string and its header values but the forwarding headers'. The client's
// Authorization and cookies, the access token and the assertion are among
// them, and an echoing upstream quoted them in the log line and the
// upstream span.
func sentRedacted(out *http.Request, err error) error {
	return redact.Sent(out, err, shownHeaders)
}
