package cache

import (
	"unsafe"

	"github.com/portcullis/portcullis"
)

// Sizes of the headers Size functions count for what a value points to.
const (
	stringHeader = int(unsafe.Sizeof(""))
	sliceHeader  = int(unsafe.Sizeof([]string(nil)))
	ifaceHeader  = int(unsafe.Sizeof(any(nil)))
	mapEntry     = 16 // per-entry bookkeeping of a Go map, roughly
)

// StringsSize is the bytes a []string holds: its backing array and the
// strings' contents.
func StringsSize(ss []string) int {
	n := len(ss) * stringHeader
	for _, s := range ss {
		n += len(s)
	}
	return n
}

// IdentitySize is the bytes an Identity holds, itself and every string,
// slice and claim it points to, so that a cache keeping identities alive
// counts what a large token put into them.
func IdentitySize(id *portcullis.Identity) int {
	if id == nil {
		return 0
	}
	return int(unsafe.Sizeof(*id)) + len(id.Subject) + len(id.Issuer) + len(id.Email) +
		len(id.PreferredUsername) + len(id.SessionID) + StringsSize(id.Groups) +
		StringsSize(id.Scopes) + StringsSize(id.UserinfoClaims) + claimsSize(id.Claims, 0)
}

// claimsSize is the bytes a decoded JSON object holds (maps, slices,
// strings, and a boxed word per scalar); depth stops a pathological nesting
// from costing a deep recursion (encoding/json allows 10,000 levels).
func claimsSize(v any, depth int) int {
	if depth > 64 {
		return 0
	}
	switch v := v.(type) {
	case map[string]any:
		n := 48 + len(v)*(stringHeader+ifaceHeader+mapEntry)
		for k, x := range v {
			n += len(k) + claimsSize(x, depth+1)
		}
		return n
	case []any:
		n := sliceHeader + len(v)*ifaceHeader
		for _, x := range v {
			n += claimsSize(x, depth+1)
		}
		return n
	case string:
		return stringHeader + len(v)
	default:
		return 8
	}
}
