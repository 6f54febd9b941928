package idp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/ascii"
)

// HeaderValue is the one rule for a claim in an identity header: both the
// login and bearer-token checks (which refuse an identity with a value it
// refuses) and the forwarding step (which formats every value with it) call
// it.
//
// It formats v the way identity headers show claims: a string as it is, a
// number in plain decimal (GitHub's numeric id 12345678, not 1.2345678e+07),
// a boolean as true or false, an array of those joined with ",", anything
// else as compact JSON, nil as "".
//
// It refuses a value that a header cannot carry faithfully (RFC 9110 §5.5),
// so that the upstream never sees another value than the one the gateway
// checked: a control character (0x00-0x1F, horizontal tab included, or
// 0x7F), which a field value cannot hold or which proxies rewrite, a C1
// control character or line separator (lineBreaking), and
// white space at either end of the value or of an array element (Unicode
// white space included), which recipients strip, and a comma inside an array element, which the
// comma-separated list could not tell from two elements (the one group
// "staff,admins" would read as "staff" and "admins"). Other bytes from
// 0x80 (UTF-8 text) pass unchanged.
func HeaderValue(v any) (string, error) {
	switch x := v.(type) {
	case []string:
		for _, e := range x {
			if err := checkListElement(e); err != nil {
				return "", err
			}
		}
		return strings.Join(x, ","), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				return compactJSON(x) // JSON escapes every control character
			}
			s, err := HeaderValue(e)
			if err == nil {
				err = checkListElement(s)
			}
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	if f, isNum := v.(float64); isNum && !portcullis.ExactNumber(f) {
		return "", ErrInexactNumber
	}
	s, ok := scalarString(v)
	if !ok {
		return compactJSON(v)
	}
	if err := checkHeaderText(s); err != nil {
		return "", err
	}
	return s, nil
}

// compactJSON is HeaderValue's form of an object or of an array holding
// one. A number inside beyond ±(2^53 - 1) is refused as a scalar one is:
// JSON would carry the neighbour it was read as.
func compactJSON(v any) (string, error) {
	if !exactNumbers(v) {
		return "", ErrInexactNumber
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("idp: claim value cannot be formatted: %v", err)
	}
	return string(b), nil
}

// exactNumbers reports whether every number in a decoded JSON value is
// exact (portcullis.ExactNumber).
func exactNumbers(v any) bool {
	switch x := v.(type) {
	case float64:
		return portcullis.ExactNumber(x)
	case []any:
		for _, e := range x {
			if !exactNumbers(e) {
				return false
			}
		}
	case map[string]any:
		for _, e := range x {
			if !exactNumbers(e) {
				return false
			}
		}
	}
	return true
}

// scalarString formats a string, number, boolean or nil claim; ok is false
// for other shapes.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// IdentityValue is HeaderValue for the values that name the user or a
// group: the user, the email, preferred_username and the groups, which
// the identity headers and the signed assertion carry and applications key
// accounts and permissions on. Beyond what HeaderValue refuses, it refuses
// text that an application may read as another user or group
// (checkIdentityText).
func IdentityValue(v any) (string, error) {
	s, err := HeaderValue(v)
	if err != nil {
		return "", err
	}
	if err := checkIdentityText(s); err != nil {
		return "", err
	}
	return s, nil
}

// ErrLookalike is IdentityValue's refusal of a value an application may
// read as another one. Like a control character, it fails the login or the
// bearer token: the rules decided about the value as the provider sent it.
var ErrLookalike = errors.New("idp: a value an application may read as another (an ASCII look-alike such as a fullwidth letter, the Kelvin sign, a dotless i, a long s or a sharp s, an invisible character such as a zero-width space, a character of a newer Unicode than the gateway's, or text not in Unicode's composed form, NFC)")

// checkIdentityText refuses s when an application's normalisation would
// make it another value (ascii.Misreadable): fullwidth "ａｄｍｉｎ" is
// "admin" to Django's user names (NFKC), "\u212aate" is "kate" to
// strings.ToLower, "admın" is "admin" to Java's equalsIgnoreCase,
// "ka\u200bte" (a zero-width space) is "kate" to a Unicode collation, and
// an NFD "é" is the composed one to an application that applies NFC. The
// provider holds such a value as another user or group than the one it
// reads as, so the rules would decide about one and the application serve
// the other. Accented letters and other scripts in composed form pass.
func checkIdentityText(s string) error {
	if why := ascii.Misreadable(s); why != "" {
		return fmt.Errorf("%w: %s", ErrLookalike, why)
	}
	return nil
}

// ErrInexactNumber is HeaderValue's refusal of a number beyond ±(2^53 - 1)
// (portcullis.ExactNumber): decoded, it is not the number the token
// carried, and the upstream would see a neighbour's. Like a control
// character, it fails the login or the bearer token.
var ErrInexactNumber = errors.New("idp: a number too large to be read exactly (beyond 2^53 - 1)")

// ErrAmbiguousList is HeaderValue's refusal of an array with a comma inside
// an element: the comma-separated header would read the one group
// "staff,admins" as two, and leaving the header out would hide the user's
// other groups, some of which may restrict. Like a control character, it
// fails the login or the bearer token (the sign-in page names the group).
var ErrAmbiguousList = errors.New("idp: a list element contains a comma, which the comma-separated header would read as two elements")

// checkListElement refuses what HeaderValue refuses in an array element.
func checkListElement(s string) error {
	if strings.IndexByte(s, ',') >= 0 {
		return fmt.Errorf("%w: %q", ErrAmbiguousList, s)
	}
	return checkHeaderText(s)
}

// checkHeaderText refuses what HeaderValue refuses in one string.
func checkHeaderText(s string) error {
	ascii := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f {
			return fmt.Errorf("idp: value contains a control character (0x%02x) at offset %d", b, i)
		} else if b >= 0x80 {
			ascii = false
		}
	}
	if !ascii {
		for i, r := range s {
			if lineBreaking(r) {
				return fmt.Errorf("idp: value contains a control character (%U) at offset %d", r, i)
			}
		}
	}
	if s == "" {
		return nil
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if trimmed(first) || trimmed(last) {
		return fmt.Errorf("idp: value has white space at its start or end, which a header or the application would lose")
	}
	return nil
}

// lineBreaking reports whether r is a C1 control character (U+0080 to
// U+009F) or the line or paragraph separator: a header carries their UTF-8
// bytes, but next line (U+0085) and the separators end a line in Python's
// splitlines, Java's regular expressions, JavaScript and many log viewers,
// and CSI (U+009B) starts a terminal escape, so an application that logs
// the header would write a line the user chose.
func lineBreaking(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

// trimmed reports whether r is white space that a recipient strips from a
// value's ends: the space a header parser drops, and the Unicode white
// space (no-break space, ideographic space, ...) and byte-order mark that
// Go's strings.TrimSpace, JavaScript's trim() or Python's strip() remove,
// so that "alice" and "alice" plus a no-break space would read as one user;
// and U+180E, white space up to Unicode 6.2, which runtimes of that age
// still strip (Java 8's Character.isWhitespace, behind Spring's and
// Commons' trim helpers; Python 2).
func trimmed(r rune) bool {
	return unicode.IsSpace(r) || r == '\ufeff' || r == '\u180e'
}

// ErrUnverifiedEmail refuses an identity whose user_claim is its email
// address while the provider has not verified that address: an unverified
// address is never identity, as user or as email.
var ErrUnverifiedEmail = errors.New("idp: the user is an email address the provider has not verified")
