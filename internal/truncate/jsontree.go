package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// node is a parsed JSON value that keeps object key order and number text,
// so that a message wrapper can be edited and written back faithfully.
type node struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	str  string
	num  json.Number
	b    bool
	arr  []*node
	obj  []member
}

type member struct {
	key string
	val *node
}

const maxTreeDepth = 256

var errTooDeep = errors.New("json nested too deeply")

func parseTree(s string) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	n, err := parseNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after JSON value")
	}
	return n, nil
}

func parseNode(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxTreeDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := parseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.obj = append(n.obj, member{key: key, val: v})
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &node{kind: 'a'}
			for dec.More() {
				v, err := parseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, v)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
		return nil, errors.New("unexpected delimiter")
	case string:
		return &node{kind: 's', str: t}, nil
	case json.Number:
		return &node{kind: 'n', num: t}, nil
	case bool:
		return &node{kind: 'b', b: t}, nil
	default:
		return &node{kind: 'z'}, nil
	}
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for i := range n.obj {
		if n.obj[i].key == key {
			return n.obj[i].val
		}
	}
	return nil
}

func (n *node) set(key string, v *node) {
	for i := range n.obj {
		if n.obj[i].key == key {
			n.obj[i].val = v
			return
		}
	}
	n.obj = append(n.obj, member{key: key, val: v})
}

func (n *node) appendJSON(dst []byte) []byte {
	switch n.kind {
	case 'o':
		dst = append(dst, '{')
		for i, m := range n.obj {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = payload.AppendString(dst, m.key)
			dst = append(dst, ':')
			dst = m.val.appendJSON(dst)
		}
		return append(dst, '}')
	case 'a':
		dst = append(dst, '[')
		for i, v := range n.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = v.appendJSON(dst)
		}
		return append(dst, ']')
	case 's':
		return payload.AppendString(dst, n.str)
	case 'n':
		return append(dst, n.num...)
	case 'b':
		if n.b {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	default:
		return append(dst, "null"...)
	}
}

// size is the length of n's JSON text.
func (n *node) size() int {
	switch n.kind {
	case 'o':
		s := 2 + max(len(n.obj)-1, 0)
		for _, m := range n.obj {
			s += payload.StringSize(m.key) + 1 + m.val.size()
		}
		return s
	case 'a':
		s := 2 + max(len(n.arr)-1, 0)
		for _, v := range n.arr {
			s += v.size()
		}
		return s
	case 's':
		return payload.StringSize(n.str)
	case 'n':
		return len(n.num)
	case 'b':
		if n.b {
			return 4
		}
		return 5
	default:
		return 4
	}
}
