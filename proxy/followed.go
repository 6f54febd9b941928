package proxy

import "net/http"

// followed reports whether a browser follows the answer instead of
// showing it: a redirect (301, 302, 303, 307, 308) with one Location. Such
// an answer is no page (isPage): it never enters the history nor the
// back/forward cache, so it keeps the application's caching made private
// and keyed on the credentials (keepPrivate, varyOnCredentials), as a
// script or a JSON answer does. As a page it was no-store, and a
// framework's permanent redirect (/old to /new, /app to /app/) reached the
// application on every visit. A 3xx without a Location, or with several,
// is shown or refused by the browser with its body, and stays a page.
func followed(h http.Header, status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc := h["Location"]
		return len(loc) == 1 && loc[0] != ""
	}
	return false
}
