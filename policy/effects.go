package policy

import "slices"

// The methods whose effect a WebDAV method has, as package variables so
// that asking allocates nothing.
var (
	readEffect        = []string{"GET"}
	writeEffect       = []string{"PUT"}
	readDeleteEffect  = []string{"GET", "DELETE"}
	deleteEffect      = []string{"DELETE"}
	writeDeleteEffect = []string{"PUT", "DELETE"}
)

// Effects returns the methods whose effect method has on its request's path
// (and on its members, when it acts on a collection), which a request of
// method is decided as too: a route's methods name what they protect, and a
// COPY reads its source as a GET does (RFC 4918 §9.8), a MOVE reads and
// deletes it (§9.9), a PROPFIND, REPORT or SEARCH reads properties and
// names (§9.1, RFC 3253 §3.6, RFC 5323; a CalDAV REPORT returns contents),
// a PROPPATCH, MKCOL, LOCK, UNLOCK or ACL writes (§9.2, §9.3, §9.10,
// §9.11, RFC 3744 §8.1), and so do the methods that create a collection
// (CalDAV's MKCALENDAR, RFC 4791 §5.3.1; DeltaV's MKWORKSPACE and
// MKACTIVITY), put a resource under version control or change its version
// (RFC 3253), reorder a collection (ORDERPATCH, RFC 3648) or make a
// redirect reference (RFC 4437). A BIND adds a member to its collection
// (RFC 5842 §4), an UNBIND removes one (§5), a REBIND does both (§6).
// GET, HEAD, POST and PUT have none. The slice is shared: callers must not
// change it.
func Effects(method string) []string {
	switch method {
	case "COPY", "PROPFIND", "REPORT", "SEARCH":
		return readEffect
	case "MOVE":
		return readDeleteEffect
	case "PROPPATCH", "MKCOL", "LOCK", "UNLOCK", "ACL", "BIND",
		"MKCALENDAR", "MKWORKSPACE", "MKACTIVITY", "VERSION-CONTROL", "BASELINE-CONTROL",
		"CHECKOUT", "CHECKIN", "UNCHECKOUT", "UPDATE", "LABEL", "MERGE",
		"ORDERPATCH", "MKREDIRECTREF", "UPDATEREDIRECTREF":
		return writeEffect
	case "UNBIND":
		return deleteEffect
	case "REBIND":
		return writeDeleteEffect
	}
	return nil
}

// Described reports whether the gateway knows what a request of method
// does: a standard method (RFC 9110, RFC 5789) or one Effects describes.
// Any other may read, write or delete whatever its server makes it do.
func Described(method string) bool {
	return standardMethodBit(method) != 0 || Effects(method) != nil
}

// Names reports whether r lists method among its methods. A route without
// methods takes every method but names none: its author may never have
// thought of one the gateway cannot describe (Described).
func (r *Route) Names(method string) bool { return slices.Contains(r.Methods, method) }

// reachedByEffects removes from covered, the methods of a route that
// earlier routes decide, each method some of whose Effects that route has
// and covered does not: a request of that method is decided as its
// effects too, so the route does apply to it.
func (t *Table) reachedByEffects(covered, methods uint64) uint64 {
	for m, b := range t.custom {
		if covered&b == 0 {
			continue
		}
		for _, e := range Effects(m) {
			if methods&^covered&t.methodBit(e) != 0 {
				covered &^= b
				break
			}
		}
	}
	return covered
}
