package charts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// notesRender is a template that renders the chart's NOTES into a ConfigMap:
// helm template leaves NOTES.txt out, and helm install needs a cluster.
const notesRender = `apiVersion: v1
kind: ConfigMap
metadata: {name: notes}
data:
  notes: {{ tpl (.Files.Get "notes.txt") . | toJson }}
`

// renderNotes returns the NOTES helm install would print, from a copy of the
// chart that carries notesRender.
func renderNotes(t *testing.T, valuesFiles []string, sets ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "portcullis")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "notes.txt"), notes)
	writeFile(t, filepath.Join(dir, "templates", "notes-render.yaml"), []byte(notesRender))
	args := templateArgs(valuesFiles, sets)
	args[2] = dir
	out, err := helm(t, append(args, "--show-only", "templates/notes-render.yaml")...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(out)
	if err != nil {
		t.Fatal(err)
	}
	return r.get(t, "ConfigMap", "notes").(*corev1.ConfigMap).Data["notes"]
}

// notesBlock returns the lines of notes from the first one with prefix start
// up to (without) the first later one with prefix end, unindented by indent.
func notesBlock(t *testing.T, notes, start, end string, indent int) []byte {
	t.Helper()
	var b strings.Builder
	in := false
	for _, line := range strings.Split(notes, "\n") {
		switch {
		case !in && strings.HasPrefix(line, start):
			in = true
		case in && (strings.HasPrefix(line, end) || strings.TrimSpace(line) == ""):
			return []byte(b.String())
		case !in:
			continue
		}
		b.WriteString(line[min(len(line), indent):] + "\n")
	}
	t.Fatalf("NOTES have no block from %q to %q:\n%s", start, end, notes)
	return nil
}

// TestSidecarNotesCarryPodValues: in sidecar mode the NOTES print the
// Portcullis container and its pod settings for the operator to paste. They
// printed a securityContext of their own and no resources, so the values
// securityContext, podSecurityContext, resources and
// automountServiceAccountToken were silently dropped: a pasted sidecar ran
// without a memory limit (the gateway then sets no GOMEMLIMIT) and with a
// hardening the operator never chose. They now print the values.
func TestSidecarNotesCarryPodValues(t *testing.T) {
	notes := renderNotes(t, []string{"portcullis/examples/sidecar.yaml"},
		append(slices.Clone(exampleSets), "resources.limits.memory=300Mi", "securityContext.runAsGroup=4242")...)
	var containers []corev1.Container
	if err := yaml.UnmarshalStrict(notesBlock(t, notes, "      - name: portcullis", "  volumes:", 6), &containers); err != nil {
		t.Fatalf("NOTES container: %v\n%s", err, notes)
	}
	c := containers[0]
	if got := c.Resources.Limits.Memory().String(); got != "300Mi" {
		t.Errorf("NOTES container memory limit %q, want resources.limits.memory 300Mi", got)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsGroup == nil || *sc.RunAsGroup != 4242 || sc.Privileged == nil || *sc.Privileged ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("NOTES container securityContext %+v, want values.securityContext (runAsGroup 4242)", sc)
	}
	var pod corev1.PodSpec
	if err := yaml.UnmarshalStrict(notesBlock(t, notes, "  volumes:", "A complete example", 2), &pod); err != nil {
		t.Fatalf("NOTES pod settings: %v\n%s", err, notes)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil ||
		pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("NOTES pod securityContext %+v, automountServiceAccountToken %v; want podSecurityContext and false", psc, pod.AutomountServiceAccountToken)
	}
}

// TestSidecarNotesNamePolicyPorts: the sidecar NOTES say which of
// Portcullis's ports the rendered NetworkPolicy admits to the app's pods.
// The ops port is admitted only from networkPolicy.opsFrom; without it the
// NOTES named it open all the same.
func TestSidecarNotesNamePolicyPorts(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{nil, "only port 4180 and port 9180 (from networkPolicy.opsFrom) reach"},
		{[]string{"networkPolicy.opsFrom=null"}, "only port 4180 reach"},
	} {
		notes := renderNotes(t, []string{"portcullis/examples/sidecar.yaml"}, append(slices.Clone(exampleSets), tc.sets...)...)
		if !strings.Contains(notes, tc.want) {
			t.Errorf("sets %q: NOTES do not say %q:\n%s", tc.sets, tc.want, notes)
		}
	}
}
