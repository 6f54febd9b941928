{{/* Names and labels. */}}
{{- define "portcullis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "portcullis.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "portcullis.redisName" -}}
{{- printf "%s-redis" (include "portcullis.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "portcullis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portcullis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "portcullis.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "portcullis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- end -}}

{{- define "portcullis.opsLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "portcullis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: ops
{{- end -}}

{{- define "portcullis.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "portcullis.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "portcullis.redisLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "portcullis.redisPodLabels" . }}
{{- end -}}

{{/*
portcullis.redisPodLabels are the Redis pod's labels: without the chart's version, since a
changed pod template restarts the chart's Redis, which keeps the sessions in memory only, and
an upgrade of the chart would sign everybody out.
*/}}
{{- define "portcullis.redisPodLabels" -}}
{{ include "portcullis.redisSelectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: session-store
{{- end -}}

{{- define "portcullis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "portcullis.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "portcullis.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "portcullis.configMapName" -}}
{{- default (include "portcullis.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{- define "portcullis.secretName" -}}
{{- default (include "portcullis.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/*
portcullis.secretItems lists, as YAML, the secret files the pod gets: a map from the file
name under secretsDir to the Secret key that holds it. Only files that exist are listed, so
the config references exactly these.
*/}}
{{- define "portcullis.secretItems" -}}
{{- $items := dict -}}
{{- if .Values.existingSecret -}}
{{- $k := .Values.existingSecretKeys -}}
{{- if $k.clientSecret }}{{ $_ := set $items "client-secret" $k.clientSecret }}{{ end -}}
{{- if $k.sessionSecrets }}{{ $_ := set $items "session-secrets" $k.sessionSecrets }}{{ end -}}
{{- if $k.redisPassword }}{{ $_ := set $items "redis-password" $k.redisPassword }}{{ end -}}
{{- if $k.assertionKey }}{{ $_ := set $items "assertion-key.pem" $k.assertionKey }}{{ end -}}
{{- else -}}
{{- $s := .Values.secrets -}}
{{- if $s.clientSecret }}{{ $_ := set $items "client-secret" "client-secret" }}{{ end -}}
{{- $_ := set $items "session-secrets" "session-secrets" -}}
{{- if or $s.redisPassword (and .Values.redis.enabled .Values.redis.auth.enabled) }}{{ $_ := set $items "redis-password" "redis-password" }}{{ end -}}
{{- if or $s.assertionKey $s.generateAssertionKey }}{{ $_ := set $items "assertion-key.pem" "assertion-key.pem" }}{{ end -}}
{{- end -}}
{{- toYaml $items -}}
{{- end -}}

{{/*
portcullis.existingSecretValue returns the base64 value of key in the chart's Secret as
it is in the cluster (so generated secrets survive upgrades), or "" (new install, or a
render that cannot read the cluster, where lookup finds nothing).
*/}}
{{- define "portcullis.existingSecretValue" -}}
{{- $s := lookup "v1" "Secret" .root.Release.Namespace (include "portcullis.fullname" .root) -}}
{{- if and $s $s.data -}}
{{- index $s.data .key | default "" -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.clusterReadable is "true" when this render reads the cluster (helm install and
upgrade, --dry-run=server). Listing ConfigMaps in a namespace always answers a list object
there (every namespace has kube-root-ca.crt; even an empty or missing namespace answers an
empty list), while helm template, a client-side --dry-run, helm lint and renderers such as
Argo CD answer every lookup with an empty map.
*/}}
{{- define "portcullis.clusterReadable" -}}
{{- if lookup "v1" "ConfigMap" .Release.Namespace "" }}true{{ end -}}
{{- end -}}

{{/*
portcullis.generatedSecretKeys lists (comma-separated) the keys of the chart's Secret that no
value in secrets.* gives, so the chart would generate them.
*/}}
{{- define "portcullis.generatedSecretKeys" -}}
{{- $s := .Values.secrets -}}
{{- $items := include "portcullis.secretItems" . | fromYaml -}}
{{- $keys := list -}}
{{- if not $s.sessionSecrets }}{{ $keys = append $keys "session-secrets" }}{{ end -}}
{{- if and (hasKey $items "redis-password") (not $s.redisPassword) }}{{ $keys = append $keys "redis-password" }}{{ end -}}
{{- if and (hasKey $items "assertion-key.pem") (not $s.assertionKey) }}{{ $keys = append $keys "assertion-key.pem" }}{{ end -}}
{{- join ", " $keys -}}
{{- end -}}

{{/*
portcullis.requireKeepableSecrets fails a render that would have to generate a secret but
cannot read the cluster to keep the one generated before: it would render a different random
value every time (with Argo CD, on every sync), rotating the session secret and signing
everybody out. The message says what to set instead.
*/}}
{{- define "portcullis.requireKeepableSecrets" -}}
{{- $missing := include "portcullis.generatedSecretKeys" . -}}
{{- if and $missing (not (include "portcullis.clusterReadable" .)) -}}
{{- fail (printf `

secrets: this render cannot read the cluster (helm template, helm lint, a client-side
--dry-run, Argo CD), so it cannot keep generated values (%s) and will not invent new ones
on every render (a new session secret signs everybody out). Either
  - set existingSecret to a Secret you manage, with the keys client-secret, session-secrets
    (base64 secrets of >= 32 bytes, one per line) and assertion-key.pem (a PEM EC or RSA key), or
  - give the values: --set secrets.sessionSecrets[0]="$(openssl rand -base64 32)",
    --set-file secrets.assertionKey=key.pem (openssl ecparam -name prime256v1 -genkey -noout -out key.pem)
    or --set secrets.generateAssertionKey=false (one replica only: each pod then signs with its own key),
    and secrets.redisPassword with the chart's Redis, or
  - render with helm install / helm upgrade, which read the cluster and keep what they generate.` $missing) -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.keptSecret returns the base64 value of .key for the chart's Secret when secrets.*
gives none: the value already in the cluster (kept across upgrades), else a new one. Only
called after portcullis.requireKeepableSecrets, so "a new one" happens only on a render that
reads the cluster: the first install, or a key needed for the first time. A new value is
generated once per render and remembered in the render's context, so that the checksums that
include secret.yaml (the pods' annotations) hash the value the Secret holds: a checksum of
another random value would change on the first upgrade, rolling the pods and restarting the
chart's Redis, whose sessions live in memory only.
*/}}
{{- define "portcullis.keptSecret" -}}
{{- $memo := get .root "portcullisKeptSecrets" -}}
{{- if not $memo -}}
{{- $memo = dict -}}
{{- $_ := set .root "portcullisKeptSecrets" $memo -}}
{{- end -}}
{{- if not (hasKey $memo .key) -}}
{{- $v := include "portcullis.existingSecretValue" . -}}
{{- if $v -}}
{{- else if eq .key "session-secrets" -}}
{{- $v = randBytes 32 | b64enc -}}
{{- else if eq .key "redis-password" -}}
{{- $v = randAlphaNum 40 | b64enc -}}
{{- else -}}
{{- $v = genPrivateKey "ecdsa" | b64enc -}}
{{- end -}}
{{- $_ := set $memo .key $v -}}
{{- end -}}
{{- get $memo .key -}}
{{- end -}}

{{/*
portcullis.requireSharedAssertionKey fails a gateway of more than one pod (replicaCount > 1, or
the HPA) that signs the identity assertion with a key each pod generates for itself: the app
fetches {prefix}/jwks.json through the Service from one pod and then refuses the assertions
every other pod signs. The key must come from the Secret (or a file the config names). With
existingConfigMap the chart cannot see the configuration, so it does not judge it.
*/}}
{{- define "portcullis.requireSharedAssertionKey" -}}
{{- $headers := (.Values.config | default dict).headers | default dict -}}
{{- $assertionOff := and (hasKey $headers "assertion") (eq (toString (index $headers "assertion")) "") -}}
{{- $several := or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) -}}
{{- $items := include "portcullis.secretItems" . | fromYaml -}}
{{- if and (eq .Values.mode "gateway") (not .Values.existingConfigMap) $several (not $assertionOff) (not (hasKey $items "assertion-key.pem")) (not (hasKey $headers "assertion_key_file")) -}}
{{- fail `

secrets: several gateway pods (replicaCount > 1 or autoscaling.enabled) but no shared key signs
the identity assertion (secrets.generateAssertionKey is false, or existingSecretKeys.assertionKey
is ""), so each pod would sign with a key of its own and the app would refuse the assertions of
every pod but the one whose jwks.json it fetched. Give the pods one key: secrets.assertionKey
(--set-file secrets.assertionKey=key.pem), secrets.generateAssertionKey=true, or an
existingSecret key named by existingSecretKeys.assertionKey; or run one replica.` -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.requireServableConfig fails a render whose configuration the gateway is sure to
refuse at start (`serve` never starts on what `check` refuses), where the chart itself wired
it so: the pods would crash-loop, and an upgrade would stall half-rolled. With existingConfigMap
the chart cannot see the configuration, so it does not judge it.
*/}}
{{- define "portcullis.requireServableConfig" -}}
{{- if not .Values.existingConfigMap -}}
{{- $session := (.Values.config | default dict).session | default dict -}}
{{- $items := include "portcullis.secretItems" . | fromYaml -}}
{{- if not (or (hasKey $items "session-secrets") (index $session "secrets") (index $session "secrets_file")) -}}
{{- fail `

existingSecretKeys.sessionSecrets is "" and config.session names no secrets_file, so the gateway
would have no session.secrets and every pod would refuse to start. Name the key of existingSecret
that holds them (existingSecretKeys.sessionSecrets: session-secrets; base64 secrets of >= 32
bytes, one per line), or set config.session.secrets_file to a file you mount (extraVolumes).` -}}
{{- end -}}
{{- $addrs := list "redis_url" "redis_sentinel_addrs" "redis_cluster_addrs" -}}
{{- $hasAddr := false -}}
{{- range $k := $addrs }}{{ if index $session $k }}{{ $hasAddr = true }}{{ end }}{{ end -}}
{{- if and (eq (toString (index $session "store" | default "cookie")) "redis") (not .Values.redis.enabled) (not $hasAddr) -}}
{{- fail `

config.session.store is "redis" but no Redis is named, so every pod would refuse to start. Set
redis.enabled: true (the chart's own Redis), or config.session.redis_url (or
redis_sentinel_addrs + redis_sentinel_master, or redis_cluster_addrs) for yours.` -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.durationSeconds turns a Go duration string ("5s", "1m30s", "1.5h", "250ms", "0") into
seconds, or fails naming the value: the chart compares it with terminationGracePeriodSeconds.
*/}}
{{- define "portcullis.durationSeconds" -}}
{{- $d := trimPrefix "+" (toString .value) -}}
{{- $unit := `([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)` -}}
{{- if not (regexMatch (printf "^(0|(%s)+)$" $unit) $d) -}}
{{- fail (printf "config.server.%s = %q is not a duration (write it as \"30s\" or \"1m30s\")" .key (toString .value)) -}}
{{- end -}}
{{- $factor := dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "μs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- $total := 0.0 -}}
{{- range $part := regexFindAll $unit $d -1 -}}
{{- $num := regexFind `^[0-9]*\.?[0-9]*` $part -}}
{{- $total = addf $total (mulf (float64 $num) (get $factor (trimPrefix $num $part))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
portcullis.requireGracePeriod fails when terminationGracePeriodSeconds is not above
config.server.shutdown_delay + shutdown_timeout (defaults 5s and 30s): the kubelet would kill
the pod with SIGKILL while requests still drain, cutting them off mid-response. With
existingConfigMap the durations are in a ConfigMap the chart does not read.
*/}}
{{- define "portcullis.requireGracePeriod" -}}
{{- if not .Values.existingConfigMap -}}
{{- $server := (.Values.config | default dict).server | default dict -}}
{{- $sum := 0.0 -}}
{{- range $key, $default := dict "shutdown_delay" "5s" "shutdown_timeout" "30s" -}}
{{- $v := index $server $key | default $default -}}
{{- $sum = addf $sum (include "portcullis.durationSeconds" (dict "key" $key "value" $v) | float64) -}}
{{- end -}}
{{- if le (float64 .Values.terminationGracePeriodSeconds) $sum -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be above config.server.shutdown_delay + shutdown_timeout (%vs): the kubelet would SIGKILL the pod while requests still drain. Raise terminationGracePeriodSeconds or lower the two." .Values.terminationGracePeriodSeconds $sum) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.refuseSecretInConfig fails when .value (a string, or a list of them) holds a secret
written into `config`, which the chart renders into a ConfigMap: more can read a ConfigMap than
a Secret (Kubernetes' view role, kubectl describe). A ${NAME} reference only, or an empty value
(a public client's client_secret = ""), is no secret, as for `portcullis check`'s warning. The
failure names .key, never the value.
*/}}
{{- define "portcullis.refuseSecretInConfig" -}}
{{- range $v := ternary .value (list .value) (kindIs "slice" .value) -}}
{{- if not (or (eq (toString $v) "") (regexMatch `^\$\{[A-Za-z_][A-Za-z0-9_]*\}$` (toString $v))) -}}
{{- fail (printf "config.%s: a secret in config would sit in the ConfigMap, which more can read than the Secret (Kubernetes' view role, kubectl describe); give it with secrets.* / existingSecret, or as ${NAME} from an environment variable (extraEnv with a secretKeyRef); the value is not shown" $.key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.config assembles the configuration map: `config` plus what the chart owns
(provider.kind google for Google's issuer given without a kind, listen addresses, *_file
paths of the mounted secrets, the in-chart Redis address).
*/}}
{{- define "portcullis.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- range $section := list "server" "provider" "session" "headers" -}}
{{- if not (kindIs "map" (get $cfg $section)) }}{{ $_ := set $cfg $section dict }}{{ end -}}
{{- end -}}
{{- $provider := get $cfg "provider" -}}
{{- if and (not (hasKey $provider "kind")) (eq (trimSuffix "/" (toString (get $provider "issuer"))) "https://accounts.google.com") -}}
{{- /* Google's issuer without a kind: kind google, which asks for offline access (values.yaml). */ -}}
{{- $_ := set $provider "kind" "google" -}}
{{- end -}}
{{- $server := get $cfg "server" -}}
{{- range $k := list "listen" "ops_listen" -}}
{{- if hasKey $server $k }}{{ fail (printf "config.server.%s is set by the chart from ports.*; remove it" $k) }}{{ end -}}
{{- end -}}
{{- $_ := set $server "listen" (printf ":%d" (int .Values.ports.http)) -}}
{{- $_ := set $server "ops_listen" (printf ":%d" (int .Values.ports.ops)) -}}
{{- $items := include "portcullis.secretItems" . | fromYaml -}}
{{- $dir := trimSuffix "/" .Values.secretsDir -}}
{{- $files := list
      (list "provider" "client_secret" "client-secret")
      (list "session" "secrets" "session-secrets")
      (list "session" "redis_password" "redis-password")
      (list "headers" "assertion_key" "assertion-key.pem") -}}
{{- range $f := $files -}}
{{- $table := get $cfg (index $f 0) -}}
{{- $key := index $f 1 -}}
{{- if hasKey $table $key -}}
{{- include "portcullis.refuseSecretInConfig" (dict "key" (printf "%s.%s" (index $f 0) $key) "value" (get $table $key)) -}}
{{- end -}}
{{- if hasKey $items (index $f 2) -}}
{{- if or (hasKey $table $key) (hasKey $table (printf "%s_file" $key)) -}}
{{- fail (printf "config.%s.%s: secrets come from the chart's Secret (secrets.* / existingSecret); remove it from config" (index $f 0) $key) -}}
{{- end -}}
{{- $_ := set $table (printf "%s_file" $key) (printf "%s/%s" $dir (index $f 2)) -}}
{{- end -}}
{{- end -}}
{{- $session := get $cfg "session" -}}
{{- with get $session "redis_url" -}}
{{- /* The user information as the Redis client reads it: up to the authority's last "@". */ -}}
{{- $userinfo := trimSuffix "@" (regexReplaceAll `^[^:]*://` (regexFind `^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@` (toString .)) "") -}}
{{- $pw := splitList ":" $userinfo | rest | join ":" -}}
{{- if $pw }}{{ include "portcullis.refuseSecretInConfig" (dict "key" "session.redis_url's password" "value" $pw) }}{{ end -}}
{{- end -}}
{{- if and .Values.redis.enabled (not (hasKey $session "redis_url")) (not (hasKey $session "redis_sentinel_addrs")) (not (hasKey $session "redis_cluster_addrs")) -}}
{{- $_ := set $session "redis_url" (printf "redis://%s:%d/0" (include "portcullis.redisName" .) (int .Values.redis.port)) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
TOML rendering. portcullis.toml renders a map as a TOML document: scalars and inline values
first, then [tables] for maps, then [[arrays of tables]] for lists of maps. Inside a table,
maps become inline tables and lists of maps become [[table.key]] arrays. Null values are
left out. Strings are JSON strings, which are valid TOML basic strings.
*/}}
{{- define "portcullis.toml" -}}
{{- $doc := . -}}
{{- include "portcullis.toml.entries" (dict "path" "" "table" $doc "inlineMaps" false) -}}
{{- $order := list -}}
{{- range $k := list "server" "provider" "session" "headers" "log" }}{{ if hasKey $doc $k }}{{ $order = append $order $k }}{{ end }}{{ end -}}
{{- range $k := keys $doc | sortAlpha }}{{ if not (has $k $order) }}{{ $order = append $order $k }}{{ end }}{{ end -}}
{{- range $k := $order -}}
{{- $v := get $doc $k -}}
{{- if kindIs "map" $v }}

[{{ include "portcullis.toml.key" $k }}]
{{- include "portcullis.toml.entries" (dict "path" (include "portcullis.toml.key" $k) "table" $v "inlineMaps" true) -}}
{{- end -}}
{{- end -}}
{{- range $k := concat (list "upstreams" "routes") (keys $doc | sortAlpha) | uniq -}}
{{- $v := get $doc $k -}}
{{- if eq (include "portcullis.toml.isTableArray" $v) "true" -}}
{{- range $e := $v }}

[[{{ include "portcullis.toml.key" $k }}]]
{{- include "portcullis.toml.entries" (dict "path" (include "portcullis.toml.key" $k) "table" $e "inlineMaps" true) -}}
{{- end -}}
{{- end -}}
{{- end }}
{{ end -}}

{{/* portcullis.toml.entries renders the key = value lines of one table, then its [[path.key]] arrays. */}}
{{- define "portcullis.toml.entries" -}}
{{- $t := .table -}}
{{- $inline := .inlineMaps -}}
{{- range $k := keys $t | sortAlpha -}}
{{- $v := get $t $k -}}
{{- if and (not (kindIs "invalid" $v)) (ne (include "portcullis.toml.isTableArray" $v) "true") (or $inline (not (kindIs "map" $v))) }}
{{ include "portcullis.toml.key" $k }} = {{ include "portcullis.toml.value" $v }}
{{- end -}}
{{- end -}}
{{- if .path -}}
{{- $path := .path -}}
{{- range $k := keys $t | sortAlpha -}}
{{- $v := get $t $k -}}
{{- if eq (include "portcullis.toml.isTableArray" $v) "true" -}}
{{- range $e := $v }}

[[{{ $path }}.{{ include "portcullis.toml.key" $k }}]]
{{- include "portcullis.toml.entries" (dict "path" (printf "%s.%s" $path (include "portcullis.toml.key" $k)) "table" $e "inlineMaps" true) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "portcullis.toml.isTableArray" -}}
{{- $ok := and (kindIs "slice" .) (gt (len .) 0) -}}
{{- if $ok }}{{ range $e := . }}{{ if not (kindIs "map" $e) }}{{ $ok = false }}{{ end }}{{ end }}{{ end -}}
{{- $ok -}}
{{- end -}}

{{- define "portcullis.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end -}}
{{- end -}}

{{- define "portcullis.toml.value" -}}
{{- $v := . -}}
{{- if kindIs "string" $v -}}
{{- toJson $v -}}
{{- else if kindIs "bool" $v -}}
{{- ternary "true" "false" $v -}}
{{- else if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) -}}
{{- if eq (float64 $v) (float64 (int64 $v)) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end -}}
{{- else if kindIs "slice" $v -}}
[{{ range $i, $e := $v }}{{ if $i }}, {{ end }}{{ include "portcullis.toml.value" $e }}{{ end }}]
{{- else if kindIs "map" $v -}}
{{ "{" }}{{ $first := true }}{{ range $k := keys $v | sortAlpha }}{{ $e := get $v $k }}{{ if not (kindIs "invalid" $e) }}{{ if not $first }},{{ end }}{{ $first = false }} {{ include "portcullis.toml.key" $k }} = {{ include "portcullis.toml.value" $e }}{{ end }}{{ end }} {{ "}" }}
{{- else -}}
{{- fail (printf "config: cannot render %v (%s) as TOML" $v (kindOf $v)) -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.configToml is the rendered config.toml. Its comment names the checks that work on
it: its secret files exist in the pods only, so a plain `portcullis check` elsewhere refuses it.
charts/configcomment_test.go runs each command it names.
*/}}
{{- define "portcullis.configToml" -}}
# Rendered by the Portcullis Helm chart from .Values.config; do not edit by hand.
# Its secret files are in the pods only. Check it from a Portcullis checkout with
#   scripts/chart-check.sh --strict CHART [your helm flags]
{{- if .Values.helmTest.enabled }}
# or in the cluster with
#   helm test {{ .Release.Name }} -n {{ .Release.Namespace }}
{{- end }}
{{ include "portcullis.config" . | fromYaml | include "portcullis.toml" | trim }}
{{- end -}}

{{/* Checksums that roll the pods when the configuration or the secrets change. */}}
{{- define "portcullis.configChecksum" -}}
{{- if .Values.existingConfigMap -}}
{{- $cm := lookup "v1" "ConfigMap" .Release.Namespace .Values.existingConfigMap -}}
{{- (($cm | default dict).data | default dict) | toJson | sha256sum -}}
{{- else -}}
{{- include "portcullis.configToml" . | sha256sum -}}
{{- end -}}
{{- end -}}

{{- define "portcullis.secretChecksum" -}}
{{- if .Values.existingSecret -}}
{{- $s := lookup "v1" "Secret" .Release.Namespace .Values.existingSecret -}}
{{- (($s | default dict).data | default dict) | toJson | sha256sum -}}
{{- else -}}
{{- include (print .Template.BasePath "/secret.yaml") . | sha256sum -}}
{{- end -}}
{{- end -}}

{{/*
portcullis.redisPasswordChecksum hashes the Redis password alone, so that the chart's Redis,
which reads it at start and keeps the sessions in memory only, restarts when it changes and
not when another secret is rotated (which would sign everybody out). .key is the password's
key in the Secret.
*/}}
{{- define "portcullis.redisPasswordChecksum" -}}
{{- if .root.Values.existingSecret -}}
{{- $s := lookup "v1" "Secret" .root.Release.Namespace .root.Values.existingSecret -}}
{{- index (($s | default dict).data | default dict) .key | default "" | sha256sum -}}
{{- else -}}
{{- $s := include (print .root.Template.BasePath "/secret.yaml") .root | fromYaml -}}
{{- index $s.data .key | default "" | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* The Portcullis container's volume mounts and the pod's volumes (also used by the sidecar docs). */}}
{{- define "portcullis.volumeMounts" -}}
- name: portcullis-config
  mountPath: /etc/portcullis/config.toml
  subPath: config.toml
  readOnly: true
- name: portcullis-secrets
  mountPath: {{ .Values.secretsDir }}
  readOnly: true
- name: portcullis-tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "portcullis.volumes" -}}
- name: portcullis-config
  configMap:
    name: {{ include "portcullis.configMapName" . }}
    items:
      - key: config.toml
        path: config.toml
- name: portcullis-secrets
  secret:
    secretName: {{ include "portcullis.secretName" . }}
    defaultMode: 0440
    items:
      {{- range $file, $key := include "portcullis.secretItems" . | fromYaml }}
      - key: {{ $key }}
        path: {{ $file }}
      {{- end }}
- name: portcullis-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}
