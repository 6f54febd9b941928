// Command bareproxy is a bare, tuned httputil.ReverseProxy: the baseline the
// gateway's load test compares against (same transport settings, no
// authorization). Usage: bareproxy LISTEN UPSTREAM_URL. On SIGUSR1 it
// prints "mallocs N" (the heap allocations so far) to standard error, so
// the load benchmark can count allocations per request.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

type pool struct{ p sync.Pool }

func (b *pool) Get() []byte {
	if v, ok := b.p.Get().(*[32 << 10]byte); ok {
		return v[:]
	}
	return new([32 << 10]byte)[:]
}

func (b *pool) Put(buf []byte) { b.p.Put((*[32 << 10]byte)(buf[:32<<10])) }

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: bareproxy LISTEN UPSTREAM_URL")
	}
	target, err := url.Parse(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			// Tuned as the gateway's: the upstream is asked for the
			// client's encodings only, so neither proxy adds gzip.
			DisableCompression: true,
		},
		BufferPool: &pool{},
	}
	go reportMallocs()
	srv := &http.Server{Addr: os.Args[1], Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func reportMallocs() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	for range c {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "mallocs %d\n", m.Mallocs)
	}
}
