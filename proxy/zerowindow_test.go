package proxy

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2ZeroWindowOwnAnswer: an HTTP/2 client without any credential
// that grants no flow-control window (SETTINGS_INITIAL_WINDOW_SIZE 0)
// cannot hold the gateway's own answers (a 401 page, a 302 to sign in)
// for ever. Their bodies are written once the handler has returned, with
// no deadline: each stream held its goroutine and buffers for as long as
// the client kept the connection (100 per connection, which
// max_connections counted as busy and never closed). Now that last write
// gets the bound of a forwarded answer's writes, then the stream is reset.
func TestHTTP2ZeroWindowOwnAnswer(t *testing.T) {
	f := newFixture(t)
	f.h.sendIdle = 300 * time.Millisecond
	fr := h2Dial(t, serveHTTP2(t, f))
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	paths := []string{"/admin/x", "/nowhere-routed/../admin/y", "/oauth2/sign_in"}
	for i, p := range paths {
		hb.Reset()
		for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "gw.test"}, {":path", p}} {
			_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
		}
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
	}
	reset := map[uint32]bool{}
	for len(reset) < len(paths) {
		fm, err := fr.ReadFrame() // h2Dial's connection gives up after 5 s
		if err != nil {
			break
		}
		switch fm := fm.(type) {
		case *http2.RSTStreamFrame:
			reset[fm.StreamID] = true
		case *http2.DataFrame:
			if len(fm.Data()) > 0 {
				t.Fatalf("stream %d sent %d bytes past a zero window", fm.StreamID, len(fm.Data()))
			}
		}
	}
	if len(reset) != len(paths) {
		t.Errorf("%d of %d answers stuck behind a zero window were ended", len(reset), len(paths))
	}
}
