package testenv

import (
	"os/exec"
	"testing"
	"time"
)

// TestStopAfterAWaitTimedOut: a test that gave up waiting for an exit
// leaves the process to its cleanup, which must neither call exec.Cmd.Wait
// a second time (a data race, reported under -race) nor hang.
func TestStopAfterAWaitTimedOut(t *testing.T) {
	p := Start(t, exec.Command("sleep", "30"))
	select {
	case <-p.Exited():
		t.Fatal("sleep 30 exited at once")
	case <-time.After(20 * time.Millisecond):
	}
	p.Stop()
	select {
	case <-p.Exited():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	if p.ExitErr() == nil {
		t.Error("a killed process reported a clean exit")
	}
	p.Stop() // the cleanup's call: a no-op now
}
