package charts

import (
	"os"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// appVersion reads the chart's appVersion from Chart.yaml.
func appVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("portcullis/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(raw, &chart); err != nil || chart.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion: %q %v", chart.AppVersion, err)
	}
	return chart.AppVersion
}

// TestImageDefaultsToAppVersion: a chart version runs the gateway version it
// was released with (the release sets both from the tag), unless the values
// pin another tag or a digest. The sidecar example names the same image.
func TestImageDefaultsToAppVersion(t *testing.T) {
	const repo = "ghcr.io/portcullis/portcullis"
	digest := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tt := range []struct {
		name string
		sets []string
		want string
	}{
		{"default", nil, repo + ":" + appVersion(t)},
		{"tag", []string{"image.tag=9.9.9"}, repo + ":9.9.9"},
		{"digest wins", []string{"image.tag=9.9.9", "image.digest=" + digest}, repo + "@" + digest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := render(t, nil, append(slices.Clone(exampleSets), tt.sets...)...)
			d := r.get(t, "Deployment", fullname).(*appsv1.Deployment)
			if got := container(t, d, "portcullis").Image; got != tt.want {
				t.Errorf("image = %q, want %q", got, tt.want)
			}
		})
	}
	raw, err := os.ReadFile("portcullis/examples/sidecar-deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	d := r.get(t, "Deployment", "myapp").(*appsv1.Deployment)
	if got, want := container(t, d, "portcullis").Image, repo+":"+appVersion(t); got != want {
		t.Errorf("examples/sidecar-deployment.yaml runs %q, want the chart's appVersion %q", got, want)
	}
}
