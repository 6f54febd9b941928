package idp

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"
)

// ErrInvalidTokenResponse means the token endpoint answered a code
// exchange or a refresh with tokens the gateway cannot use or keep as
// they are: a token_type other than Bearer, or a token with characters
// its syntax does not allow.
var ErrInvalidTokenResponse = errors.New("idp: the provider's token response is invalid")

// checkTokenResponse refuses a token response before any token in it is
// used or saved: token_type (checkTokenType), access_token and
// refresh_token of 1*VSCHAR without the space (RFC 6749 Appendix A.12,
// A.17; a token with whitespace inside is invalid, and the access token
// travels in an Authorization header), id_token of the characters of a
// compact JWS or JWE (checkTokenChars). Sessions are JSON, which turns a
// byte that is not UTF-8 into U+FFFD: a token that carried one (a
// form-encoded answer's %FF, GitHub's kind) was saved changed, stopped
// working at the provider, and signed the user out later with no error
// naming the cause. The error names the field and the byte, never the
// token.
func checkTokenResponse(tok *oauth2.Token, codeExchange bool) error {
	if err := checkTokenType(tok.TokenType, codeExchange); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidTokenResponse, err)
	}
	if err := checkVisibleToken("access_token", tok.AccessToken); err != nil {
		return err
	}
	if err := checkVisibleToken("refresh_token", tok.RefreshToken); err != nil {
		return err
	}
	if idt, ok := tok.Extra("id_token").(string); ok && idt != "" {
		if err := checkTokenChars(idt); err != nil {
			why := strings.TrimPrefix(err.Error(), ErrInvalidToken.Error()+": ")
			return fmt.Errorf("%w: id_token: %s", ErrInvalidTokenResponse, why)
		}
	}
	return nil
}

// checkVisibleToken refuses a token with a byte outside 0x21-0x7E; empty
// is left to the caller (x/oauth2 refuses an answer without access_token,
// and a refresh_token may be absent).
func checkVisibleToken(field, v string) error {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x21 || b > 0x7e {
			return fmt.Errorf("%w: %s has the character 0x%02x at offset %d, which RFC 6749 does not allow in a token",
				ErrInvalidTokenResponse, field, b, i)
		}
	}
	return nil
}
