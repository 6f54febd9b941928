package testenv

import "runtime"

// HeapAfterGC returns the bytes of live heap objects after two full
// collections, for tests that bound what a structure keeps in memory:
// measure before and after filling it, and keep it alive past the second
// measurement (runtime.KeepAlive).
func HeapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
