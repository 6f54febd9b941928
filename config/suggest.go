package config

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
