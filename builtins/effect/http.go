package effect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// HTTPRequest is one request the policy has allowed.
type HTTPRequest struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte // nil: no body

	// Addr is the address the policy resolved and vetted for URL's host.
	// It is the only address dialled; the host name still goes in the Host
	// header and in TLS server-name verification.
	Addr netip.AddrPort

	Timeout time.Duration // whole request including the body; 0 = no deadline of its own
	MaxBody int64         // response body cap in bytes; 0 = unlimited

	// StatusOnly: the body is not read (the response has the status and
	// headers only), for a caller that needs nothing else.
	StatusOnly bool
}

// HTTPResponse is a complete response.
type HTTPResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// RedirectError reports a 3xx response. Following it would reach an address
// the policy never saw, so it is surfaced instead.
type RedirectError struct {
	Status   int
	Location string
}

func (e *RedirectError) Error() string {
	if e.Location == "" {
		return fmt.Sprintf("redirect (HTTP %d) not followed", e.Status)
	}
	return fmt.Sprintf("redirect (HTTP %d) to %q not followed: request that URL directly if the policy allows it", e.Status, e.Location)
}

// maxHeaderBytes bounds the response header block.
const maxHeaderBytes = 64 << 10

// HTTP performs req. It returns a *RedirectError for any 3xx, a
// *TooLargeError when the body passes MaxBody and a *TimeoutError when the
// deadline passes; other statuses are returned as responses.
func HTTP(ctx context.Context, req HTTPRequest) (*HTTPResponse, error) {
	if !req.Addr.IsValid() {
		return nil, ErrNoAddress
	}
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		return nil, errors.New("only http and https URLs can be requested")
	}
	wantPort := req.URL.Port()
	if wantPort == "" {
		wantPort = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
	}
	if strconv.Itoa(int(req.Addr.Port())) != wantPort {
		return nil, fmt.Errorf("vetted address %s does not match the URL's port %s", req.Addr, wantPort)
	}

	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	dialer := &net.Dialer{}
	transport := &http.Transport{
		// Proxy stays nil: a proxy from the environment would connect to an
		// address the policy did not vet.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", req.Addr.String())
		},
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, req.URL.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, httpErr(ctx, req, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, &RedirectError{Status: resp.StatusCode, Location: resp.Header.Get("Location")}
	}
	if req.StatusOnly {
		return &HTTPResponse{Status: resp.StatusCode, Header: resp.Header}, nil
	}
	data, err := readCapped(resp.Body, req.MaxBody, "response body")
	if err != nil {
		return nil, httpErr(ctx, req, err)
	}
	return &HTTPResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// httpErr turns a deadline into a *TimeoutError and strips the URL that
// net/http puts in its errors (the caller decides whether the URL is public).
func httpErr(ctx context.Context, req HTTPRequest, err error) error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Timeout > 0 {
		return &TimeoutError{What: "HTTP request", After: req.Timeout}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("HTTP request stopped: %w", ctxErr)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("HTTP request failed: %w", err)
}

// readCapped reads r to the end, failing once more than limit bytes arrive.
func readCapped(r io.Reader, limit int64, what string) ([]byte, error) {
	if limit <= 0 {
		return io.ReadAll(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{What: what, Limit: limit}
	}
	return data, nil
}
