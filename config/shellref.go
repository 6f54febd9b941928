package config

// shellRef is the byte offset (from 1) of the first "$NAME" in s written
// the shell's way, without braces, or 0. Only ${NAME} is expanded, and a
// "$" followed by anything else is kept as it is: client_secret =
// "$GOOGLE_CLIENT_SECRET" was that very string, so check said OK and every
// sign-in failed at the provider with invalid_client. A name counts when it
// has no lower-case letter, as environment variables are spelt, so that a
// password such as "pa$word" stays quiet; "$$" is a literal "$".
func shellRef(s string) int {
	for i := 0; i < len(s)-1; i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '$' || s[i+1] == '{' {
			i++ // "$$", or "${" that expand reads
			continue
		}
		if isShellName(s[i+1:]) {
			return i + 1
		}
	}
	return 0
}

// isShellName reports whether s begins with a run of letters, digits and
// "_" that starts with an upper-case letter or "_" and holds no lower-case
// letter.
func isShellName(s string) bool {
	if c := s[0]; !(c >= 'A' && c <= 'Z' || c == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			return false
		case !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'):
			return true
		}
	}
	return true
}
