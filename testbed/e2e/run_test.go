package e2e

import (
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunScript runs the README's first command's script once: it starts
// the sink and the collector, sends the demo, prints the report and leaves
// nothing running.
func TestRunScript(t *testing.T) {
	ports := map[string]string{
		"SINK_PORT": itoa(freePort(t)), "OTLP_GRPC_PORT": itoa(freePort(t)), "OTLP_HTTP_PORT": itoa(freePort(t)),
		"HEALTH_PORT": itoa(freePort(t)), "METRICS_PORT": itoa(freePort(t)),
	}
	env := envList(ports)
	env = append(env, "RUN_DIR="+t.TempDir())
	p := start(t, env, filepath.Join(root, "scripts", "run-local.sh"), "--once")
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the script did not finish:\n%s", p.out.String())
	}
	out := p.out.String()
	require.NoError(t, p.err, out)
	assert.Contains(t, out, "a365demo: sent 16 spans")
	assert.Contains(t, out, "a365demo: sent 8 spans")
	assert.Contains(t, out, "What Agent 365 received")
	for _, missing := range []string{"client.address", "user.email", "gen_ai.tool.type"} {
		assert.Contains(t, out, missing, "the report names what the second agent lacks")
	}
	assert.Contains(t, out, "Stopped.")
	// Nothing it started still holds a port.
	for name, port := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if assert.NoError(t, err, "%s %s still in use", name, port) {
			l.Close()
		}
	}
}

// TestRunScriptStopsOnInterrupt: Ctrl-C (SIGINT) stops everything.
func TestRunScriptStopsOnInterrupt(t *testing.T) {
	sinkPort, healthPort := itoa(freePort(t)), itoa(freePort(t))
	env := envList(map[string]string{
		"SINK_PORT": sinkPort, "OTLP_GRPC_PORT": itoa(freePort(t)), "OTLP_HTTP_PORT": itoa(freePort(t)),
		"HEALTH_PORT": healthPort, "METRICS_PORT": itoa(freePort(t)),
	})
	env = append(env, "RUN_DIR="+t.TempDir())
	p := start(t, env, filepath.Join(root, "scripts", "run-local.sh"))
	eventually(t, 2*time.Minute, func() bool { return strings.Contains(p.out.String(), "Press Ctrl-C to stop.") },
		"the script did not get ready:\n%s", p.out.String())
	require.NoError(t, syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the script did not stop on SIGINT:\n%s", p.out.String())
	}
	assert.Contains(t, p.out.String(), "Stopped.")
	assert.NoError(t, p.err, "Ctrl-C is how the demo stops: a clean exit, so that make reports no error")
	for _, port := range []string{sinkPort, healthPort} {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if assert.NoError(t, err, "port %s still in use", port) {
			l.Close()
		}
	}
}
