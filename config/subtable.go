package config

import (
	"sort"

	"github.com/pelletier/go-toml/v2/unstable"
)

// misplacedInSubtables refuses a key of t written below the header of one
// of t's tables of values ([provider.auth_params], [routes.require_claims],
// [headers.claims]): TOML gives every key below a header to that table
// until the next one, so `hosted_domain` after [provider.auth_params]
// became an authorization parameter Google ignores (every Google account
// signed in), and `deny = true` after [routes.require_claims] a claim the
// route required instead of a deny. A key of t's own name there is almost
// always such a slip. Only a key written as one part right below the
// sub-table's header can be one: the same name in an inline table
// (`require_claims = { name = "Alice" }`) or as a dotted key
// (`require_claims.name = "Alice"`, which names its table itself) was
// meant, and passes. Runs at finish, when t.seen holds every key t reads.
func (t *table) misplacedInSubtables() {
	if t.path == "" {
		return // the file's own tables: a key of theirs elsewhere is unknown there
	}
	for _, k := range sortedAnyKeys(t.m) {
		sub, ok := t.m[k].(map[string]any)
		if !ok || !t.seen[k] {
			continue
		}
		subPath := t.key(k)
		for _, sk := range sortedAnyKeys(sub) {
			p := joinKey(subPath, sk)
			if !t.seen[sk] || !t.d.headed[p] {
				continue
			}
			t.d.problem(p, "is a key of %s, not of %s: every key below the [%s] header belongs to that table; move it above the header",
				tableName(t.path), k, headerName(subPath))
		}
	}
}

// noteHeaded records kv's path when its key is one part written below a
// [header] (not in the file's root table): the only way a key of the
// enclosing table can be slipped into the header's table unawares.
func (w *lineWalker) noteHeaded(kv *unstable.Node) {
	if keys, _ := w.keyOf(kv); len(keys) == 1 && w.table != "" {
		w.headed[joinKey(w.table, keys[0])] = true
	}
}

// headerName is the TOML header of the table at path: "routes.require_claims"
// for "routes[0].require_claims".
func headerName(path string) string {
	out := make([]byte, 0, len(path))
	for i := 0; i < len(path); i++ {
		if path[i] == '[' {
			for i < len(path) && path[i] != ']' {
				i++
			}
			continue
		}
		out = append(out, path[i])
	}
	return string(out)
}

// sortedAnyKeys returns m's keys in order, so problems come out deterministically.
func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
