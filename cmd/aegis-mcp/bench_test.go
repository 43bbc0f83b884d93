package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"sync"
	"testing"
	"time"
)

// benchServer is a server process with responses routed to callers by id,
// so several calls can be in flight on the one stdio connection.
type benchServer struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	wmu     sync.Mutex
	mu      sync.Mutex
	waiting map[string]chan []byte
}

func startBenchServer(b *testing.B) *benchServer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "--policy", "fake.toml")
	cmd.Env = append(os.Environ(), fakeServerEnv+"=1")
	return startBenchCommand(b, cmd)
}

// startBenchCommand starts cmd as the server and initializes a session.
func startBenchCommand(b *testing.B, cmd *exec.Cmd) *benchServer {
	b.Helper()
	s := &benchServer{waiting: map[string]chan []byte{}, cmd: cmd}
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			var m struct{ ID json.RawMessage }
			if json.Unmarshal(line, &m) != nil {
				continue
			}
			s.mu.Lock()
			ch := s.waiting[string(m.ID)]
			delete(s.waiting, string(m.ID))
			s.mu.Unlock()
			if ch != nil {
				ch <- line
			}
		}
	}()
	b.Cleanup(func() {
		_ = s.stdin.Close()
		_ = s.cmd.Wait()
	})
	if _, err := s.call("0", "initialize", `{"protocolVersion":"2025-11-25","capabilities":{}}`); err != nil {
		b.Fatal(err)
	}
	return s
}

func (s *benchServer) call(id, method, params string) ([]byte, error) {
	ch := make(chan []byte, 1)
	s.mu.Lock()
	s.waiting[id] = ch
	s.mu.Unlock()
	s.wmu.Lock()
	_, err := fmt.Fprintf(s.stdin, `{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`+"\n", id, method, params)
	s.wmu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("send %s: %w", id, err)
	}
	select {
	case line := <-ch:
		return line, nil
	case <-time.After(hangGuard):
		return nil, fmt.Errorf("no reply to %s", id)
	}
}

const oneLine = `{"name":"aegis_run","arguments":{"script":"print(\"hi\")"}}`

// BenchmarkRoundTrip measures one aegis_run with a one-line script over the
// stdio pipe of a real server process, reporting the median and p99.
// Run with -benchtime=2000x for a figure over at least 1,000 calls.
func BenchmarkRoundTrip(b *testing.B) {
	benchRoundTrip(b, startBenchServer(b))
}

func benchRoundTrip(b *testing.B, s *benchServer) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.call(fmt.Sprint(i+1), "tools/call", oneLine); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkConcurrent4 keeps four aegis_run calls in flight at once and
// reports calls per second.
func BenchmarkConcurrent4(b *testing.B) {
	benchConcurrent4(b, startBenchServer(b))
}

func benchConcurrent4(b *testing.B, s *benchServer) {
	var next int64
	var mu sync.Mutex
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				next++
				n := next
				mu.Unlock()
				if n > int64(b.N) {
					return
				}
				if _, err := s.call(fmt.Sprint(n), "tools/call", oneLine); err != nil {
					b.Error(err) // not Fatal: this is not the benchmark's goroutine
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}
