//go:build race

package proxy

// raceEnabled: the race detector makes sync.Pool drop some of what is put
// back, so allocation figures are not meaningful under it.
const raceEnabled = true
