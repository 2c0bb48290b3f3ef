package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
)

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal decodes conf into cfg, and fails on any key, at any depth, that
// the exporter does not know.
//
// confmap's decoder already fails on unused keys, except where a squashed
// field decodes itself: confighttp.ClientConfig's Unmarshal must ignore the
// keys of its parent, and the rest of a struct holding such a field is then
// decoded ignoring unused keys too, all the way down. So the keys are first
// decoded, by the collector's own decoder, into a scratch value of strictType,
// where the client's settings are a plain struct; when that fails,
// unknownKeys names each unknown key by its full path, with the known key it
// is likely a typo of.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if conf == nil {
		return nil
	}
	strictErr := conf.Unmarshal(reflect.New(strictConfigType()).Interface())
	if strictErr != nil {
		if err := unknownKeys(conf.ToStringMap()); err != nil {
			return err
		}
	}
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	// The strict decode failed for a reason the real one does not see:
	// still an unknown key, if one unknownKeys cannot place.
	return strictErr
}

var unmarshalerType = reflect.TypeFor[confmap.Unmarshaler]()

var strictConfigType = sync.OnceValue(func() reflect.Type {
	return strictType(reflect.TypeFor[Config]())
})

// strictType is t with every squashed field that unmarshals itself replaced
// by a plain struct of its exported fields, recursively, so that confmap
// decodes their keys with unused-key errors. Other fields keep their types,
// and their own Unmarshal methods.
func strictType(t reflect.Type) reflect.Type {
	var fields []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if _, squash := fieldKey(f); squash && f.Type.Kind() == reflect.Struct && reflect.PointerTo(f.Type).Implements(unmarshalerType) {
			f.Type = strictType(f.Type)
		}
		fields = append(fields, f)
	}
	return reflect.StructOf(fields)
}

// fieldKey is the key of a struct field as mapstructure reads it, and
// whether the field is squashed into its parent.
func fieldKey(f reflect.StructField) (key string, squash bool) {
	name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if slices.Contains(strings.Split(opts, ","), "squash") {
		return "", true
	}
	if name == "" {
		name = f.Name
	}
	return name, false
}

// unknownKeys reports every key of raw, the configuration as a map, that
// Config does not know, in key order.
func unknownKeys(raw map[string]any) error {
	var errs []error
	walkKeys(raw, reflect.TypeFor[Config](), "", &errs)
	return errors.Join(errs...)
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	optionalPkgPath     = reflect.TypeFor[configoptional.Optional[struct{}]]().PkgPath()
)

// walkKeys checks the keys of v, found at path, against type t.
func walkKeys(v any, t reflect.Type, path string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if inner, ok := optionalOf(t); ok {
		// An optional section takes the keys of its value and "enabled".
		walkStruct(v, inner, path, []string{"enabled"}, errs)
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return // a scalar
	}
	switch t.Kind() {
	case reflect.Struct:
		walkStruct(v, t, path, nil, errs)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, k := range sortedKeys(m) {
			walkKeys(m[k], t.Elem(), join(path, k), errs)
		}
	case reflect.Slice, reflect.Array:
		// A list type that unmarshals itself may take another shape
		// (configopaque.MapList takes a map); only its list form is walked.
		list, ok := v.([]any)
		if !ok {
			return
		}
		for i, e := range list {
			walkKeys(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", errs)
		}
	}
}

// walkStruct checks the keys of v against the fields of struct t, plus
// extra keys its Unmarshal accepts.
func walkStruct(v any, t reflect.Type, path string, extra []string, errs *[]error) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	fields := map[string]reflect.Type{}
	open := collectFields(t, fields)
	if open {
		return
	}
	for _, k := range extra {
		fields[k] = nil
	}
	for _, k := range sortedKeys(m) {
		ft, known := fields[k]
		switch {
		case !known:
			*errs = append(*errs, unknownKeyError(path, k, sortedKeys(fields)))
		case ft != nil:
			walkKeys(m[k], ft, join(path, k), errs)
		}
	}
}

// collectFields adds the keys of struct t, following squashed fields, to
// fields. It reports whether t takes any key (a ",remain" field).
func collectFields(t reflect.Type, fields map[string]reflect.Type) (open bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if strings.Contains(f.Tag.Get("mapstructure"), ",remain") {
			open = true
			continue
		}
		key, squash := fieldKey(f)
		if squash {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && collectFields(ft, fields) {
				open = true
			}
			continue
		}
		if key != "-" {
			fields[key] = f.Type
		}
	}
	return open
}

// optionalOf returns T when t is configoptional.Optional[T].
func optionalOf(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct || t.PkgPath() != optionalPkgPath || !strings.HasPrefix(t.Name(), "Optional[") {
		return nil, false
	}
	get, ok := reflect.PointerTo(t).MethodByName("Get")
	if !ok || get.Type.NumOut() != 1 || get.Type.Out(0).Kind() != reflect.Pointer {
		return nil, false
	}
	return get.Type.Out(0).Elem(), true
}

func unknownKeyError(path, key string, known []string) error {
	msg := fmt.Sprintf("unknown key %q in the agent365 exporter configuration", join(path, key))
	if s := closest(key, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", join(path, s))
	}
	return errors.New(msg)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// closest returns the known key nearest to key, if it is near enough to be
// a typo.
func closest(key string, known []string) string {
	best, bestDist := "", len(key)/3+2
	for _, k := range known {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
