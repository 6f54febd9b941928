package testenv

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2Fields is the HPACK encoding of fields (name, value), for a raw HTTP/2
// HEADERS frame: a test sends what no client library would (a :path with a
// raw space, a field a client refuses to write).
func H2Fields(fields [][2]string) []byte {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, kv := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	return hb.Bytes()
}

// H2AnswerField reads frames until stream 1's answer and returns its field
// name ("" if it has none; "reset" for a RST_STREAM or GOAWAY),
// acknowledging the server's SETTINGS.
func H2AnswerField(tb testing.TB, fr *http2.Framer, name string) string {
	tb.Helper()
	dec := hpack.NewDecoder(4096, nil)
	for {
		fm, err := fr.ReadFrame()
		if err != nil {
			tb.Fatal(err)
		}
		switch fm := fm.(type) {
		case *http2.HeadersFrame:
			hs, _ := dec.DecodeFull(fm.HeaderBlockFragment())
			for _, h := range hs {
				if h.Name == name {
					return h.Value
				}
			}
			return ""
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			return "reset"
		case *http2.SettingsFrame:
			if !fm.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	}
}
