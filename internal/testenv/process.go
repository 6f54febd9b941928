package testenv

import (
	"bytes"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a program started for a test, stopped by PID at cleanup.
type Process struct {
	Cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer

	// exec.Cmd.Wait may be called once: a test waiting for an exit and
	// the cleanup that stops the process share one call through Exited.
	waitOnce sync.Once
	exited   chan struct{}
	waitErr  error
}

// Exited returns a channel closed when the process has exited; ExitErr
// then holds what exec.Cmd.Wait returned.
func (p *Process) Exited() <-chan struct{} {
	p.waitOnce.Do(func() {
		p.exited = make(chan struct{})
		go func() {
			p.waitErr = p.Cmd.Wait()
			close(p.exited)
		}()
	})
	return p.exited
}

// ExitErr is exec.Cmd.Wait's result, valid once Exited is closed.
func (p *Process) ExitErr() error {
	<-p.Exited()
	return p.waitErr
}

// Output returns what the process printed so far (stdout and stderr).
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Start runs cmd in its own process group and kills the group at cleanup.
// Its stdout and stderr are captured unless the caller set them.
func Start(tb testing.TB, cmd *exec.Cmd) *Process {
	tb.Helper()
	p := &Process{Cmd: cmd}
	// Output not claimed by the caller (e.g. with StdoutPipe) is captured.
	if cmd.Stdout == nil {
		cmd.Stdout = p
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testenv: start %s: %v", cmd.Path, err)
	}
	tb.Cleanup(func() { p.Stop() })
	return p
}

// Stop kills the process group by PID and waits for the process.
func (p *Process) Stop() {
	if p.Cmd.Process == nil {
		return
	}
	select {
	case <-p.Exited():
		return
	default:
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.Exited()
}

// WaitTCP waits until addr accepts connections or fails the test after timeout.
func WaitTCP(tb testing.TB, addr string, timeout time.Duration, p *Process) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := ""
	if p != nil {
		out = p.Output()
	}
	tb.Fatalf("testenv: %s not accepting connections after %v; output:\n%s", addr, timeout, out)
}
