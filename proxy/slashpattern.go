package proxy

import (
	"net/http"
	"strings"
)

// decideWithSlash decides q's method, when some route's path ends in "/"
// (policy.Table.SlashEnds), for q's path and each of its aliases that
// lacks a trailing slash, with one: Rails, Express, Laravel and ASP.NET
// Core serve "/admin" (and Rails "/admin.json") by the route they were
// given as "/admin/", so a route "/admin/" for admins listed ahead of "/**"
// refuses those too. As for any alias (decideAlias), only a route ahead of
// the path's own counts, and only a refusal: a request both allow keeps its
// route. The paths are built only for such tables.
func (h *Handler) decideWithSlash(ex *exchange, r *http.Request, q request, aliases [3]string, n int) error {
	paths := append([]string{q.path}, aliases[:n]...)
	for _, p := range paths {
		if strings.HasSuffix(p, "/") {
			continue
		}
		if err := h.decideAlias(ex, r, q, p+"/"); err != nil {
			return err
		}
	}
	return nil
}
