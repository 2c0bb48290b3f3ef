package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// upgradeLegacy renames the legacy attribute keys of m to their current
// names, unless the current key is already set, and returns how many it
// renamed. It runs in place and is idempotent: a retried batch is not
// changed again.
func upgradeLegacy(m pcommon.Map) int {
	var found [4]string
	legacy := found[:0]
	for k := range m.All() {
		if _, ok := schema.Current(k); ok {
			legacy = append(legacy, k)
		}
	}
	renamed := 0
	for _, k := range legacy {
		current, _ := schema.Current(k)
		if _, set := m.Get(current); set {
			continue
		}
		v, ok := m.Get(k)
		if !ok {
			continue
		}
		// Copy first: adding a key may move the map's storage.
		tmp := pcommon.NewValueEmpty()
		v.CopyTo(tmp)
		m.Remove(k)
		tmp.CopyTo(m.PutEmpty(current))
		renamed++
	}
	return renamed
}
