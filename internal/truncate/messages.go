package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// messageAttr is a parsed message wrapper attribute, written back to its
// value after changes.
type messageAttr struct {
	val   pcommon.Value
	root  *node
	msgs  *node
	dirty bool
}

// parseMessages parses a {"version":..,"messages":[..]} wrapper, or a bare
// array of messages (the OpenTelemetry semantic conventions' shape); nil
// when the value is neither.
func parseMessages(v pcommon.Value) *messageAttr {
	root, err := parseTree(v.Str())
	if err != nil {
		return nil
	}
	msgs := root
	if root.kind == 'o' {
		msgs = root.get("messages")
	}
	if msgs == nil || msgs.kind != 'a' {
		return nil
	}
	return &messageAttr{val: v, root: root, msgs: msgs}
}

func (m *messageAttr) flush() {
	if m.dirty {
		m.val.SetStr(string(m.root.appendJSON(nil)))
		m.dirty = false
	}
}

// toolPayloadField names the JSON payload field of tool parts.
var toolPayloadField = map[string]string{
	"tool_call":                 "arguments",
	"tool_call_response":        "response",
	"server_tool_call":          "server_tool_call",
	"server_tool_call_response": "server_tool_call_response",
}

func (m *messageAttr) candidates() []*candidate {
	var cands []*candidate
	for _, msg := range m.msgs.arr {
		parts := msg.get("parts")
		if parts == nil || parts.kind != 'a' {
			continue
		}
		for _, part := range parts.arr {
			if part.kind != 'o' {
				continue
			}
			typ := ""
			if t := part.get("type"); t != nil && t.kind == 's' {
				typ = t.str
			}
			content := part.get("content")
			if typ == "blob" && content != nil && content.kind == 's' && content.str != BlobSentinel && content.str != "" {
				cands = append(cands, m.sentinel(part, "content", content.size(), BlobSentinel))
			}
			if field, ok := toolPayloadField[typ]; ok {
				if p := part.get(field); p != nil && !(p.kind == 's' && p.str == JSONSentinel) {
					cands = append(cands, m.sentinel(part, field, p.size(), JSONSentinel))
				}
				continue
			}
			if (typ == "text" || typ == "reasoning") && content != nil && content.kind == 's' && len(content.str) > minShrinkable {
				cands = append(cands, m.trim(content))
			}
		}
	}
	return cands
}

func (m *messageAttr) sentinel(part *node, field string, size int, sentinel string) *candidate {
	return &candidate{size: size, apply: func(int) int {
		m.dirty = true
		part.set(field, &node{kind: 's', str: sentinel})
		return size - len(sentinel) - 2
	}}
}

func (m *messageAttr) trim(content *node) *candidate {
	c := &candidate{size: len(content.str)}
	c.apply = func(shed int) int {
		before := len(content.str)
		if before <= len(TruncatedSuffix) {
			return 0
		}
		m.dirty = true
		content.str = trimString(content.str, shed)
		c.size = len(content.str)
		return before - c.size
	}
	c.more = func() bool { return c.size > minShrinkable }
	return c
}
