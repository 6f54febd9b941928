package main

import (
	"strings"
	"testing"
)

// TestBadBatchSizeRefused: the SDK hands OTEL_BSP_* sizes to make(), so a
// negative one panicked check and serve; both now exit 2 naming it.
func TestBadBatchSizeRefused(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	path0 := writeConfig(t, "zero.toml", checkGood)
	t.Run("export timeout 0 (none)", func(t *testing.T) {
		env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_BSP_EXPORT_TIMEOUT": "0"}
		setOTELEnv(t, env)
		t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "0")
		if r := invoke(t, env, "check", "--config", path0); r.code != 0 {
			t.Errorf("OTEL_BSP_EXPORT_TIMEOUT=0: exit %d\n%s", r.code, r.stderr)
		}
	})
	for _, k := range []string{"OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_SCHEDULE_DELAY"} {
		t.Run(k, func(t *testing.T) {
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", k: "-1"}
			setOTELEnv(t, env)
			t.Setenv(k, "-1")
			r := invoke(t, env, "check", "--config", path)
			if r.code != 2 || !strings.Contains(r.stderr, k) {
				t.Errorf("%s=-1: exit %d, want 2 naming it\n%s", k, r.code, r.stderr)
			}
		})
	}
}
