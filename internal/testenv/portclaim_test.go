package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestFreePortAcrossProcesses: a port FreePort handed out in one test
// process is not handed out in another (go test ./... runs the e2e and
// cmd/portcullis binaries at once) while the first one's test runs, and
// is again once that process has gone. A real second process (this test
// binary, run again) holds it.
func TestFreePortAcrossProcesses(t *testing.T) {
	if os.Getenv("TESTENV_HOLD_PORT") == "1" {
		// The second process: hand a port out, name it, hold it until
		// the first process closes standard input.
		os.Stdout.WriteString(strconv.Itoa(FreePort(t)) + "\n")
		bufio.NewReader(os.Stdin).ReadString('\n')
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFreePortAcrossProcesses$")
	cmd.Env = append(os.Environ(), "TESTENV_HOLD_PORT=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	port, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("the second process named no port: %q %v", line, err)
	}
	if claimPort(t, port) {
		t.Errorf("port %d, handed out by another test process that still runs, was claimed here too", port)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the second process: %v", err)
	}
	if !claimPort(t, port) {
		t.Errorf("port %d stayed claimed after the process that held it had exited", port)
	}
}
