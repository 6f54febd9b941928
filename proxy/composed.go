package proxy

import (
	"net/http"

	"github.com/portcullis/portcullis/policy"
)

// decideComposed decides q, let through at its path, again at the path's
// composed form (policy.ComposedPath: "u" and a combining diaeresis read as
// "ü"), as deep as q acts, and keeps the refusal when that form is refused:
// an application that normalises paths serves the request as that form, so
// a route written "/über/**" decides "/u%CC%88ber/x" too. When both let it
// through, the request keeps its own route and is forwarded as it was
// spelt (macOS's Finder names files decomposed, and a server that does not
// normalise stores them so). Only a path beyond ASCII pays.
func (h *Handler) decideComposed(ex *exchange, r *http.Request, q request, depth int) error {
	composed, differs, err := policy.ComposedPath(q.path)
	if err != nil {
		return badRequest("the request path is not acceptable", err)
	}
	own, label := ex.dec, ex.label
	if !differs || !own.forwards() {
		return nil
	}
	q.path = composed
	if err := h.decideAt(ex, r, q, depth); err != nil {
		return err
	}
	if ex.dec.forwards() {
		ex.dec, ex.label = own, label
	}
	return nil
}
