package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// messageAttr is a parsed message list attribute: its parts change in the
// tree, which is written back to the value after changes.
type messageAttr struct {
	val  pcommon.Value
	orig string
	root *node
	msgs *node

	size        int // of the original value in the span
	normSaving  int // what writing the tree back saves by itself (spaces, escapes)
	wrapperText string
	wrapperSize int

	touched int  // parts changed
	wrapped bool // replaced whole by wrapperText
}

// parseMessages parses a {"version":..,"messages":[..]} wrapper, or a bare
// array of messages (the OpenTelemetry semantic conventions' shape); nil
// when the value is neither or holds no message.
func parseMessages(v pcommon.Value) *messageAttr {
	root, err := parseTree(v.Str())
	if err != nil {
		return nil
	}
	msgs := root
	if root.kind == 'o' {
		msgs = root.get("messages")
	}
	if msgs == nil || msgs.kind != 'a' || len(msgs.arr) == 0 {
		return nil
	}
	m := &messageAttr{val: v, orig: v.Str(), root: root, msgs: msgs}
	m.size = payload.StringSize(m.orig)
	m.normSaving = m.size - payload.StringSize(string(root.appendJSON(nil)))
	m.wrapperText = m.overflowWrapper()
	m.wrapperSize = payload.StringSize(m.wrapperText)
	return m
}

// overflowWrapper is what the attribute becomes when no message can stay:
// one message saying how many were removed, in the original's shape.
func (m *messageAttr) overflowWrapper() string {
	n := len(m.msgs.arr)
	noun := " messages"
	if n == 1 {
		noun = " message"
	}
	msg := []byte(`{"role":"system","parts":[{"type":"text","content":`)
	msg = payload.AppendString(msg, "[truncated: "+strconv.Itoa(n)+noun+" exceeded limit]")
	msg = append(msg, "}]}"...)
	if m.root.kind == 'a' {
		return "[" + string(msg) + "]"
	}
	b := []byte(`{"version":`)
	if v := m.root.get("version"); v != nil && v.kind == 's' && v.size() < minChange {
		b = v.appendJSON(b)
	} else {
		b = payload.AppendString(b, MessageSchemaVersion)
	}
	b = append(b, `,"messages":[`...)
	b = append(b, msg...)
	return string(append(b, "]}"...))
}

func (m *messageAttr) flush() {
	switch {
	case m.wrapped:
		m.val.SetStr(m.wrapperText)
	case m.touched > 0:
		m.val.SetStr(string(m.root.appendJSON(nil)))
	default:
		m.val.SetStr(m.orig)
	}
}

// toolPayloadField names the JSON payload field of tool parts.
var toolPayloadField = map[string]string{
	"tool_call":                 "arguments",
	"tool_call_response":        "response",
	"server_tool_call":          "server_tool_call",
	"server_tool_call_response": "server_tool_call_response",
}

// changes lists the changes of the parts, then the replacement of the
// whole attribute.
func (m *messageAttr) changes() []*change {
	var cs []*change
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
			if typ == "blob" && content != nil && content.kind == 's' && content.str != BlobSentinel {
				cs = appendIf(cs, m.sentinel(part, "content", BlobSentinel))
			}
			if field, ok := toolPayloadField[typ]; ok {
				if p := part.get(field); p != nil && !(p.kind == 's' && p.str == JSONSentinel) {
					cs = appendIf(cs, m.sentinel(part, field, JSONSentinel))
				}
				continue
			}
			if (typ == "text" || typ == "reasoning") && content != nil && content.kind == 's' {
				cs = appendIf(cs, m.cut(content))
			}
		}
	}
	residual := m.size - m.normSaving
	for _, c := range cs {
		residual -= c.saving
	}
	return append(cs, &change{
		key: residual, owner: m, whole: true,
		// The stage sets wrapped; flush writes it.
		apply: func() {}, reset: func() {},
	})
}

// spanCost is what a node of the tree takes in the span: its JSON text,
// escaped again as part of the attribute's string.
func spanCost(n *node) int {
	return textCost(string(n.appendJSON(nil)), escapedOnce)
}

// sentinel replaces field of part with the string sentinel.
func (m *messageAttr) sentinel(part *node, field, sentinel string) *change {
	orig := part.get(field)
	repl := &node{kind: 's', str: sentinel}
	key := spanCost(orig)
	saving := key - spanCost(repl)
	if orig.size() < minChange || saving <= 0 {
		return nil
	}
	return &change{
		key: key, saving: saving, owner: m,
		apply: func() { part.set(field, repl) },
		reset: func() { part.set(field, orig) },
	}
}

// cut cuts the text of a text or reasoning part.
func (m *messageAttr) cut(content *node) *change {
	orig := content.str
	full, saving, ok := cutText(orig, 0, escapedTwice)
	if content.size() < minChange || !ok {
		return nil
	}
	return &change{
		key: spanCost(content), saving: saving, owner: m,
		apply: func() { content.str = full },
		trim: func(shed int) int {
			cut, saved, _ := cutText(orig, shed, escapedTwice)
			content.str = cut
			return saved
		},
		reset: func() { content.str = orig },
	}
}
