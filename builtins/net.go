package builtins

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
	"github.com/aegisdev/aegis/starlark-ifc/starlarkstruct"
)

// DefaultHTTPTimeout applies when [network].timeout_seconds is unset.
const DefaultHTTPTimeout = 30 * time.Second

// netVerb builds net.http_get(url, headers={}) and friends, and
// net.http_post(url, body, headers={}) and friends: they return the body and
// fail on a status of 400 or more.
func (h *Host) netVerb(method string, capability policy.Capability, hasBody bool) starlark.BuiltinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var rawURL string
		var body, headers starlark.Value = starlark.None, starlark.None
		var err error
		if hasBody {
			err = starlark.UnpackArgs(b.Name(), args, kwargs, "url", &rawURL, "body", &body, "headers?", &headers)
		} else {
			err = starlark.UnpackArgs(b.Name(), args, kwargs, "url", &rawURL, "headers?", &headers)
		}
		if err != nil {
			return nil, err
		}
		in := httpInput{method: method, cap: capability, url: rawURL, body: body, headers: headers}
		in.urlLabel = argLabel(thread, args, 0, "url")
		if hasBody {
			in.bodyLabel = argLabel(thread, args, 1, "body")
			in.headerLabel = argLabel(thread, args, 2, "headers")
		} else {
			in.headerLabel = argLabel(thread, args, 1, "headers")
		}
		in.failOnStatus = true
		resp, err := h.http(thread, b.Name(), in)
		if err != nil {
			return nil, err
		}
		return starlark.String(resp.Body), nil
	}
}

// netRequest: net.request(method, url, body=None, headers={}) ->
// struct(status, headers, body). It does not fail on an HTTP error status.
func (h *Host) netRequest(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var method, rawURL string
	var body, headers starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "method", &method, "url", &rawURL, "body?", &body, "headers?", &headers); err != nil {
		return nil, err
	}
	in := httpInput{url: rawURL, body: body, headers: headers}
	in.method = strings.ToUpper(method)
	in.cap, _ = policy.HTTPCapability(in.method)
	// The method picks the capability and so the target: label it like the URL.
	ml := argLabel(thread, args, 0, "method")
	if in.cap == "" {
		methods := policy.HTTPMethods()
		return nil, starlark.ExactLabelError(fmt.Errorf("%s: unsupported method %q (%s or %s)", b.Name(), method,
			strings.Join(methods[:len(methods)-1], ", "), methods[len(methods)-1]), ml|argLabel(thread, args, 1, "url"))
	}
	in.urlLabel = ml | argLabel(thread, args, 1, "url")
	in.bodyLabel = argLabel(thread, args, 2, "body")
	in.headerLabel = argLabel(thread, args, 3, "headers")
	resp, err := h.http(thread, b.Name(), in)
	if err != nil {
		return nil, err
	}
	hd := starlark.NewDict(len(resp.Header))
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := hd.SetKey(starlark.String(strings.ToLower(k)), starlark.String(strings.Join(resp.Header[k], ", "))); err != nil {
			return nil, err
		}
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"status":  starlark.MakeInt(resp.Status),
		"headers": hd,
		"body":    starlark.String(resp.Body),
	}), nil
}

// httpInput is one request as the script gave it.
type httpInput struct {
	method  string
	cap     policy.Capability
	url     string
	body    starlark.Value
	headers starlark.Value // a dict, or None

	urlLabel, bodyLabel, headerLabel labels.Label

	failOnStatus bool // a status of 400 or more is an error

	// release, when set, makes the request a release of its status
	// (declassify.status, declassify.status_ok): the principals of the
	// response and of the headers must allow it in [declassify], it is
	// charged before the request, the body is not read, a failure is
	// status 0, and the result is not labelled.
	release *releaseReq
}

// http runs the capability protocol for one request and labels the result.
// Until the flow step it looks only at the method and the URL; the body and
// headers are checked after it (see call.exact).
func (h *Host) http(thread *starlark.Thread, name string, in httpInput) (*effect.HTTPResponse, error) {
	in.bodyLabel |= starlark.DeepLabel(in.body)
	in.headerLabel |= starlark.DeepLabel(in.headers)
	c, err := h.begin(thread, in.cap, in.url, in.urlLabel, in.bodyLabel|in.headerLabel)
	if err != nil {
		return nil, err
	}
	if err := c.decide(in.url); err != nil {
		return nil, err
	}
	parts := flowParts(thread.PC(), part{in.urlLabel, "URL"}, part{in.bodyLabel, "body"}, part{in.headerLabel, "headers"})
	if err := c.flow(parts, in.url); err != nil {
		return nil, err
	}
	var payload []byte
	switch v := in.body.(type) {
	case starlark.NoneType:
	case starlark.String:
		payload = []byte(v)
	case starlark.Bytes:
		payload = []byte(v)
	default:
		return nil, fmt.Errorf("%s: body must be a string or bytes, not %s (use json.encode)", name, in.body.Type())
	}
	header := http.Header{}
	switch hd := in.headers.(type) {
	case starlark.NoneType:
	case *starlark.Dict:
		for _, kv := range hd.Items() {
			k, ok1 := starlark.AsString(kv[0])
			v, ok2 := starlark.AsString(kv[1])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: headers must map strings to strings", name)
			}
			header.Add(k, v)
		}
	default:
		return nil, fmt.Errorf("%s: headers must be a dict of strings, not %s", name, in.headers.Type())
	}
	u, err := url.Parse(in.url)
	if err != nil {
		return nil, c.exact(fmt.Errorf("%s: invalid URL: %w", name, err), labels.Public)
	}
	src := h.sourceLabel(c.decision, labels.Host(u.Hostname()))
	// The response depends on the whole request.
	resLabel := src | in.urlLabel | in.bodyLabel | in.headerLabel
	if in.release != nil {
		if err := c.permitRelease(in.release, resLabel|c.targetLabel); err != nil {
			return nil, err
		}
	}
	if err := c.admit(src); err != nil {
		return nil, err
	}
	if err := c.confirm(); err != nil {
		return nil, err
	}
	c.in |= src
	if in.release != nil {
		if err := c.chargeRelease(in.release, resLabel|c.targetLabel); err != nil {
			return nil, err
		}
	} else {
		thread.SetResultLabel(resLabel)
	}
	if err := c.allow(); err != nil {
		return nil, err
	}
	timeout := h.HTTPTimeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	resp, err := effect.HTTP(h.Ctx, effect.HTTPRequest{
		Method:     in.method,
		URL:        u,
		Header:     header,
		Body:       payload,
		Addr:       c.decision.Addr,
		Timeout:    timeout,
		MaxBody:    orDefault(h.MaxResponseBytes, DefaultMaxResponseBytes),
		StatusOnly: in.release != nil,
	})
	if err != nil && in.release != nil {
		return c.releaseResponse(err)
	}
	if err != nil {
		return nil, c.failed(err, resLabel, failureReason(err, "request failed"))
	}
	if in.failOnStatus && resp.Status >= 400 {
		err := fmt.Errorf("%s %s: HTTP %d: %s", in.method, c.target, resp.Status, snippet(resp.Body))
		return nil, c.failed(err, resLabel, fmt.Sprintf("HTTP %d", resp.Status))
	}
	if in.release != nil {
		// Only the status is used; nothing of the response reaches the script.
		return resp, nil
	}
	size := int64(len(resp.Body))
	for k, vs := range resp.Header {
		for _, v := range vs {
			size += int64(len(k) + len(v))
		}
	}
	if err := h.chargeAlloc(thread, size, resLabel); err != nil {
		return nil, c.failed(err, resLabel, "[runtime].max_memory_mb")
	}
	return resp, nil
}

// snippet is the start of an error response body, for messages.
func snippet(body []byte) string {
	const max = 200
	s, cut := quote.Prefix(strings.TrimSpace(string(body)), max)
	if cut {
		s += "..."
	}
	return s
}
