package proxy

import (
	"strings"
	"testing"
)

// TestChunkedBodyFramingNeverSmuggles replays Go's published chunked-body
// advisories at the gateway's listener: a bare LF ending a chunk-size line
// inside its extension (CVE-2025-22871, which a front proxy that ends the
// line at CRLF reads as one chunk and Go read as another), chunk extensions
// that cost the server far more than the data (CVE-2023-39326), and chunk
// sizes spelt in ways other parsers read otherwise (a sign, "0x", too many
// digits). Each request is a public POST followed by a request for a
// protected path: the gateway answers an error and closes, the protected
// request never reaches the upstream, and no body reaches it altered.
func TestChunkedBodyFramingNeverSmuggles(t *testing.T) {
	const head = "POST /public/x HTTP/1.1\r\nHost: gw.test\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
	const next = "GET /admin/x HTTP/1.1\r\nHost: gw.test\r\n\r\n"
	flood := strings.Repeat("1;"+strings.Repeat("x", 1024)+"\r\na\r\n", 64) // 64 bytes of data, 64 KiB of extension
	cases := map[string]string{
		"bare LF in a chunk extension": "2;ext\nab\r\n" + "0\r\n\r\n" + next,
		"bare LF after the chunk data": "2\r\nab\n0\r\n\r\n" + next,
		"extension flood":              flood + "0\r\n\r\n" + next,
		"signed size":                  "+2\r\nab\r\n0\r\n\r\n" + next,
		"0x size":                      "0x2\r\nab\r\n0\r\n\r\n" + next,
		"size of 17 digits":            "00000000000000002\r\nab\r\n0\r\n\r\n" + next,
		"size that overflows":          "10000000000000002\r\nab\r\n0\r\n\r\n" + next,
		"space inside the size":        "1 1\r\n" + strings.Repeat("a", 17) + "\r\n0\r\n\r\n" + next,
		// Past the 64 KiB read before forwarding: the body streams to the
		// upstream when the bad chunk comes.
		"bare LF in a streamed body": "11000\r\n" + strings.Repeat("a", 0x11000) + "\r\n2;ext\nab\r\n0\r\n\r\n" + next,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			srv := serveGateway(t, f)
			got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"), head+body)
			t.Logf("%s", firstLine(got))
			answers := strings.Count(got, "HTTP/1.1 ")
			if answers != 1 || strings.HasPrefix(got, "HTTP/1.1 2") {
				t.Errorf("%d answers, first %q; want one error", answers, firstLine(got))
			}
			f.up.mu.Lock()
			defer f.up.mu.Unlock()
			for _, r := range f.up.reqs {
				if r.Path != "/public/x" || r.Body != "" && r.Body != "ab" && strings.Trim(r.Body, "a") != "" {
					t.Errorf("the upstream received %s %s with the body %q", r.Method, r.Path, r.Body)
				}
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}
