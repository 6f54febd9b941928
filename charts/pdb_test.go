package charts

import (
	"slices"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestPodDisruptionBudgetValues: the PodDisruptionBudget carries the values as
// given. maxUnavailable 0 (no voluntary eviction at all) is a value, not an
// absent one: the budget must not turn it into 1, which lets a node drain
// take a pod the operator meant to keep.
func TestPodDisruptionBudgetValues(t *testing.T) {
	tests := []struct {
		name    string
		sets    []string
		wantMax *intstr.IntOrString
		wantMin *intstr.IntOrString
	}{
		{"default", nil, ptr(intstr.FromInt32(1)), nil},
		{"maxUnavailable 0", []string{"podDisruptionBudget.maxUnavailable=0"}, ptr(intstr.FromInt32(0)), nil},
		{"maxUnavailable null", []string{"podDisruptionBudget.maxUnavailable=null"}, ptr(intstr.FromInt32(1)), nil},
		{"maxUnavailable percent", []string{"podDisruptionBudget.maxUnavailable=50%"}, ptr(intstr.FromString("50%")), nil},
		{"minAvailable wins", []string{"podDisruptionBudget.minAvailable=0"}, nil, ptr(intstr.FromInt32(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdb := render(t, nil, slices.Concat(exampleSets, tt.sets)...).get(t, "PodDisruptionBudget", fullname).(*policyv1.PodDisruptionBudget)
			if !sameIntOrString(pdb.Spec.MaxUnavailable, tt.wantMax) || !sameIntOrString(pdb.Spec.MinAvailable, tt.wantMin) {
				t.Errorf("maxUnavailable %v, minAvailable %v; want %v, %v",
					pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable, tt.wantMax, tt.wantMin)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sameIntOrString(a, b *intstr.IntOrString) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
