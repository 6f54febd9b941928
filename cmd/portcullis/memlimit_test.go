package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

func TestMemoryShare(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    float64
		wantErr bool
	}{
		{env: nil, want: 0.9},
		{env: map[string]string{"GOMEMLIMIT": "100MiB"}, want: 0},
		{env: map[string]string{"GOMEMLIMIT": "100MiB", "AUTOMEMLIMIT": "nonsense"}, want: 0},
		{env: map[string]string{"AUTOMEMLIMIT": "off"}, want: 0},
		{env: map[string]string{"AUTOMEMLIMIT": " 0.75 "}, want: 0.75},
		{env: map[string]string{"AUTOMEMLIMIT": "1"}, want: 1},
		{env: map[string]string{"AUTOMEMLIMIT": "0"}, wantErr: true},
		{env: map[string]string{"AUTOMEMLIMIT": "1.5"}, wantErr: true},
		{env: map[string]string{"AUTOMEMLIMIT": "NaN"}, wantErr: true},
		{env: map[string]string{"AUTOMEMLIMIT": "90%"}, wantErr: true},
		{env: map[string]string{"AUTOMEMLIMIT": ""}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := memoryShare(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%v: share %v, err %v; want %v, error %v", tt.env, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "AUTOMEMLIMIT must be off or a number in (0, 1]") {
			t.Errorf("%v: error %q does not say what AUTOMEMLIMIT may be", tt.env, err)
		}
	}
}

func TestMemoryLimitFromProvider(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name     string
		share    float64
		limit    uint64
		err      error
		want     int64
		wantWarn bool
	}{
		{name: "256 MiB container", share: 0.9, limit: 256 * mib, want: 256 * mib * 9 / 10},
		{name: "share 1", share: 1, limit: 256 * mib, want: 256 * mib},
		{name: "off", share: 0, limit: 256 * mib, want: 0},
		{name: "no limit", share: 0.9, err: memlimit.ErrNoLimit},
		{name: "no cgroup", share: 0.9, err: memlimit.ErrNoCgroup},
		{name: "not Linux", share: 0.9, err: memlimit.ErrCgroupsNotSupported},
		{name: "cgroup v1 unlimited", share: 0.9, limit: 9223372036854771712},
		{name: "unreadable", share: 0.9, err: errors.New("permission denied"), wantWarn: true},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		got := memoryLimit(tt.share, func() (uint64, error) { return tt.limit, tt.err }, log)
		if got != tt.want {
			t.Errorf("%s: limit %d, want %d", tt.name, got, tt.want)
		}
		if warned := strings.Contains(logs.String(), "level=WARN"); warned != tt.wantWarn {
			t.Errorf("%s: warned %v, want %v (log %q)", tt.name, warned, tt.wantWarn, logs.String())
		}
	}
}

// TestMemoryShareCheckAndServe: check and serve refuse a bad AUTOMEMLIMIT
// alike, with exit code 2.
func TestMemoryShareCheckAndServe(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	env := map[string]string{"AUTOMEMLIMIT": "90%"}
	for _, cmd := range []string{"check", "serve"} {
		r := invoke(t, env, cmd, "--config", path)
		if r.code != 2 || !strings.Contains(r.stderr, `AUTOMEMLIMIT must be off or a number in (0, 1]`) {
			t.Errorf("%s: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
}
