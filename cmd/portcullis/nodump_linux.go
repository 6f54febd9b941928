package main

import "syscall"

// noDump keeps the process's memory from everybody but root and itself:
// not dumpable, its /proc/PID files (environ, mem, maps, fd) belong to
// root, no process of the same user may ptrace it, and no crash writes a
// core file (GOTRACEBACK=crash included), so no neighbour of the same
// user reads the secrets it holds (docs/security.md). The core-file size
// limit of 0 holds where something makes the process dumpable again.
func noDump() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); e != 0 {
		return e
	}
	return syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
}
