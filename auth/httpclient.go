package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// tokenRequestTimeout bounds one HTTP request of the extension's own client.
const tokenRequestTimeout = 30 * time.Second

// newTransport is the transport of token requests when no client is given.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = noPlaintextProxy(http.ProxyFromEnvironment)
	return t
}

// noPlaintextProxy wraps proxy so that a plaintext (http) request goes
// through a proxy only when both the endpoint and the proxy are loopback
// hosts; otherwise it goes direct. Plaintext token requests are those to a
// loopback authority (tests) and to host-local managed identity endpoints
// (the instance metadata service, App Service, Arc), which a proxy cannot
// reach for this host and must not read. https requests tunnel through the
// proxy as usual.
func noPlaintextProxy(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		p, err := proxy(req)
		if err != nil || p == nil || req.URL.Scheme != "http" {
			return p, err
		}
		if isLoopback(req.URL.Hostname()) && isLoopback(p.Hostname()) {
			return p, nil
		}
		return nil, nil
	}
}

// tokenClient is the client MSAL sends token requests with: base's
// transport and timeout, http to a loopback authority (MSAL only speaks
// https), and no redirects.
func tokenClient(base *http.Client, authority string) *http.Client {
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if u, err := url.Parse(authority); err == nil && u.Scheme == "http" {
		rt = &loopbackHTTP{host: u.Host, base: rt}
	}
	return &http.Client{Transport: rt, Timeout: base.Timeout, CheckRedirect: refuseRedirect}
}

// redirectError is a redirect answer to a token request. Redirects are not
// followed: Go's client would send the request again, with its body (the
// client secret or assertion) and headers (the managed identity header),
// to wherever the answer points.
type redirectError struct {
	status   int
	method   string
	from, to string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("%s %s answered HTTP %d, a redirect to %s, which is not followed: a token request carries the credential; "+
		"check authority (or the managed identity endpoint) and any proxy or gateway in between", e.method, e.from, e.status, e.to)
}

// refuseRedirect is the CheckRedirect of token clients.
func refuseRedirect(req *http.Request, via []*http.Request) error {
	e := &redirectError{to: redactedURL(req.URL)}
	if req.Response != nil {
		e.status = req.Response.StatusCode
	}
	if len(via) > 0 {
		prev := via[len(via)-1]
		e.method, e.from = prev.Method, redactedURL(prev.URL)
	}
	return e
}

// redactedURL is u without user info, query and fragment, which may hold
// secrets.
func redactedURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	s := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}
