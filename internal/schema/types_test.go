package schema

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestTypeOf(t *testing.T) {
	for key, want := range map[string]Type{
		"server.port": TypeString, "gen_ai.usage.input_tokens": TypeInt, "gen_ai.usage.output_tokens": TypeInt,
		"gen_ai.response.finish_reasons": TypeStringArray, "gen_ai.response.finish_reason": TypeString,
		"user.email": TypeString, "gen_ai.caller.upn": TypeString, "gen_ai.event.content": TypeString,
	} {
		got, ok := TypeOf(key)
		assert.True(t, ok, key)
		assert.Equal(t, want, got, key)
	}
	_, ok := TypeOf("http.method")
	assert.False(t, ok)
	_, ok = TypeOf("traceId")
	assert.False(t, ok, "a span field, not an attribute")
	assert.Equal(t, "StringArray", TypeStringArray.String())
}

func value(raw any) pcommon.Value {
	v := pcommon.NewValueEmpty()
	if err := v.FromRaw(raw); err != nil {
		panic(err)
	}
	return v
}

func TestTypeMatchAndConvert(t *testing.T) {
	tests := []struct {
		name    string
		typ     Type
		in      any
		matches bool
		want    any // the converted value; nil: no lossless conversion
	}{
		{"string", TypeString, "443", true, nil},
		{"int port", TypeString, int64(443), false, "443"},
		{"negative int", TypeString, int64(-7), false, "-7"},
		{"double to string", TypeString, 443.0, false, nil},
		{"bool to string", TypeString, true, false, nil},
		{"slice to string", TypeString, []any{"a"}, false, nil},
		{"empty to string", TypeString, nil, false, nil},

		{"int", TypeInt, int64(33), true, nil},
		{"digits", TypeInt, "33", false, int64(33)},
		{"negative digits", TypeInt, "-4", false, int64(-4)},
		{"zero", TypeInt, "0", false, int64(0)},
		{"leading zero", TypeInt, "033", false, nil},
		{"plus sign", TypeInt, "+4", false, nil},
		{"space", TypeInt, " 4", false, nil},
		{"empty string", TypeInt, "", false, nil},
		{"not a number", TypeInt, "4k", false, nil},
		{"beyond int64", TypeInt, "9223372036854775808", false, nil},
		{"integral double", TypeInt, 33.0, false, int64(33)},
		{"fractional double", TypeInt, 33.5, false, nil},
		{"double beyond 2^53", TypeInt, math.Pow(2, 60), false, nil},
		{"negative zero", TypeInt, math.Copysign(0, -1), false, nil},
		{"NaN", TypeInt, math.NaN(), false, nil},
		{"infinity", TypeInt, math.Inf(1), false, nil},

		{"string array", TypeStringArray, []any{"stop", "length"}, true, nil},
		{"empty array", TypeStringArray, []any{}, true, nil},
		{"mixed array", TypeStringArray, []any{"stop", int64(1)}, false, nil},
		{"one string", TypeStringArray, "stop", false, []any{"stop"}},
		{"int to array", TypeStringArray, int64(1), false, nil},

		{"unknown type", TypeUnknown, int64(1), true, nil},
		{"uint64", TypeUInt64, int64(1), true, nil},
		{"negative uint64", TypeUInt64, int64(-1), false, nil},
		{"bytes", TypeBytes, []byte{1}, true, nil},
		{"object", TypeObject, map[string]any{"code": "Ok"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := value(tt.in)
			assert.Equal(t, tt.matches, tt.typ.Matches(v), "matches")
			before := fmt.Sprint(v.AsRaw()) // NaN is not equal to itself
			assert.Equal(t, tt.want != nil, tt.typ.Convertible(v), "convertible")
			converted := tt.typ.Convert(v)
			require.Equal(t, tt.want != nil, converted)
			if tt.want == nil {
				assert.Equal(t, before, fmt.Sprint(v.AsRaw()), "left as it is")
				return
			}
			assert.Equal(t, tt.want, v.AsRaw())
			assert.True(t, tt.typ.Matches(v), "converted values match")
		})
	}
}

func TestConvertInPlace(t *testing.T) {
	m := pcommon.NewMap()
	m.PutInt("server.port", 443)
	m.PutStr("gen_ai.response.finish_reasons", "stop")
	for k, v := range m.All() {
		typ, _ := TypeOf(k)
		assert.True(t, typ.Convert(v), k)
	}
	assert.Equal(t, map[string]any{"server.port": "443", "gen_ai.response.finish_reasons": []any{"stop"}}, m.AsRaw())
}

func TestClasses(t *testing.T) {
	for key, want := range map[string]Class{
		"user.email": ClassEUII, "gen_ai.caller.upn": ClassEUII, "microsoft.caller.upn": ClassEUII, "user.id": ClassEUPI,
		"gen_ai.input.messages": ClassCustomerContent, "gen_ai.event.content": ClassCustomerContent, "server.port": ClassOII,
		"gen_ai.operation.name": ClassNone, "http.method": ClassNone,
	} {
		assert.Equal(t, want, ClassOf(key), key)
	}
	for _, name := range []string{"EUII", "euii", "EUPI", "CustomerContent", "customercontent", "OII"} {
		c, err := ParseClass(name)
		require.NoError(t, err, name)
		assert.True(t, strings.EqualFold(c.String(), name), name)
	}
	for _, name := range []string{"", "none", "PII", "EUII "} {
		_, err := ParseClass(name)
		assert.Error(t, err, name)
	}
	euii := KeysOfClass(ClassEUII)
	assert.Equal(t, []string{"user.email", "microsoft.caller.upn", "gen_ai.caller.upn"}, euii[:3])
	assert.Contains(t, euii, "gen_ai.caller.agent.upn")
	assert.NotContains(t, euii, "user.id")
	for _, k := range euii {
		assert.Equal(t, ClassEUII, ClassOf(k), k)
	}
	content := KeysOfClass(ClassCustomerContent)
	assert.Contains(t, content, "gen_ai.event.content", "as the legacy name of gen_ai.tool.call.result")
	assert.Equal(t, 1, countOf(content, "gen_ai.event.content"))
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
