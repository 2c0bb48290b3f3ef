package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"cmp"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// legacyKey is a legacy attribute key found in a map.
type legacyKey struct {
	key  string
	info schema.KeyInfo
}

// upgradeLegacy renames the legacy attribute keys of m (schema.Renames) to
// their current names and returns how many it renamed. A current key
// already set is never overwritten. When m holds several legacy names of
// one field, the first in the contract's order is renamed and the others
// are left as they are. It runs in place and is idempotent: a retried
// batch is not changed again.
func upgradeLegacy(m pcommon.Map) int {
	var found [4]legacyKey
	legacy := found[:0]
	for k := range m.All() {
		if info := schema.Info(k); info.Legacy > 0 {
			legacy = append(legacy, legacyKey{key: k, info: info})
		}
	}
	slices.SortStableFunc(legacy, func(a, b legacyKey) int { return cmp.Compare(a.info.Legacy, b.info.Legacy) })
	renamed := 0
	for _, l := range legacy {
		current := l.info.Name()
		if _, set := m.Get(current); set {
			continue
		}
		v, ok := m.Get(l.key)
		if !ok {
			continue
		}
		// Copy first: adding a key may move the map's storage.
		tmp := pcommon.NewValueEmpty()
		v.CopyTo(tmp)
		m.Remove(l.key)
		tmp.CopyTo(m.PutEmpty(current))
		renamed++
	}
	return renamed
}

// upgradeEvents renames legacy keys of a span's events; the span's own
// attributes are upgraded while their identity is resolved.
func upgradeEvents(span ptrace.Span) int {
	n := 0
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		n += upgradeLegacy(events.At(i).Attributes())
	}
	return n
}
