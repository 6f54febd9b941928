package directory

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/internal/redact"
)

// sentRedacted is err, a transport's failure of req, with req's query (raw
// and decoded) and its token taken out of the text, whole or any run of
// redact.MinRun bytes. Go's transport quotes the peer's first line when it
// is no HTTP status line, and a directory, or an egress proxy before it,
// that answers with what it got makes that line the request line: its
// query names the user (userKey=ann%40acme.com), where errors name a URL
// without its query (redactURL). err still unwraps to itself.
func sentRedacted(err error, req *http.Request) error {
	var sent []string
	if q := req.URL.RawQuery; q != "" {
		sent = append(sent, q)
		if d, derr := url.QueryUnescape(q); derr == nil && d != q {
			sent = append(sent, d)
		}
	}
	if _, token, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok {
		sent = append(sent, token)
	}
	// Cut first, as the log line cuts it: redacting is then bounded (the
	// text quotes up to a response header's worth of the peer's line).
	return redact.Error(err, logattr.Truncate(err.Error(), logattr.MaxCause), sent...)
}
