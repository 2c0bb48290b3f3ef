package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// RedactedMarker replaces values under the replace action.
const RedactedMarker = "[REDACTED]"

// redactor applies the redact rules while spans are written; the pushed
// data keeps its values, so a retried batch is not hashed twice.
type redactor struct {
	byKey map[string][]redactRule
}

type redactRule struct {
	action RedactAction
	ops    []string // empty: every operation
	key    []byte   // HMAC key for hash; nil: plain SHA-256
}

func newRedactor(rules []RedactRule) *redactor {
	if len(rules) == 0 {
		return nil
	}
	r := &redactor{byKey: map[string][]redactRule{}}
	for _, rule := range rules {
		rr := redactRule{action: rule.Action, ops: rule.Operations}
		if rule.HashKey != "" {
			rr.key = []byte(rule.HashKey)
		}
		for _, k := range ruleKeys(rule) {
			r.byKey[k] = append(r.byKey[k], rr)
		}
	}
	return r
}

// ruleKeys are the keys a rule names, and those of its classes; identity
// and operation keys route the span and are never redacted, whatever
// their class.
func ruleKeys(rule RedactRule) []string {
	keys := slices.Clone(rule.Keys)
	for _, c := range rule.Classes {
		class, err := c.class()
		if err != nil {
			continue // refused by Validate
		}
		for _, k := range schema.KeysOfClass(class) {
			if !schema.IdentityKeys(k) && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

var _ payload.Rewriter = (*redactor)(nil)

// Rewrite implements payload.Rewriter: the first rule for the key that
// covers the span's operation decides.
func (r *redactor) Rewrite(op, key string, v pcommon.Value) (payload.Action, string) {
	rules, ok := r.byKey[key]
	if !ok {
		return payload.Keep, ""
	}
	for _, rule := range rules {
		if !rule.covers(op) {
			continue
		}
		switch rule.action {
		case RedactDrop:
			return payload.Drop, ""
		case RedactReplace:
			return payload.Replace, RedactedMarker
		case RedactHash:
			return payload.Replace, rule.hash(v)
		}
	}
	return payload.Keep, ""
}

func (rule redactRule) covers(op string) bool {
	if len(rule.ops) == 0 {
		return true
	}
	op = schema.CanonicalOperation(op)
	for _, o := range rule.ops {
		if schema.CanonicalOperation(o) == op {
			return true
		}
	}
	return false
}

// hash returns "sha256:" and the hex SHA-256 (or HMAC-SHA256) of the value
// as text: equal contents give equal hashes.
func (rule redactRule) hash(v pcommon.Value) string {
	var data []byte
	if v.Type() == pcommon.ValueTypeStr {
		data = []byte(v.Str())
	} else {
		data = []byte(v.AsString())
	}
	var sum []byte
	if rule.key != nil {
		m := hmac.New(sha256.New, rule.key)
		m.Write(data)
		sum = m.Sum(nil)
		return "hmac-sha256:" + hex.EncodeToString(sum)
	}
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}
