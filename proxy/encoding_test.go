package proxy

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestContentEncodingAsTheClientAsked: the upstream is asked for the
// encodings the client accepts, no more, and its answer reaches the client
// as it came. Go's transport, left to itself, asked every upstream for gzip
// on behalf of a client that accepts none (wrk, curl, most API clients),
// then decompressed the answer in the gateway, which dropped its
// Content-Length: the gateway's CPU for each such answer, and an upstream
// header per request.
func TestContentEncodingAsTheClientAsked(t *testing.T) {
	page := strings.Repeat("the same line again\n", 200)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = io.WriteString(zw, page)
	_ = zw.Close()
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		body := []byte(page)
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			body = zipped.Bytes()
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	sess := withCookies(f.cookies(t, f.session()))
	for _, tc := range []struct {
		name, accept, wantEncoding string
		wantBody                   []byte
	}{
		{"none accepted", "", "", []byte(page)},
		{"gzip accepted", "gzip, br", "gzip", zipped.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []reqOption{sess}
			if tc.accept != "" {
				opts = append(opts, withHeader("Accept-Encoding", tc.accept))
			}
			resp := f.do(t, "GET", "http://app.test/app/page", nil, opts...)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := f.up.last(t).Header.Values("Accept-Encoding"); strings.Join(got, ",") != tc.accept {
				t.Errorf("upstream got Accept-Encoding %q, want %q (the client's)", got, tc.accept)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.wantEncoding)
			}
			if !bytes.Equal(body, tc.wantBody) {
				t.Errorf("body of %d bytes, want the upstream's %d", len(body), len(tc.wantBody))
			}
			if resp.ContentLength != int64(len(tc.wantBody)) {
				t.Errorf("Content-Length %d, want the upstream's %d", resp.ContentLength, len(tc.wantBody))
			}
		})
	}
}
