package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// EntraError is the error answer of a token endpoint (Microsoft Entra, or
// a managed identity endpoint) to a token request. It holds no token, secret or
// assertion, and Entra's description is shortened and scrubbed.
type EntraError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the AADSTS code, such as "AADSTS7000215", when Entra gave one.
	Code string
	// OAuthError is the OAuth error, such as "invalid_client".
	OAuthError string
	// Description is the first line of Entra's error_description, scrubbed.
	Description string
	// Hint says what to fix, for the codes this extension knows.
	Hint string
	// CorrelationID identifies the request for Microsoft support.
	CorrelationID string
}

func (e *EntraError) Error() string {
	var b strings.Builder
	b.WriteString("the token endpoint answered HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.OAuthError != "" {
		fmt.Fprintf(&b, " (%s)", e.OAuthError)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Hint != "" {
		b.WriteString(" — ")
		b.WriteString(e.Hint)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " [correlation id %s]", e.CorrelationID)
	}
	return b.String()
}

// aadstsHints maps AADSTS codes to what the operator should fix.
var aadstsHints = map[string]string{
	"AADSTS700016":  "the application (client_id) is not found in this tenant: check client_id, and that the app is multi-tenant and has a service principal (admin consent) in the tenant the spans belong to, or pin tenant_id",
	"AADSTS7000215": "invalid client secret: use the secret's value, not its id, and check it has not been replaced",
	"AADSTS7000222": "the client secret has expired: create a new one and update client_secret",
	"AADSTS700027":  "the certificate's signature was not accepted: upload this certificate (public part) to the app registration, or fix certificate_file/private_key_file",
	"AADSTS65001":   "admin consent is missing: a tenant admin must grant the app the Agent365.Observability.OtelWrite application permission",
	"AADSTS650051":  "admin consent is missing or incomplete in this tenant: a tenant admin must consent to the app and its Agent365.Observability.OtelWrite permission",
	"AADSTS90002":   "tenant not found: check the tenant id of the spans (microsoft.tenant.id) or tenant_id, and the authority of the cloud",
	"AADSTS900023":  "the tenant id is not a valid tenant id or domain name: check microsoft.tenant.id or tenant_id",
	"AADSTS500011":  "the Agent 365 observability API (resource principal) is not present in this tenant: Agent 365 must be enabled in the tenant, and scopes must name api://9b975845-388f-4429-889e-eab1ef63949c/.default",
	"AADSTS700024":  "the client assertion has expired or is not yet valid: renew the federated token file (workload identity rotates it), check the clock; for agent_blueprint the hop 1 token expired",
	"AADSTS700211":  "no federated identity credential matches the presented assertion: check the app's federated credential (issuer, subject, audience api://AzureADTokenExchange); for agent_blueprint, the agent must belong to the blueprint and hop 1 must run in the agent's tenant",
	"AADSTS70011":   "the scope is not valid: for app-only tokens use one scope ending in /.default",
	"AADSTS1002012": "the scope is not valid for client credentials: it must end in /.default",
	"AADSTS82001":   "this application is an agent identity (or blueprint) and cannot use the plain client credentials grant: configure it under agent_blueprint (two-hop flow with fmi_path), with the blueprint's client_id and the agent instance id as the span's gen_ai.agent.id",
	"AADSTS7000112": "the application is disabled in this tenant",
	"AADSTS50034":   "the account or app does not exist in this tenant",
	"AADSTS7000218": "the request carries no client credential: set client_secret, certificate_file or federated_token_file",
	"AADSTS700025":  "the app is a public client and cannot use a secret or certificate: use a confidential (web) app registration",
}

var (
	aadstsCode   = regexp.MustCompile(`AADSTS\d+`)
	jwtLike      = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	longOpaque   = regexp.MustCompile(`[A-Za-z0-9_+=-]{100,}`)
	maxDescChars = 300
)

// entraErrorFrom turns MSAL's error for an HTTP answer into an EntraError.
// It returns nil for errors that are not HTTP answers.
func entraErrorFrom(err error, secrets ...string) *EntraError {
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		var pce *msalerrors.CallErr
		if !errors.As(err, &pce) || pce == nil {
			return nil
		}
		ce = *pce
	}
	e := &EntraError{}
	if ce.Resp != nil {
		e.StatusCode = ce.Resp.StatusCode
	}
	// MSAL's message is "http call(URL)(METHOD) error: reply status code
	// was N:\n<body>"; the body is Entra's JSON error.
	msg := ""
	if ce.Err != nil {
		msg = ce.Err.Error()
	}
	if _, body, ok := strings.Cut(msg, "\n"); ok {
		var r struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
			ErrorCodes       []int  `json:"error_codes"`
			CorrelationID    string `json:"correlation_id"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(body)), &r) == nil {
			e.OAuthError = scrub(r.Error, secrets...)
			e.CorrelationID = scrub(r.CorrelationID, secrets...)
			desc := r.ErrorDescription
			if c := aadstsCode.FindString(desc); c != "" {
				e.Code = c
			} else if len(r.ErrorCodes) > 0 {
				e.Code = "AADSTS" + strconv.Itoa(r.ErrorCodes[0])
			}
			e.Description = shortDescription(desc, e.Code, secrets...)
		}
	}
	e.Hint = aadstsHints[e.Code]
	if e.Hint == "" && e.StatusCode == 401 && e.OAuthError == "invalid_client" {
		e.Hint = "the client credential was not accepted: check client_id and the secret, certificate or federated credential"
	}
	return e
}

// shortDescription keeps the first line of Entra's description, without
// the code prefix, trace and correlation ids, scrubbed and shortened.
func shortDescription(desc, code string, secrets ...string) string {
	desc, _, _ = strings.Cut(desc, "\n")
	desc, _, _ = strings.Cut(desc, " Trace ID:")
	desc = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(desc), "\r"))
	if code != "" {
		desc = strings.TrimSpace(strings.TrimPrefix(desc, code+":"))
	}
	desc = scrub(desc, secrets...)
	if r := []rune(desc); len(r) > maxDescChars {
		desc = string(r[:maxDescChars]) + "…"
	}
	return desc
}

// redacted replaces what scrub removes.
const redacted = "[REDACTED]"

// scrub removes from s the given secrets in the forms they are echoed in
// (as is, URL-encoded, base64, JSON-escaped), anything shaped like a JWT,
// and long opaque strings. Secrets of any length are removed, even one
// character long, wherever they occur: the text is only diagnostic.
func scrub(s string, secrets ...string) string {
	if re := secretsPattern(secrets); re != nil {
		// one pass over s, so that a short secret is not found again in
		// the markers of another (or of an earlier scrub)
		s = re.ReplaceAllLiteralString(s, redacted)
	}
	s = jwtLike.ReplaceAllString(s, redacted)
	return longOpaque.ReplaceAllString(s, redacted)
}

// lastPattern caches the pattern of the last secrets: an extension's
// secrets rarely change.
var lastPattern struct {
	sync.Mutex
	key string
	re  *regexp.Regexp
}

// secretsPattern matches every form of the secrets, longest first, and
// the marker scrub writes; nil without secrets.
func secretsPattern(secrets []string) *regexp.Regexp {
	key := strings.Join(secrets, "\x00")
	if strings.Trim(key, "\x00") == "" {
		return nil
	}
	lastPattern.Lock()
	defer lastPattern.Unlock()
	if lastPattern.re != nil && lastPattern.key == key {
		return lastPattern.re
	}
	seen := map[string]bool{}
	var forms []string
	for _, sec := range secrets {
		for _, f := range secretForms(sec) {
			if f != "" && !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	slices.SortFunc(forms, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	alts := []string{regexp.QuoteMeta(redacted)}
	for _, f := range forms {
		alts = append(alts, quoteEscaped(f))
	}
	lastPattern.key, lastPattern.re = key, regexp.MustCompile(strings.Join(alts, "|"))
	return lastPattern.re
}

// secretForms are the ways a secret is echoed: as is, as a form or query
// value, as a path segment, in base64 and inside a JSON string.
func secretForms(sec string) []string {
	if sec == "" {
		return nil
	}
	b := []byte(sec)
	forms := []string{
		sec,
		url.QueryEscape(sec),
		url.PathEscape(sec),
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
	}
	if j, err := json.Marshal(sec); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	return forms
}

// quoteEscaped quotes s for a regexp, with the hex digits of its %XX
// escapes matching either case.
func quoteEscaped(s string) string {
	q := regexp.QuoteMeta(s)
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if q[i] == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2]) {
			b.WriteString("%(?i:" + q[i+1:i+3] + ")")
			i += 2
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scrubError is err with its message scrubbed; EntraErrors are already clean.
func scrubError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var ee *EntraError
	if errors.As(err, &ee) {
		return err
	}
	if msg := err.Error(); scrub(msg, secrets...) != msg {
		return errors.New(scrub(msg, secrets...))
	}
	return err
}
