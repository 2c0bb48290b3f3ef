package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/agent365-otel/agent365exporter/auth/internal/tokeninfo"
)

// staticSource hands out a configured token, inline or read from a file
// that is read again whenever it changes.
type staticSource struct {
	now  func() time.Time
	path string // empty for an inline token

	mu         sync.Mutex
	tok        token
	info       os.FileInfo // of the file when tok was read
	unreported bool        // the token was loaded and not yet counted
}

func newStaticSource(cfg *StaticConfig, now func() time.Time) (*staticSource, error) {
	s := &staticSource{now: now, path: cfg.TokenFile, unreported: true}
	if s.path == "" {
		s.tok = staticToken(strings.TrimSpace(string(cfg.Token)))
		return s, nil
	}
	if _, _, err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// staticToken reads the expiry of a JWT; other tokens have none.
func staticToken(v string) token {
	t := token{value: v}
	if c, ok := tokeninfo.Parse(v); ok {
		t.expiresOn = c.Expiry()
	}
	return t
}

func (s *staticSource) kind() string { return sourceStatic }

func (s *staticSource) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []string{s.tok.value}
}

// token returns the token; fresh reports that it was (re)loaded.
func (s *staticSource) token(_ context.Context, _ Identity) (token, bool, error) {
	var (
		tok   token
		fresh bool
	)
	if s.path == "" {
		tok = s.tok // set once, read only
	} else {
		var err error
		if tok, fresh, err = s.reload(); err != nil {
			return token{}, false, fmt.Errorf("agent365auth: %w", err)
		}
	}
	s.mu.Lock()
	fresh = fresh || s.unreported
	s.unreported = false
	s.mu.Unlock()
	if tok.expired(s.now()) {
		what := "static::token"
		if s.path != "" {
			what = fmt.Sprintf("static::token_file %s", s.path)
		}
		c, _ := tokeninfo.Parse(tok.value)
		return token{}, false, fmt.Errorf("agent365auth: the token of %s expired at %s (%s): replace it", what, tok.expiresOn.UTC().Format(time.RFC3339), c)
	}
	return tok, fresh, nil
}

// reload reads the file when it changed since the last read.
func (s *staticSource) reload() (token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return token{}, false, fmt.Errorf("static::token_file: %w", err)
	}
	if s.info != nil && os.SameFile(s.info, fi) && s.info.ModTime().Equal(fi.ModTime()) && s.info.Size() == fi.Size() {
		return s.tok, false, nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return token{}, false, fmt.Errorf("static::token_file: %w", err)
	}
	v := strings.TrimRight(string(b), " \t\r\n")
	if v == "" {
		return token{}, false, fmt.Errorf("static::token_file %s is empty", s.path)
	}
	s.tok, s.info = staticToken(v), fi
	return s.tok, true, nil
}

// invalidate makes the next call look at the file again.
func (s *staticSource) invalidate() {
	s.mu.Lock()
	s.info = nil
	s.mu.Unlock()
}
