{{/*
portcullis.podsRunningPortcullis is the label selector (as YAML) of the pods that run Portcullis:
the gateway's own pods, or in sidecar mode the app's pods, named by networkPolicy.app.podSelector
(the chart does not render them, so it cannot know their labels).
*/}}
{{- define "portcullis.podsRunningPortcullis" -}}
{{- if eq .Values.mode "sidecar" -}}
{{- toYaml .Values.networkPolicy.app.podSelector -}}
{{- else -}}
matchLabels:
  {{- include "portcullis.selectorLabels" . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
portcullis.requireSidecarNetworkPolicy fails a sidecar render with networkPolicy.enabled that
could not put the policy on the app's pods, rather than render nothing and leave the operator
believing the app fenced: networkPolicy.app.podSelector must name the pods (an empty selector
would cut off every pod of the namespace but two ports). The pods mount the chart's ConfigMap and
Secret, so they live in the release's namespace; app.ports has no meaning here (the app's own
ports are exactly what the policy closes).
*/}}
{{- define "portcullis.requireSidecarNetworkPolicy" -}}
{{- $app := .Values.networkPolicy.app -}}
{{- $sel := $app.podSelector | default dict -}}
{{- if not (or $sel.matchLabels $sel.matchExpressions) -}}
{{- fail `

networkPolicy.enabled in sidecar mode needs networkPolicy.app.podSelector: the labels of the pods
that run your app and the Portcullis container (e.g. {matchLabels: {app.kubernetes.io/name:
myapp}}). The policy admits only Portcullis's ports to them, so that nobody reaches the app's own
port on the pod IP with forged identity headers.` -}}
{{- end -}}
{{- if and $app.namespace (ne $app.namespace .Release.Namespace) -}}
{{- fail (printf "networkPolicy.app.namespace (%s) in sidecar mode: the app's pods mount the chart's ConfigMap and Secret, so they run in the release's namespace (%s); leave it empty" $app.namespace .Release.Namespace) -}}
{{- end -}}
{{- if $app.ports -}}
{{- fail "networkPolicy.app.ports in sidecar mode: the policy admits only Portcullis's ports (ports.http, and ports.ops from opsFrom) to the app's pods; the app's own ports stay closed, so leave it empty" -}}
{{- end -}}
{{- end -}}
