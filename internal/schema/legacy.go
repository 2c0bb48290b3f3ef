package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

// Renames maps every legacy attribute name the exporter renames to its
// field's current name: the contract's legacy names, but for those of
// fields DerivedFromLegacy. Do not modify it.
//
// When a span carries two legacy names of one field and not the current
// name, the first of them in the contract's order (Field.Legacy) is
// renamed and the other is left as it is; a current name already set is
// never overwritten.
var Renames = contract.renames

// Current returns the current name of a legacy attribute key.
func Current(key string) (string, bool) {
	info := Info(key)
	if info.Legacy == 0 {
		return "", false
	}
	return info.Name(), true
}
