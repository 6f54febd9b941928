// Command loadupstream is the upstream of the load benchmark: a minimal
// HTTP server, in its own process, that answers every request with a small
// fixed body. Usage: loadupstream LISTEN
package main

import (
	"log"
	"net/http"
	"os"
	"time"
)

var body = []byte("ok\n")

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: loadupstream LISTEN")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: os.Args[1], Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
