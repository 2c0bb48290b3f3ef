// Package tokeninfo reads the claims of a JWT access token that help an
// operator fix an authorization failure. It never returns the token itself
// or its signature.
package tokeninfo // import "github.com/agent365-otel/agent365exporter/auth/internal/tokeninfo"

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Claims are the claims worth showing.
type Claims struct {
	AppID     string   `json:"appid"`
	AzP       string   `json:"azp"`
	Audience  audience `json:"aud"`
	TenantID  string   `json:"tid"`
	Roles     []string `json:"roles"`
	Scope     string   `json:"scp"`
	ExpiresAt int64    `json:"exp"`
}

// audience is a JWT "aud": a string or a list of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// Parse decodes the payload of a JWT, with or without a "Bearer " prefix.
// The signature is not checked: the claims are only shown, never trusted.
func Parse(token string) (Claims, bool) {
	token = strings.TrimSpace(token)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, false
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return Claims{}, false
	}
	return c, true
}

// ClientID is the application the token was issued to (appid for v1
// tokens, azp for v2).
func (c Claims) ClientID() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.AzP
}

// Expiry is the token's expiry, zero when it has none.
func (c Claims) Expiry() time.Time {
	if c.ExpiresAt == 0 {
		return time.Time{}
	}
	return time.Unix(c.ExpiresAt, 0)
}

// String describes the claims in one line, for logs and errors.
func (c Claims) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "appid=%q aud=%q", c.ClientID(), strings.Join(c.Audience, ","))
	if c.TenantID != "" {
		fmt.Fprintf(&b, " tid=%q", c.TenantID)
	}
	fmt.Fprintf(&b, " roles=%q scp=%q", strings.Join(c.Roles, " "), c.Scope)
	return b.String()
}
