package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// sentAuthorization is the Authorization header as it went out: an auth
// round tripper sets it on its own copy of the request, which the response
// points back to.
func sentAuthorization(resp *http.Response, req *http.Request) string {
	if resp.Request != nil {
		if v := resp.Request.Header.Get("Authorization"); v != "" {
			return v
		}
	}
	return req.Header.Get("Authorization")
}

// jwtPattern matches anything shaped like a JWT.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// scrub removes the request's bearer token, in every form a service may
// echo it (as is, URL-escaped, base64, JSON-escaped) and whatever its
// length, and anything shaped like a JWT, from response text before it
// reaches logs or errors.
func scrub(text, authorization string) string {
	tok := strings.TrimSpace(authorization)
	if scheme, rest, ok := strings.Cut(tok, " "); ok && strings.EqualFold(scheme, "bearer") {
		tok = strings.TrimSpace(rest)
	}
	if tok != "" {
		forms := tokenForms(tok)
		// Longest first: a form never leaves part of a longer one behind.
		slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
		pairs := make([]string, 0, 2*len(forms))
		for _, f := range slices.Compact(forms) {
			pairs = append(pairs, f, "[REDACTED]")
		}
		text = strings.NewReplacer(pairs...).Replace(text)
	}
	return jwtPattern.ReplaceAllString(text, "[REDACTED]")
}

// tokenForms are the ways a token can be written back in a response.
func tokenForms(tok string) []string {
	b := []byte(tok)
	forms := []string{
		tok, url.QueryEscape(tok), url.PathEscape(tok),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
	}
	if j, err := json.Marshal(tok); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	return forms
}
