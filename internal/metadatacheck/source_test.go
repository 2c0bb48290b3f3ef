package metadatacheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStringConstants(t *testing.T) {
	assert.ElementsMatch(t, []string{"sent", "failed"}, StringConstants(t, "testdata/consts", "outcome"))
	assert.Equal(t, []string{"ok"}, StringConstants(t, "testdata/consts", "result"))
}

func TestFuncNames(t *testing.T) {
	assert.Equal(t, []string{"count", "send"}, FuncNames(t, "testdata/consts/consts.go"))
}
