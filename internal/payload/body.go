package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

// Span is an encoded span: Buf[Start:End] of the caller's span buffer,
// under scope number Scope of its body.
type Span struct {
	Start, End int
	Scope      int
}

// Chunk is a run of spans, spans[First:Last], and the exact size of its body.
type Chunk struct {
	First, Last int
	Size        int
}

// Layout holds the fixed parts of the bodies of one resource.
type Layout struct {
	Resource []byte   // opening of the body
	Scopes   [][]byte // opening of each scope's span list
}

// Chunks cuts spans, which must be ordered by scope, into consecutive runs
// whose bodies are at most limit bytes. A span too large to fit even alone
// gets a chunk of its own.
func (l *Layout) Chunks(dst []Chunk, spans []Span, limit int) []Chunk {
	fixed := len(l.Resource) + len(ResourceClose)
	c := Chunk{Size: fixed}
	scope := -1
	for i, s := range spans {
		add := s.End - s.Start
		if s.Scope != scope {
			add += len(l.Scopes[s.Scope]) + len(ScopeClose)
			if scope >= 0 {
				add++ // comma between scopes
			}
		} else {
			add++ // comma between spans
		}
		if i > c.First && c.Size+add > limit {
			c.Last = i
			dst = append(dst, c)
			c = Chunk{First: i, Size: fixed}
			add = s.End - s.Start + len(l.Scopes[s.Scope]) + len(ScopeClose)
		}
		c.Size += add
		scope = s.Scope
	}
	if len(spans) > c.First {
		c.Last = len(spans)
		dst = append(dst, c)
	}
	return dst
}

// Size is the exact size of the body of spans.
func (l *Layout) Size(spans []Span) int {
	c := l.Chunks(nil, spans, int(^uint(0)>>1))
	if len(c) == 0 {
		return 0
	}
	return c[0].Size
}

// AppendBody writes the body of spans, whose encodings are in buf.
func (l *Layout) AppendBody(dst, buf []byte, spans []Span) []byte {
	dst = append(dst, l.Resource...)
	scope := -1
	for _, s := range spans {
		if s.Scope != scope {
			if scope >= 0 {
				dst = append(dst, ScopeClose...)
				dst = append(dst, ',')
			}
			dst = append(dst, l.Scopes[s.Scope]...)
			scope = s.Scope
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, buf[s.Start:s.End]...)
	}
	if scope >= 0 {
		dst = append(dst, ScopeClose...)
	}
	return append(dst, ResourceClose...)
}
