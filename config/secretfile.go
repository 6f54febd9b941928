package config

import (
	"os"
	"path/filepath"
	"strings"
)

// readSecretFile is readFile for a file that holds a secret (a client
// secret, the session secrets, the Redis password, the TLS, assertion or
// service-account key), with a warning when every user of the host can
// read it. It is a warning, not a refusal, as ssh's or PostgreSQL's is
// not: a file's mode is the operator's to choose, and a refusal would stop
// a gateway at an upgrade over a file that worked.
func (d *decoder) readSecretFile(key, name string) ([]byte, bool) {
	b, ok := d.readFile(key, name)
	if ok && worldReadable(d.resolvePath(name)) {
		d.warn(key, "%s can be read by every user of this host (its mode and every directory above it let others in): "+
			"chmod o-r %s (0600, or 0640 for a group the gateway's user is in)", name, name)
	}
	return b, ok
}

// worldReadable reports whether a user who is neither the owner of the
// regular file at path nor in its group can read it: the file is readable
// by others and every directory on the way to it lets others through. A
// file under a directory closed to others (mode 0700, as a secret
// directory often is) is not. Neither is a file in a Kubernetes secret or
// configMap volume (NAME a symbolic link to ..data/NAME): those are 0644
// unless defaultMode says otherwise, but the volume is the pod's own, and
// no other user of the node reaches it.
func worldReadable(path string) bool {
	if link, err := os.Readlink(path); err == nil && link == filepath.Join("..data", filepath.Base(path)) {
		return false
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return false
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o004 == 0 {
		return false
	}
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		di, err := os.Stat(dir)
		if err != nil || di.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

// noteInline records the key at path when raw, the value as the file
// writes it, holds a secret of its own rather than only a ${NAME}
// reference: the configuration file is then a secret file too
// (warnInlineSecrets).
func (d *decoder) noteInline(path, raw string) {
	if raw != "" && !isEnvRef(raw) {
		d.inline = append(d.inline, path)
	}
}

// isEnvRef reports whether s is one ${NAME} reference and nothing else.
func isEnvRef(s string) bool {
	name, ok := strings.CutPrefix(s, "${")
	name, ok2 := strings.CutSuffix(name, "}")
	return ok && ok2 && isEnvName(name)
}

// noteInlineURL is noteInline for the password in a URL's user
// information (redis_url): up to the authority's last "@", as the Redis
// client reads it.
func (d *decoder) noteInlineURL(path, raw string) {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return
	}
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
			d.noteInline(path, pw)
		}
	}
}

// warnInlineSecrets warns, as readSecretFile does for a secret file, when
// the configuration file holds a secret written into it and every user of
// the host can read it. It names the keys, never their values.
func (d *decoder) warnInlineSecrets() {
	if len(d.inline) == 0 || !worldReadable(d.file) {
		return
	}
	d.warn(d.inline[0], "%s holds secrets written into it (%s) and can be read by every user of this host "+
		"(its mode and every directory above it let others in): chmod o-r %s (0600, or 0640 for a group the gateway's user is in), "+
		"or give them as KEY_file or ${NAME}", d.file, strings.Join(d.inline, ", "), d.file)
}
