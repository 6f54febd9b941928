package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Listeners are the gateway's two HTTP/2 ways in, each with a public
// route /pub/** to upstream: TLS with ALPN h2, and h2c with prior knowledge.
func h2Listeners(t *testing.T, upstream http.HandlerFunc) map[string]*fixture {
	t.Helper()
	return map[string]*fixture{
		"tls": publicTLSFixture(t, upstream),
		"h2c": newFixtureWith(t, nil, upstream, func(c *testConfig) {
			c.route = "[[routes]]\npath = \"/pub/**\"\nupstream = \"app\"\npublic = true\n"
		}),
	}
}

// h2Open opens an HTTP/2 connection to f's listener (closed when the test
// ends), sends the preface and empty SETTINGS, and returns its framer and
// the connection.
func h2Open(t *testing.T, f *fixture, overTLS bool) (*http2.Framer, net.Conn) {
	t.Helper()
	var c net.Conn
	var err error
	if overTLS {
		c, err = tls.Dial("tcp", f.cfg.listen, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	} else {
		c, err = net.Dial("tcp", f.cfg.listen)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	return fr, c
}

// h2Block is the HPACK encoding of fields.
func h2Block(fields ...[2]string) []byte {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, kv := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	return hb.Bytes()
}

// h2Outcome reads frames until stream 1's :status, a RST_STREAM or a
// GOAWAY, and names it ("200", "reset", "goaway ENHANCE_YOUR_CALM").
func h2Outcome(t *testing.T, fr *http2.Framer) string {
	t.Helper()
	dec := hpack.NewDecoder(4096, nil)
	for {
		fm, err := fr.ReadFrame()
		if err != nil {
			return "closed"
		}
		switch fm := fm.(type) {
		case *http2.HeadersFrame:
			hs, _ := dec.DecodeFull(fm.HeaderBlockFragment())
			for _, h := range hs {
				if h.Name == ":status" {
					return h.Value
				}
			}
		case *http2.RSTStreamFrame:
			return "reset"
		case *http2.GoAwayFrame:
			return "goaway " + fm.ErrCode.String()
		case *http2.SettingsFrame:
			if !fm.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	}
}

// TestH2CAndTLSListenersAgree: what an HTTP/2 client can spell, sent to the
// real gateway's TLS listener and to its h2c one, gets the same answer on
// both, and a request that names something other than what is decided
// (userinfo or a port alone in :authority, a :path that is no origin-form
// path, upper-case or pseudo fields, a pseudo field in the trailers) never
// reaches the upstream. The forwarded scheme is the connection's, whatever
// :scheme says: a client cannot make an upstream believe a cleartext request
// came over TLS, nor the reverse.
func TestH2CAndTLSListenersAgree(t *testing.T) {
	get := func(scheme, authority, path string, extra ...[2]string) [][2]string {
		return append([][2]string{{":method", "GET"}, {":scheme", scheme}, {":authority", authority}, {":path", path}}, extra...)
	}
	cases := []struct {
		name     string
		fields   [][2]string
		trailers [][2]string
		want     string
	}{
		{":scheme http", get("http", "gw.test", "/pub/x"), nil, "200"},
		{":scheme https", get("https", "gw.test", "/pub/x"), nil, "200"},
		{":scheme ftp", get("ftp", "gw.test", "/pub/x"), nil, "reset"},
		{":authority with userinfo", get("https", "admin@gw.test", "/pub/x"), nil, "reset"},
		{":authority a port alone", get("https", ":443", "/pub/x"), nil, "400"},
		{"Host field names another host", get("https", "gw.test", "/pub/x", [2]string{"host", "other.test"}), nil, "400"},
		{":path without a slash", get("https", "gw.test", "pub/x"), nil, "reset"},
		{":path *", get("https", "gw.test", "*"), nil, "400"},
		{":path with %2F", get("https", "gw.test", "/pub%2F..%2Fapp/x"), nil, "400"},
		{":path with a backslash", get("https", "gw.test", "/pub\\..\\app"), nil, "400"},
		{":path with dot segments", get("https", "gw.test", "/pub/../app/x"), nil, "401"},
		{":path with a fragment", get("https", "gw.test", "/pub/x#/../../app"), nil, "400"},
		{"upper-case field name", get("https", "gw.test", "/pub/x", [2]string{"X-Forwarded-User", "eve"}), nil, "reset"},
		{"TE trailers", get("https", "gw.test", "/pub/x", [2]string{"te", "trailers"}), nil, "200"},
		{"TE gzip", get("https", "gw.test", "/pub/x", [2]string{"te", "gzip"}), nil, "400"},
		{"connection field", get("https", "gw.test", "/pub/x", [2]string{"connection", "close"}), nil, "400"},
		{"CONNECT", [][2]string{{":method", "CONNECT"}, {":authority", "gw.test:443"}}, nil, "405"},
		{"pseudo field in trailers", [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "gw.test"}, {":path", "/pub/x"}},
			[][2]string{{":path", "/app/x"}}, "reset"},
	}
	for name, f := range h2Listeners(t, nil) {
		overTLS := name == "tls"
		for i, tc := range cases {
			if i > 0 {
				lateForward(t, f, name, cases[i-1].name)
			}
			fr, _ := h2Open(t, f, overTLS)
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h2Block(tc.fields...),
				EndStream: tc.trailers == nil, EndHeaders: true})
			if tc.trailers != nil {
				_ = fr.WriteData(1, false, []byte("x"))
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h2Block(tc.trailers...), EndStream: true, EndHeaders: true})
			}
			got := h2Outcome(t, fr)
			var seen http.Header
			select {
			case seen = <-f.upSeen:
			case <-time.After(100 * time.Millisecond):
			}
			if got != tc.want || (seen != nil) != (tc.want == "200") {
				t.Errorf("%s: %s: %s, want %s; reached the upstream: %v", name, tc.name, got, tc.want, seen != nil)
			}
			if want := map[bool]string{true: "https", false: "http"}[overTLS]; seen != nil && seen.Get("X-Forwarded-Proto") != want {
				t.Errorf("%s: %s: X-Forwarded-Proto %q, want %q", name, tc.name, seen.Get("X-Forwarded-Proto"), want)
			}
		}
		lateForward(t, f, name, cases[len(cases)-1].name)
	}
}

// lateForward fails the test if f's upstream was reached once the case
// named tc had its answer and its wait: a refused request forwarded later
// than that wait (a loaded machine) was drained by the next case unseen.
// Every earlier case's connection is still open, so it is that case's
// request or an earlier one's; tc names where it was seen.
func lateForward(t *testing.T, f *fixture, listener, tc string) {
	t.Helper()
	for len(f.upSeen) > 0 {
		<-f.upSeen
		t.Errorf("%s: by %s: a request reached the upstream after its answer", listener, tc)
	}
}

// TestH2CAndTLSListenersBoundAbuse: an h2c connection gets the limits a TLS
// one gets. Every connection announces at most 100 concurrent streams; 1000
// streams opened and reset at once (rapid reset, CVE-2023-44487) run at
// most about 100 handlers at once (Go closes the connection with
// ENHANCE_YOUR_CALM once 400 wait); a header block continued past the
// header bound with CONTINUATION frames (CVE-2023-45288) ends the
// connection, and neither leaves goroutines behind.
func TestH2CAndTLSListenersBoundAbuse(t *testing.T) {
	slow := func(http.ResponseWriter, *http.Request) { time.Sleep(300 * time.Millisecond) }
	get := h2Block([][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "gw.test"}, {":path", "/pub/x"}}...)
	for name, f := range h2Listeners(t, slow) {
		overTLS := name == "tls"
		base := runtime.NumGoroutine()
		fr, c := h2Open(t, f, overTLS)
		fm, err := fr.ReadFrame()
		if s, ok := fm.(*http2.SettingsFrame); err != nil || !ok {
			t.Fatalf("%s: first frame %v, %v", name, fm, err)
		} else if v, _ := s.Value(http2.SettingMaxConcurrentStreams); v != 100 {
			t.Errorf("%s: SETTINGS_MAX_CONCURRENT_STREAMS %d, want 100", name, v)
		}
		outcome := make(chan string, 1)
		go func() { outcome <- h2Outcome(t, fr) }()
		peak := 0
		for i := range 1000 {
			id := uint32(2*i + 1)
			if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: get, EndStream: true, EndHeaders: true}) != nil ||
				fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				break
			}
			peak = max(peak, runtime.NumGoroutine()-base)
		}
		for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			peak = max(peak, runtime.NumGoroutine()-base) // the server works through what was sent
		}
		// Go closes the connection once 400 reset streams wait for a
		// handler; on a slow machine (-race) the handlers keep up instead.
		c.Close()
		t.Logf("%s: rapid reset: %s, %d goroutines at the peak", name, <-outcome, peak)
		if peak > 250 { // each handler and its upstream request (the upstream runs in this process)
			t.Errorf("%s: rapid reset: %d goroutines at the peak, want the 100 streams' handlers and their upstream requests", name, peak)
		}
		fr, _ = h2Open(t, f, overTLS)
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: get})
		big := h2Block([2]string{"x-a", string(bytes.Repeat([]byte("a"), 8000))})
		for range 500 { // 4 MB: sixty times the header bound
			if fr.WriteContinuation(1, false, big) != nil {
				break
			}
		}
		if got := h2Outcome(t, fr); got != "goaway PROTOCOL_ERROR" && got != "closed" {
			t.Errorf("%s: CONTINUATION flood: %s, want the connection closed", name, got)
		}
		// The gateway's idle connections to the upstream are not the
		// client's to keep: closing them leaves what the client left. The
		// slack is the two gateways' own timers and flushers; a leak of
		// the 1000 streams would be hundreds. A loaded machine (-race) takes
		// seconds to drain the frames the client sent before it closed.
		f.up.CloseClientConnections()
		deadline := time.Now().Add(20 * time.Second)
		for runtime.NumGoroutine() > base+20 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base+20 {
			var stacks bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Errorf("%s: %d goroutines left after the connections ended, %d before:\n%s", name, n, base, stacks.Bytes())
		}
	}
}
