package proxy

import "net/http"

// handleHealth answers {prefix}/healthz on the serving port, for load
// balancers that can probe only that port. It touches neither the provider
// nor the session store: it says that this process serves HTTP, and that it
// is not shutting down. Once shutdown has begun (Config.ShuttingDown) it
// answers 503, so that such a load balancer takes the instance out during
// the shutdown delay, as Kubernetes does on the ops port's /readyz.
func (h *Handler) handleHealth(ex *exchange, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(ex, r, methodNotAllowed("GET, HEAD"))
		return
	}
	if h.cfg.ShuttingDown != nil && h.cfg.ShuttingDown() {
		h.fail(ex, r, shuttingDown())
		return
	}
	ex.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ex.Header().Set("Cache-Control", "no-store")
	ex.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = ex.Write([]byte("ok\n"))
	}
}

// shuttingDown is the answer of {prefix}/healthz once shutdown has begun.
func shuttingDown() *httpError {
	return &httpError{status: http.StatusServiceUnavailable, code: "shutting_down", title: "Shutting down",
		reason: "this instance is shutting down", kind: outcomeError}
}
