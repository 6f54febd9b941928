package config

import (
	"sort"
	"strings"
)

// suggestKey returns the known key nearest to the unknown key k, or "" when
// none is close enough to be a likely typo: at most two edits away (an edit
// being an insertion, deletion, substitution or swap of two neighbouring
// characters), and fewer edits than a third of k's length, so that short
// keys are not "corrected" into unrelated ones. Ties go to the first in
// known's order, which callers sort.
func suggestKey(k string, known []string) string {
	best, bestDist := "", 3
	limit := max(1, (len(k)+2)/3)
	for _, cand := range known {
		if d := editDistance(k, cand); d < bestDist && d <= limit {
			best, bestDist = cand, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b
// (Levenshtein plus transpositions of adjacent bytes), for ASCII keys.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // no typo of a real key is this long
		return 1 << 30
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// misplacedHint says where an unknown key k of the table at path belongs:
// the tables that read a key of that name, or oauth2-proxy's option of that
// name translated. At the top level, where this file has only tables, the
// oauth2-proxy reading comes first: a key there most likely comes from an
// oauth2-proxy file.
func (d *decoder) misplacedHint(path, k string) string {
	if path == "" {
		if h := oauth2ProxyHint(k); h != "" {
			return h
		}
	}
	if d.keyTables == nil {
		d.keyTables = keyTables()
	}
	var in []string
	for _, name := range d.keyTables[k] {
		if name != tableName(path) {
			in = append(in, name)
		}
	}
	if len(in) > 0 {
		return "; it is a key of " + strings.Join(in, " and ")
	}
	return oauth2ProxyHint(k)
}

// keyTables maps every key the decoder reads to the tables that read it
// ("[session]", "[[routes]]"). It is found by decoding a document with one
// entry of each array of tables, so that it follows the decoder.
func keyTables() map[string][]string {
	rec := &decoder{getenv: func(string) (string, bool) { return "", false }, record: map[string][]string{}}
	rec.decodeFile(map[string]any{
		"provider":  map[string]any{"extra_issuers": []any{map[string]any{}}},
		"upstreams": []any{map[string]any{}},
		"routes":    []any{map[string]any{}},
	})
	for _, names := range rec.record {
		sort.Strings(names)
	}
	return rec.record
}

// tableName is how the file writes the header of the table at path:
// "[session]", "[[routes]]" for "routes[2]", "" for the top level.
func tableName(path string) string {
	if path == "" {
		return ""
	}
	if strings.HasSuffix(path, "]") {
		return "[[" + parentPath(path) + "]]"
	}
	return "[" + path + "]"
}
