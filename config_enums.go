package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"fmt"
	"strings"

	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// Format is the body shape of requests.
type Format string

// Body formats.
const (
	// FormatA365 is the flattened JSON of the Agent 365 SDKs.
	FormatA365 Format = "a365"
	// FormatOTLPJSON is standard OTLP/HTTP JSON.
	FormatOTLPJSON Format = "otlp_json"
)

// UnmarshalText reads a format, refusing unknown ones.
func (f *Format) UnmarshalText(text []byte) error {
	v := Format(text)
	if err := v.validate(); err != nil {
		return err
	}
	*f = v
	return nil
}

func (f Format) validate() error {
	switch f {
	case FormatA365, FormatOTLPJSON:
		return nil
	}
	return fmt.Errorf("format %q is unknown; use %q (the Agent 365 SDKs' JSON) or %q (standard OTLP/HTTP JSON)", string(f), FormatA365, FormatOTLPJSON)
}

// ValidationMode says what happens to spans missing required attributes.
type ValidationMode string

// Validation modes.
const (
	ValidationOff     ValidationMode = "off"
	ValidationReport  ValidationMode = "report"
	ValidationEnforce ValidationMode = "enforce"
)

// UnmarshalText reads a mode, refusing unknown ones.
func (m *ValidationMode) UnmarshalText(text []byte) error {
	v := ValidationMode(text)
	if err := v.validate(); err != nil {
		return err
	}
	*m = v
	return nil
}

func (m ValidationMode) validate() error {
	switch m {
	case ValidationOff, ValidationReport, ValidationEnforce:
		return nil
	}
	return fmt.Errorf("mode %q is unknown; use %q, %q (count and log spans missing required attributes) or %q (drop them)",
		string(m), ValidationOff, ValidationReport, ValidationEnforce)
}

// RedactAction is what a redact rule does to a value.
type RedactAction string

// Redaction actions.
const (
	RedactDrop    RedactAction = "drop"
	RedactReplace RedactAction = "replace"
	RedactHash    RedactAction = "hash"
)

// UnmarshalText reads an action, refusing unknown ones.
func (a *RedactAction) UnmarshalText(text []byte) error {
	v := RedactAction(text)
	if err := v.validate(); err != nil {
		return err
	}
	*a = v
	return nil
}

func (a RedactAction) validate() error {
	switch a {
	case RedactDrop, RedactReplace, RedactHash:
		return nil
	}
	return fmt.Errorf("action %q is unknown; use %q, %q or %q", string(a), RedactDrop, RedactReplace, RedactHash)
}

// PrivacyClass is a privacy class of the service's attribute contract:
// EUII, EUPI, CustomerContent or OII.
type PrivacyClass string

// UnmarshalText reads a class in any letter case and writes it as the
// contract does.
func (c *PrivacyClass) UnmarshalText(text []byte) error {
	class, err := schema.ParseClass(strings.TrimSpace(string(text)))
	if err != nil {
		return err
	}
	*c = PrivacyClass(class.String())
	return nil
}

func (c PrivacyClass) class() (schema.Class, error) { return schema.ParseClass(string(c)) }
