package effect

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server starts a loopback test server and returns it with its address.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, netip.AddrPort) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ap, err := netip.ParseAddrPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return srv, ap
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHTTPDialsOnlyTheVettedAddress(t *testing.T) {
	var host, hdr atomic.Value
	_, ap := server(t, func(w http.ResponseWriter, r *http.Request) {
		host.Store(r.Host)
		hdr.Store(r.Header.Get("X-Test"))
		io.WriteString(w, "hello")
	})
	// The host name does not resolve anywhere: the request can only succeed
	// by dialling the vetted address, never by looking the name up.
	u := mustURL(t, "http://api.example.invalid:"+itoa(ap.Port())+"/x?q=1")
	resp, err := HTTP(context.Background(), HTTPRequest{Method: "GET", URL: u, Addr: ap,
		Header: http.Header{"X-Test": {"v"}}, Timeout: 5 * time.Second, MaxBody: 100})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != "hello" {
		t.Fatalf("response %d %q", resp.Status, resp.Body)
	}
	if host.Load() != "api.example.invalid:"+itoa(ap.Port()) || hdr.Load() != "v" {
		t.Fatalf("server saw Host %v, X-Test %v", host.Load(), hdr.Load())
	}
}

func TestHTTPIgnoresProxyEnvironment(t *testing.T) {
	_, ap := server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "direct") })
	// A proxy that does not exist: using it would fail the request.
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	t.Setenv("NO_PROXY", "")
	u := mustURL(t, "http://proxied.example.invalid:"+itoa(ap.Port())+"/")
	resp, err := HTTP(context.Background(), HTTPRequest{Method: "GET", URL: u, Addr: ap})
	if err != nil || string(resp.Body) != "direct" {
		t.Fatalf("resp %v err %v", resp, err)
	}
}

func TestHTTPRedirectIsNotFollowed(t *testing.T) {
	var hit atomic.Bool
	_, target := server(t, func(w http.ResponseWriter, r *http.Request) { hit.Store(true) })
	for _, code := range []int{301, 302, 303, 307, 308} {
		loc := "http://" + target.String() + "/internal"
		_, ap := server(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, loc, code)
		})
		_, err := HTTP(context.Background(), HTTPRequest{Method: "GET", URL: mustURL(t, "http://"+ap.String()+"/"), Addr: ap})
		var re *RedirectError
		if !errors.As(err, &re) || re.Status != code || re.Location != loc {
			t.Fatalf("%d: got %v", code, err)
		}
		if !strings.Contains(err.Error(), loc) {
			t.Errorf("redirect error does not name the location: %v", err)
		}
	}
	if hit.Load() {
		t.Fatal("the redirect target was contacted")
	}
}

func TestHTTPBodyCap(t *testing.T) {
	_, ap := server(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 10_000))
	})
	u := mustURL(t, "http://"+ap.String()+"/")
	_, err := HTTP(context.Background(), HTTPRequest{Method: "GET", URL: u, Addr: ap, MaxBody: 9_999})
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 9_999 {
		t.Fatalf("got %v", err)
	}
	resp, err := HTTP(context.Background(), HTTPRequest{Method: "GET", URL: u, Addr: ap, MaxBody: 10_000})
	if err != nil || len(resp.Body) != 10_000 {
		t.Fatalf("at the cap: %v", err)
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	_, ap := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-release // headers sent, body never finishes
	})
	defer close(release)
	u := mustURL(t, "http://"+ap.String()+"/")
	_, err := HTTP(context.Background(), HTTPRequest{Method: "GET", URL: u, Addr: ap, Timeout: 50 * time.Millisecond})
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("got %v", err)
	}
}

func TestHTTPStatusAndPost(t *testing.T) {
	_, ap := server(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Method)
		w.WriteHeader(418)
		w.Write(b)
	})
	u := mustURL(t, "http://"+ap.String()+"/")
	resp, err := HTTP(context.Background(), HTTPRequest{Method: "POST", URL: u, Addr: ap, Body: []byte("payload")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 418 || string(resp.Body) != "payload" || resp.Header.Get("X-Echo") != "POST" {
		t.Fatalf("got %d %q %v", resp.Status, resp.Body, resp.Header)
	}
}

func TestHTTPRefusals(t *testing.T) {
	ap := netip.MustParseAddrPort("127.0.0.1:8080")
	cases := []struct {
		req  HTTPRequest
		want string
	}{
		{HTTPRequest{Method: "GET", URL: mustURL(t, "http://x:8080/")}, "no vetted address"},
		{HTTPRequest{Method: "GET", URL: mustURL(t, "http://x:9090/"), Addr: ap}, "does not match the URL's port"},
		{HTTPRequest{Method: "GET", URL: mustURL(t, "http://x/"), Addr: ap}, "does not match the URL's port 80"},
		{HTTPRequest{Method: "GET", URL: mustURL(t, "file:///etc/passwd"), Addr: ap}, "only http and https"},
		{HTTPRequest{Method: "GET", URL: mustURL(t, "gopher://x:8080/"), Addr: ap}, "only http and https"},
	}
	for _, tc := range cases {
		_, err := HTTP(context.Background(), tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.req.URL, err, tc.want)
		}
	}
}

func TestHTTPCancelledContext(t *testing.T) {
	_, ap := server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := HTTP(ctx, HTTPRequest{Method: "GET", URL: mustURL(t, "http://"+ap.String()+"/"), Addr: ap})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func itoa(p uint16) string {
	return strings.TrimPrefix(netip.AddrPortFrom(netip.IPv4Unspecified(), p).String(), "0.0.0.0:")
}
