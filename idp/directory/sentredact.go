package directory

import (
	"net/http"

	"github.com/portcullis/portcullis/internal/redact"
)

// sentRedacted is err, a transport's failure of req, with what req carried
// taken out of the text (redact.Sent): its query (raw and decoded) and its
// header values, the token included. Go's transport quotes the peer's first
// line when it is no HTTP status line, and a directory, or an egress proxy
// before it, that answers with what it got makes that line the request
// line: its query names the user (userKey=ann%40acme.com), where errors
// name a URL without its query (redactURL). err still unwraps to itself.
func sentRedacted(err error, req *http.Request) error {
	return redact.Sent(req, err, nil)
}
