// Package charts holds the tests of the Portcullis Helm chart. It is its own
// Go module so that the Kubernetes API types it decodes into never become
// dependencies of the gateway binary; run it with `cd charts && go test ./...`.
package charts
