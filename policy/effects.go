package policy

// The methods whose effect a WebDAV method has, as package variables so
// that asking allocates nothing.
var (
	readEffect       = []string{"GET"}
	writeEffect      = []string{"PUT"}
	readDeleteEffect = []string{"GET", "DELETE"}
)

// Effects returns the methods whose effect method has on its request's path
// (and on its members, when it acts on a collection), which a request of
// method is decided as too: a route's methods name what they protect, and a
// COPY reads its source as a GET does (RFC 4918 §9.8), a MOVE reads and
// deletes it (§9.9), a PROPFIND, REPORT or SEARCH reads properties and
// names (§9.1, RFC 3253 §3.6, RFC 5323; a CalDAV REPORT returns contents),
// a PROPPATCH, MKCOL, LOCK or ACL writes (§9.2, §9.3, §9.10, RFC 3744
// §8.1). GET, HEAD, POST and PUT have none. The slice is shared: callers
// must not change it.
func Effects(method string) []string {
	switch method {
	case "COPY", "PROPFIND", "REPORT", "SEARCH":
		return readEffect
	case "MOVE":
		return readDeleteEffect
	case "PROPPATCH", "MKCOL", "LOCK", "ACL":
		return writeEffect
	}
	return nil
}

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
