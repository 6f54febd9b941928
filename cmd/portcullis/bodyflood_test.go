package main

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2BodyFloodHoldsLittle: one HTTP/2 connection, without any
// credential, opens 100 POSTs to a public route, each declaring a 64 KiB
// form and sending only 4 KiB and a byte of it. Each body's pre-read
// passed its 4 KiB buffer and took a 64 KiB one, so the gateway held
// 6.4 MiB for 400 KiB sent, for the 30 s of the pre-read, on every
// connection. Now a connection holds at most a few large pre-read buffers
// at once; its other bodies wait for one, holding what they sent.
func TestHTTP2BodyFloodHoldsLittle(t *testing.T) {
	certPEM, keyPEM := testPair(t, "gw.test")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, nil, nil, func(c *testConfig) {
		c.extra = "tls_cert_file = \"" + certFile + "\"\ntls_key_file = \"" + keyFile + "\""
		c.route = "[[routes]]\npath = \"/pub/**\"\nupstream = \"app\"\npublic = true\n"
	})
	before := heapInUse()
	c, err := tls.Dial("tcp", f.cfg.listen, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, _ = c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	go func() { // the server's frames: settings to acknowledge, the rest read and dropped
		for {
			fm, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if g, ok := fm.(*http2.GoAwayFrame); ok {
				t.Logf("GOAWAY %v", g.ErrCode)
			}
		}
	}()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	chunk := bytes.Repeat([]byte("a"), 4<<10+1)
	const streams = 100
	for i := range streams {
		id := uint32(2*i + 1)
		hb.Reset()
		for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "gw.test"},
			{":path", "/pub/x"}, {"content-type", "application/x-www-form-urlencoded"}, {"content-length", "65536"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		if err := fr.WriteData(id, false, chunk); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // every stream's body is being pre-read
	held := int64(heapInUse()) - int64(before)
	t.Logf("held %d KiB for %d streams, %d KiB sent", held>>10, streams, streams*len(chunk)>>10)
	if held > 4<<20 {
		t.Errorf("one connection's %d half-sent bodies hold %d KiB, want under 4 MiB (2.8 MiB of it is the 100 streams themselves)", streams, held>>10)
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
