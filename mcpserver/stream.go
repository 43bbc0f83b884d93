package mcpserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/aegisdev/aegis/internal/lazyre"
)

// JSON-RPC error codes used by the transport and the server.
const (
	codeParseError     = jsonrpc2.CodeParseError
	codeInvalidRequest = jsonrpc2.CodeInvalidRequest
	codeMethodNotFound = jsonrpc2.CodeMethodNotFound
	codeInvalidParams  = jsonrpc2.CodeInvalidParams
	codeInternalError  = jsonrpc2.CodeInternalError
)

// privateIDPrefix starts every id the stream invents for a request whose
// id jsonrpc2 cannot carry exactly. A NUL keeps it out of any sane client's
// id space; client ids that start with it anyway are remapped too, so the
// prefix can never alias a real id.
const privateIDPrefix = "\x00aegis-id:"

// sniffWindow is how much of an oversized line is kept to recover its id.
const sniffWindow = 4096

// stream is a jsonrpc2.ObjectStream for MCP's stdio framing: one JSON
// message per line. jsonrpc2's own streams close the connection on the
// first undecodable message; this one answers bad input itself (-32700,
// -32600) and keeps reading, so a session survives anything a peer sends.
//
// It also keeps ids byte-exact. jsonrpc2.ID holds a uint64 or a string and
// re-encodes it, which loses negative numbers, numbers beyond int64 and
// strings spelled with escapes. Such ids are swapped for a private string
// on the way in and swapped back on the way out.
type stream struct {
	in       *bufio.Reader
	out      io.Writer
	outClose io.Closer
	maxIn    int // longest accepted line, in bytes
	maxOut   int // longest line ever written, in bytes
	log      *slog.Logger

	wmu sync.Mutex // serialises writes: Conn writes replies, ReadObject writes errors

	idmu  sync.Mutex
	idseq uint64
	ids   map[string]json.RawMessage // private id -> the client's original bytes

	// beforeEOF runs once when input ends, before io.EOF reaches the Conn
	// (which then closes the stream and cancels every handler context).
	beforeEOF func()
}

func newStream(in io.Reader, out io.Writer, outClose io.Closer, maxIn, maxOut int, logger *slog.Logger) *stream {
	return &stream{
		in:       bufio.NewReaderSize(in, 64<<10),
		out:      out,
		outClose: outClose,
		maxIn:    maxIn,
		maxOut:   maxOut,
		log:      logger,
		ids:      map[string]json.RawMessage{},
	}
}

// line is one input line. When the line was longer than the limit, body is
// nil and head/tail hold its first and last bytes.
type line struct {
	body       []byte
	oversized  bool
	size       int64
	head, tail []byte
}

// readLine reads up to the next '\n' without ever holding more than maxIn
// bytes (plus the sniff windows) of one line in memory.
func (s *stream) readLine() (line, error) {
	var l line
	var buf []byte
	for {
		frag, err := s.in.ReadSlice('\n')
		l.size += int64(len(frag))
		if !l.oversized && len(buf)+len(frag) > s.maxIn+2 { // +2: the "\r\n" terminator
			l.oversized = true
			l.head = append([]byte(nil), buf[:min(len(buf), sniffWindow)]...)
			if room := sniffWindow - len(l.head); room > 0 {
				l.head = append(l.head, frag[:min(len(frag), room)]...)
			}
			buf = nil
		}
		if l.oversized {
			// Keep only the last sniffWindow bytes, reusing one buffer, so a
			// huge line costs no allocation per fragment.
			if len(frag) >= sniffWindow {
				l.tail = append(l.tail[:0], frag[len(frag)-sniffWindow:]...)
			} else {
				l.tail = append(l.tail, frag...)
				if extra := len(l.tail) - sniffWindow; extra > 0 {
					copy(l.tail, l.tail[extra:])
					l.tail = l.tail[:sniffWindow]
				}
			}
		} else {
			buf = append(buf, frag...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			if errors.Is(err, io.EOF) && (len(buf) > 0 || l.oversized) {
				// A last line without its newline is still a message.
				l.body = trimEOL(buf)
				l.tail = trimEOL(l.tail)
				return l, nil
			}
			return line{}, err
		}
		l.body = trimEOL(buf)
		l.tail = trimEOL(l.tail)
		return l, nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// envelope is the part of a message the stream inspects before jsonrpc2
// sees it. RawMessage fields distinguish an absent key (nil) from null.
type envelope struct {
	JSONRPC json.RawMessage `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  json.RawMessage `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

// ReadObject implements jsonrpc2.ObjectStream. It returns only well-formed
// requests, notifications and responses; everything else is answered here
// and skipped, because any error returned to jsonrpc2.Conn ends the session.
func (s *stream) ReadObject(v interface{}) error {
	for {
		l, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && s.beforeEOF != nil {
				s.beforeEOF()
			}
			return err
		}
		if l.oversized {
			s.writeError(sniffID(l.head, l.tail), codeInvalidRequest,
				fmt.Sprintf("Invalid Request: message of %d bytes exceeds the %d-byte limit; send a smaller script or split the work", l.size, s.maxIn))
			continue
		}
		msg := bytes.TrimSpace(l.body)
		if len(msg) == 0 {
			continue
		}
		if !utf8.Valid(msg) {
			s.writeError(nil, codeParseError, "Parse error: message is not valid UTF-8")
			continue
		}
		if !json.Valid(msg) {
			s.writeError(nil, codeParseError, "Parse error: message is not valid JSON")
			continue
		}
		switch msg[0] {
		case '{':
		case '[':
			s.writeError(nil, codeInvalidRequest, "Invalid Request: JSON-RPC batches are not supported (MCP removed them in 2025-06-18); send one message per line")
			continue
		default:
			s.writeError(nil, codeInvalidRequest, "Invalid Request: a message must be a JSON object")
			continue
		}
		out, ok := s.admit(msg)
		if !ok {
			continue
		}
		if err := json.Unmarshal(out, v); err != nil {
			s.writeError(nil, codeInvalidRequest, "Invalid Request: "+err.Error())
			continue
		}
		return nil
	}
}

// admit validates one JSON object as a JSON-RPC 2.0 message and returns the
// bytes to hand to jsonrpc2 (with its id remapped when needed). It answers
// invalid requests itself; invalid responses are dropped, since answering a
// response would start a ping-pong with a confused peer.
func (s *stream) admit(msg []byte) ([]byte, bool) {
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil {
		s.writeError(nil, codeInvalidRequest, "Invalid Request: "+err.Error())
		return nil, false
	}
	idKind := classifyID(env.ID)
	replyID := json.RawMessage(nil)
	if idKind == idString || idKind == idInteger {
		replyID = env.ID
	}
	if string(env.JSONRPC) != `"2.0"` {
		if env.Method == nil && (env.Result != nil || env.Error != nil) {
			s.log.Warn("dropped a client response", "why", `no "jsonrpc":"2.0"`)
			return nil, false
		}
		s.writeError(replyID, codeInvalidRequest, `Invalid Request: "jsonrpc" must be "2.0"`)
		return nil, false
	}
	isRequest := env.Method != nil
	isResponse := env.Result != nil || env.Error != nil
	switch {
	case isRequest && isResponse:
		s.writeError(replyID, codeInvalidRequest, "Invalid Request: a message cannot carry both \"method\" and \"result\"/\"error\"")
		return nil, false
	case isResponse:
		if env.Result != nil && env.Error != nil {
			s.log.Warn("dropped a client response", "why", "both result and error")
			return nil, false
		}
		// Only answers to our own requests (elicitation) are expected;
		// their ids are small integers or plain strings.
		if idKind != idString && idKind != idInteger || !idRoundTrips(env.ID) {
			s.log.Warn("dropped a client response", "why", "an id this server never sends")
			return nil, false
		}
		return msg, true
	case !isRequest:
		s.writeError(replyID, codeInvalidRequest, "Invalid Request: a message needs \"method\" (request) or \"result\"/\"error\" (response)")
		return nil, false
	}
	var method string
	if err := json.Unmarshal(env.Method, &method); err != nil {
		s.writeError(replyID, codeInvalidRequest, "Invalid Request: \"method\" must be a string")
		return nil, false
	}
	switch idKind {
	case idAbsent:
		return msg, true // notification
	case idString, idInteger:
	default:
		// MCP: a request id is a string or an integer, never null.
		s.writeError(nil, codeInvalidRequest, "Invalid Request: \"id\" must be a string or an integer (MCP forbids null)")
		return nil, false
	}
	if idRoundTrips(env.ID) {
		return msg, true
	}
	private := s.remember(env.ID)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(msg, &fields); err != nil {
		s.writeError(replyID, codeInvalidRequest, "Invalid Request: "+err.Error())
		return nil, false
	}
	fields["id"] = private
	out, err := json.Marshal(fields)
	if err != nil {
		s.writeError(replyID, codeInternalError, "Internal error: cannot re-encode the request")
		return nil, false
	}
	return out, true
}

type idKind int

const (
	idAbsent idKind = iota
	idNull
	idString
	idInteger
	idOther // float, bool, object, array
)

func classifyID(raw json.RawMessage) idKind {
	if raw == nil {
		return idAbsent
	}
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0:
		return idOther
	case string(t) == "null":
		return idNull
	case t[0] == '"':
		return idString
	case t[0] == '-' || t[0] >= '0' && t[0] <= '9':
		if bytes.ContainsAny(t, ".eE") {
			return idOther
		}
		return idInteger
	}
	return idOther
}

// idRoundTrips reports whether jsonrpc2 will re-encode raw to the very same
// bytes: integers in [0, MaxInt64] written canonically, and strings that
// encoding/json spells the same way, outside the private prefix.
func idRoundTrips(raw json.RawMessage) bool {
	switch classifyID(raw) {
	case idInteger:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		return err == nil && n >= 0 && strconv.FormatInt(n, 10) == string(raw)
	case idString:
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return false
		}
		again, err := json.Marshal(str)
		return err == nil && bytes.Equal(again, raw) && !bytes.HasPrefix([]byte(str), []byte(privateIDPrefix))
	}
	return false
}

// remember maps a client id that jsonrpc2 cannot carry to a private string.
func (s *stream) remember(raw json.RawMessage) json.RawMessage {
	s.idmu.Lock()
	defer s.idmu.Unlock()
	s.idseq++
	key := privateIDPrefix + strconv.FormatUint(s.idseq, 10)
	s.ids[key] = append(json.RawMessage(nil), raw...)
	b, _ := json.Marshal(key) // a string always encodes
	return b
}

// wireID returns the id exactly as the client wrote it.
func (s *stream) wireID(id jsonrpc2.ID) json.RawMessage {
	if id.IsString {
		s.idmu.Lock()
		orig, ok := s.ids[id.Str]
		s.idmu.Unlock()
		if ok {
			return orig
		}
	}
	b, _ := id.MarshalJSON() // a uint64 or a string always encodes
	return b
}

// forget drops the mapping of a request that will never be answered.
func (s *stream) forget(id jsonrpc2.ID) {
	if id.IsString {
		s.idmu.Lock()
		delete(s.ids, id.Str)
		s.idmu.Unlock()
	}
}

// idKey is a canonical form of an id, so that a notifications/cancelled
// requestId matches its request however either was spelled.
func idKey(raw json.RawMessage) (string, bool) {
	switch classifyID(raw) {
	case idString:
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return "", false
		}
		return "s:" + str, true
	case idInteger:
		n, ok := new(big.Int).SetString(string(bytes.TrimSpace(raw)), 10)
		if !ok {
			return "", false
		}
		return "n:" + n.String(), true
	}
	return "", false
}

// restoreID puts the client's original id back into an outgoing response.
// jsonrpc2.Response encodes as {"id":...,...}, so a private id can only sit
// right at the start.
func (s *stream) restoreID(b []byte) []byte {
	prefix := []byte(`{"id":"\u0000aegis-id:`)
	if !bytes.HasPrefix(b, prefix) {
		return b
	}
	end := bytes.IndexByte(b[len(prefix):], '"')
	if end < 0 {
		return b
	}
	end += len(prefix)
	key := privateIDPrefix + string(b[len(prefix):end])
	s.idmu.Lock()
	orig, ok := s.ids[key]
	delete(s.ids, key)
	s.idmu.Unlock()
	if !ok {
		return b
	}
	out := make([]byte, 0, len(b)+len(orig))
	out = append(out, `{"id":`...)
	out = append(out, orig...)
	return append(out, b[end+1:]...)
}

// WriteObject implements jsonrpc2.ObjectStream.
func (s *stream) WriteObject(obj interface{}) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	b = s.restoreID(b)
	if len(b)+1 > s.maxOut {
		// Clients drop the whole connection on an oversized line (the
		// TypeScript SDK at 10 MiB); an error reply keeps the session.
		var head struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(b, &head)
		s.log.Warn("replaced an oversized response with an error", "bytes", len(b), "limit", s.maxOut)
		return s.writeError(head.ID, codeInternalError,
			fmt.Sprintf("Internal error: the response (%d bytes) exceeds the %d-byte limit", len(b), s.maxOut))
	}
	return s.writeLine(b)
}

func (s *stream) writeError(id json.RawMessage, code int64, message string) error {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   jsonrpc2.Error  `json:"error"`
	}{"2.0", id, jsonrpc2.Error{Code: code, Message: message}})
	if err != nil {
		return fmt.Errorf("encode error reply: %w", err)
	}
	return s.writeLine(b)
}

func (s *stream) writeLine(b []byte) error {
	if bytes.IndexByte(b, '\n') >= 0 {
		// encoding/json escapes every newline; this guards the framing
		// invariant against a future change, not a known path.
		return errors.New("refusing to write a message with an embedded newline")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.out.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

// Close implements jsonrpc2.ObjectStream: closing stdout tells the client
// the server is gone.
func (s *stream) Close() error {
	if s.outClose == nil {
		return nil
	}
	if err := s.outClose.Close(); err != nil {
		return fmt.Errorf("close output: %w", err)
	}
	return nil
}

// tailIDPattern finds a top-level id written last, as the TypeScript SDK
// does ({"method":...,"params":{...},"jsonrpc":"2.0","id":7}). Exactly one
// closing brace may follow, so an id nested in params does not match.
var tailIDPattern = lazyre.New(`,\s*"id"\s*:\s*(-?[0-9]+|"(?:[^"\\]|\\.)*")\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$`)

// sniffID recovers the id of an oversized request from its first and last
// bytes, so the client can match the error to its call instead of waiting
// for a timeout. Best effort: nil when it cannot tell.
func sniffID(head, tail []byte) json.RawMessage {
	if id := headID(head); id != nil {
		return id
	}
	if m := tailIDPattern().FindSubmatch(tail); m != nil && idRoundTripsOrInteger(m[1]) {
		return append(json.RawMessage(nil), m[1]...)
	}
	return nil
}

// headID walks the top-level keys at the start of a truncated object (the
// Go SDK writes {"jsonrpc":"2.0","id":7,...}) until it meets "id" or runs
// out of complete tokens.
func headID(head []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil
		}
		if key == "id" {
			if k := classifyID(val); k == idString || k == idInteger {
				return val
			}
			return nil
		}
	}
	return nil
}

func idRoundTripsOrInteger(raw []byte) bool {
	k := classifyID(raw)
	if k == idInteger {
		return true
	}
	return k == idString && json.Valid(raw)
}
