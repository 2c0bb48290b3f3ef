package loadtest // import "github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// Stack is one sample of a CPU profile: its functions, leaf first, and the
// CPU time it stands for.
type Stack struct {
	Funcs []string
	CPU   int64 // nanoseconds
}

// ParseCPUProfile reads the stacks of a CPU profile in pprof's format
// (gzipped protobuf, as /debug/pprof/profile serves it). Only what the
// breakdown needs is read: samples, locations, functions, strings.
func ParseCPUProfile(raw []byte) ([]Stack, error) {
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(io.LimitReader(zr, 256<<20)); err != nil {
			return nil, err
		}
	}
	type sampleMsg struct{ locs, values []uint64 }
	var (
		types     [][2]uint64 // (type, unit) string indexes of each value
		samples   []sampleMsg
		locLines  = map[uint64][]uint64{} // location id -> function ids, innermost first
		funcNames = map[uint64]uint64{}   // function id -> name string index
		strs      []string
	)
	err := eachField(raw, func(num int, v uint64, b []byte) error {
		switch num {
		case 1: // sample_type
			var t [2]uint64
			err := eachField(b, func(n int, v uint64, _ []byte) error {
				if n == 1 || n == 2 {
					t[n-1] = v
				}
				return nil
			})
			types = append(types, t)
			return err
		case 2: // sample
			var s sampleMsg
			err := eachField(b, func(n int, v uint64, pb []byte) error {
				switch n {
				case 1:
					s.locs = appendVarints(s.locs, v, pb)
				case 2:
					s.values = appendVarints(s.values, v, pb)
				}
				return nil
			})
			samples = append(samples, s)
			return err
		case 4: // location
			var id uint64
			var fns []uint64
			err := eachField(b, func(n int, v uint64, lb []byte) error {
				switch n {
				case 1:
					id = v
				case 4: // line
					return eachField(lb, func(n int, v uint64, _ []byte) error {
						if n == 1 {
							fns = append(fns, v)
						}
						return nil
					})
				}
				return nil
			})
			locLines[id] = fns
			return err
		case 5: // function
			var id, name uint64
			err := eachField(b, func(n int, v uint64, _ []byte) error {
				switch n {
				case 1:
					id = v
				case 2:
					name = v
				}
				return nil
			})
			funcNames[id] = name
			return err
		case 6: // string_table
			strs = append(strs, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	cpu := -1
	for i, t := range types {
		if t[0] < uint64(len(strs)) && strs[t[0]] == "cpu" {
			cpu = i
		}
	}
	if cpu < 0 {
		return nil, errors.New("profile: no cpu values (not a CPU profile)")
	}
	name := func(fn uint64) string {
		if i, ok := funcNames[fn]; ok && i < uint64(len(strs)) {
			return strs[i]
		}
		return "?"
	}
	out := make([]Stack, 0, len(samples))
	for _, s := range samples {
		if cpu >= len(s.values) {
			continue
		}
		st := Stack{CPU: int64(s.values[cpu])}
		for _, l := range s.locs {
			for _, fn := range locLines[l] {
				st.Funcs = append(st.Funcs, name(fn))
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// eachField calls f for each field of a protobuf message: v is a varint's
// value, b a length-delimited field's bytes.
func eachField(msg []byte, f func(num int, v uint64, b []byte) error) error {
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return errors.New("bad field key")
		}
		msg = msg[n:]
		num, wire := int(key>>3), key&7
		var v uint64
		var b []byte
		switch wire {
		case 0:
			v, n = binary.Uvarint(msg)
			if n <= 0 {
				return errors.New("bad varint")
			}
			msg = msg[n:]
		case 1:
			if len(msg) < 8 {
				return errors.New("short fixed64")
			}
			msg = msg[8:]
		case 2:
			l, n := binary.Uvarint(msg)
			if n <= 0 || l > uint64(len(msg)-n) {
				return errors.New("bad length")
			}
			b, msg = msg[n:n+int(l)], msg[n+int(l):]
		case 5:
			if len(msg) < 4 {
				return errors.New("short fixed32")
			}
			msg = msg[4:]
		default:
			return fmt.Errorf("wire type %d", wire)
		}
		if err := f(num, v, b); err != nil {
			return err
		}
	}
	return nil
}

// appendVarints appends a repeated varint field: one value, or a packed run.
func appendVarints(dst []uint64, v uint64, packed []byte) []uint64 {
	if packed == nil {
		return append(dst, v)
	}
	for len(packed) > 0 {
		x, n := binary.Uvarint(packed)
		if n <= 0 {
			return dst
		}
		dst = append(dst, x)
		packed = packed[n:]
	}
	return dst
}

// Part is one part of the collector's work, recognised by the functions on
// a sample's stack.
type Part struct {
	Name  string
	Funcs *regexp.Regexp
}

// Parts are the collector's parts, most specific first: a sample belongs
// to the first part one of its stack's functions matches. The exporters
// run under the queue's consumers, and admission, the memory limiter and
// the queue's intake under the receiver's handler, so those come before
// the queue and the receiver; garbage collection comes first, whoever's
// allocation paid for it.
var Parts = []Part{
	{"GC (marking, sweeping, assists)", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|gcStart|forEachP|stopTheWorld)`)},
	{"agent365: encoding (payload, truncation, grouping)", regexp.MustCompile(`agent365exporter\.\(\*agent365Exporter\)\.(encode|truncate)$|agent365exporter/internal/(payload|truncate)\.`)},
	{"agent365: admission (identity, legacy names, required attributes)", regexp.MustCompile(`agent365exporter\.\(\*agent365Exporter\)\.admit`)},
	{"agent365: requests (plan, bodies, sending, answers)", regexp.MustCompile(`agent365exporter\.\(\*agent365Exporter\)\.(pushTraces|plan|deliver|attempt|send|post)|agent365exporter\.\(\*bodyReader\)`)},
	{"otlp_http: JSON marshaling", regexp.MustCompile(`ptrace\.\(\*JSONMarshaler\)|otlphttpexporter\.\(\*baseExporter\)\.pushTraces$`)},
	{"otlp_http: requests", regexp.MustCompile(`otlphttpexporter\.`)},
	{"queue: persistent storage (encoding, file)", regexp.MustCompile(`persistentQueue|filestorage|bbolt|exporterhelper/internal/queuebatch\.\(\*?[a-zA-Z]*[eE]ncoding\)`)},
	{"queue: batching and sizing", regexp.MustCompile(`exporterhelper/internal/(queuebatch|queue|sizer|request)\.|exporterhelper/internal\.`)},
	{"memory_limiter", regexp.MustCompile(`memorylimiter`)},
	{"receiver: decoding", regexp.MustCompile(`Unmarshal(Proto|VT)?|\.Decode|proto\.Unmarshal`)},
	{"receiver: HTTP/gRPC serving", regexp.MustCompile(`otlpreceiver|grpc/internal/transport|grpc\.\(\*Server\)|net/http\.\(\*conn\)|net/http\.\(\*connReader\)`)},
	{"exporters' HTTP client (connections, writes, reads)", regexp.MustCompile(`net/http\.\(\*persistConn\)|net/http\.\(\*Transport\)`)},
	{"Go runtime (scheduler, network poller, timers)", regexp.MustCompile(`^runtime\.(mcall|morestack|schedule|findRunnable|netpoll|sysmon|goexit|park_m|timer)`)},
}

// OtherPart is where samples matching no part go.
const OtherPart = "other"

// Breakdown is the share of CPU time of each part.
type Breakdown struct {
	Total time.Duration
	Parts map[string]time.Duration
}

// Share is part's fraction of the total.
func (b Breakdown) Share(part string) float64 {
	if b.Total == 0 {
		return 0
	}
	return float64(b.Parts[part]) / float64(b.Total)
}

// Break sorts stacks into parts.
func Break(stacks []Stack, parts []Part) Breakdown {
	b := Breakdown{Parts: map[string]time.Duration{}}
	for _, s := range stacks {
		name := OtherPart
	find:
		for _, p := range parts {
			for _, f := range s.Funcs {
				if p.Funcs.MatchString(f) {
					name = p.Name
					break find
				}
			}
		}
		b.Parts[name] += time.Duration(s.CPU)
		b.Total += time.Duration(s.CPU)
	}
	return b
}
