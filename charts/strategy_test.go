package charts

import (
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestUpgradeStrategyRecipe: the README's upgrade recipes render what they
// promise. `--set strategy.type=Recreate` must give a Deployment Kubernetes
// accepts, so without the chart's default rollingUpdate block (the API server
// refuses one next to Recreate); the way back, and the defaults, roll with
// maxUnavailable 0. The commands are read from the README, so the test
// follows what users copy.
func TestUpgradeStrategyRecipe(t *testing.T) {
	var recreate, rolling int
	for _, sets := range upgradeRecipes(t) {
		d := render(t, nil, append(slices.Clone(exampleSets), sets...)...).get(t, "Deployment", fullname).(*appsv1.Deployment)
		s := d.Spec.Strategy
		if slices.Contains(sets, "strategy.type=Recreate") {
			recreate++
			if s.Type != appsv1.RecreateDeploymentStrategyType || s.RollingUpdate != nil {
				t.Errorf("%v: strategy %s with rollingUpdate %+v, want Recreate and none", sets, s.Type, s.RollingUpdate)
			}
			continue
		}
		rolling++
		checkRolling(t, sets, s)
	}
	if recreate == 0 || rolling == 0 {
		t.Fatalf("the README's upgrade section has %d Recreate and %d rolling `helm upgrade` lines, want both", recreate, rolling)
	}
	checkRolling(t, nil, render(t, nil, exampleSets...).get(t, "Deployment", fullname).(*appsv1.Deployment).Spec.Strategy)
}

func checkRolling(t *testing.T, sets []string, s appsv1.DeploymentStrategy) {
	t.Helper()
	if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxUnavailable == nil || s.RollingUpdate.MaxUnavailable.String() != "0" {
		t.Errorf("%v: strategy %s with rollingUpdate %+v, want RollingUpdate with maxUnavailable 0", sets, s.Type, s.RollingUpdate)
		return
	}
	for _, set := range sets {
		if surge, ok := strings.CutPrefix(set, "strategy.rollingUpdate.maxSurge="); ok && s.RollingUpdate.MaxSurge.String() != surge {
			t.Errorf("%v: maxSurge %s, want %s", sets, s.RollingUpdate.MaxSurge.String(), surge)
		}
	}
}

// upgradeRecipes returns the --set values of each `helm upgrade` line in the
// README's Upgrading section.
func upgradeRecipes(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("portcullis/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Upgrading\n")
	if !ok {
		t.Fatal("portcullis/README.md has no ## Upgrading section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var out [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "helm upgrade ") {
			continue
		}
		sets := []string{}
		fields := strings.Fields(line)
		for i, f := range fields {
			if f == "--set" && i+1 < len(fields) {
				sets = append(sets, fields[i+1])
			}
		}
		out = append(out, sets)
	}
	return out
}
