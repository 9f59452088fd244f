package clamd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/clamd"
	"github.com/kyojin/kyojin/clamd/clamdtest"
)

func TestRealClamd(t *testing.T) {
	addr := clamdtest.Start(t)
	c, err := clamd.New(addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.ChunkSize = 7 // force the signature across many chunks
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	tests := []struct {
		name  string
		data  []byte
		virus string
	}{
		{"eicar", clamdtest.EICAR(), clamdtest.SignatureName},
		{"eicar in text", append(append([]byte("prefix "), clamdtest.EICAR()...), " suffix"...), clamdtest.SignatureName},
		{"clean", []byte("こんにちは、これは普通の文書です。\n"), ""},
		{"empty", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Scan(ctx, bytes.NewReader(tc.data))
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			if got != tc.virus {
				t.Errorf("virus = %q, want %q", got, tc.virus)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	c, err := clamd.New("unix:"+filepath.Join(t.TempDir(), "none.sock"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scan(context.Background(), strings.NewReader("x")); err == nil {
		t.Fatal("scan against a missing socket succeeded")
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Fatal("ping against a missing socket succeeded")
	}
}

// fakeServer answers every connection with reply after draining the request;
// it tests reply parsing only (the real protocol is covered by TestRealClamd).
func fakeServer(t *testing.T, reply string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				io.Copy(io.Discard, conn)
				conn.Write([]byte(reply + "\x00"))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestReplies(t *testing.T) {
	tests := []struct {
		reply, virus string
		err          bool
	}{
		{"stream: OK", "", false},
		{"stream: Win.Test.EICAR_HDB-1 FOUND", "Win.Test.EICAR_HDB-1", false},
		{"INSTREAM size limit exceeded. ERROR", "", true},
		{"garbage", "", true},
	}
	for _, tc := range tests {
		c, err := clamd.New(fakeServer(t, tc.reply), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Scan(context.Background(), strings.NewReader("data"))
		if got != tc.virus || (err != nil) != tc.err {
			t.Errorf("%q: got (%q, %v), want (%q, err=%v)", tc.reply, got, err, tc.virus, tc.err)
		}
		if tc.err && tc.reply != "garbage" && !errors.Is(err, clamd.ErrScan) {
			t.Errorf("%q: error %v is not ErrScan", tc.reply, err)
		}
	}
}

func TestAddress(t *testing.T) {
	for _, a := range []string{"unix:/run/c.sock", "/run/c.sock", "tcp:127.0.0.1:3310", "localhost:3310"} {
		if _, err := clamd.New(a, time.Second); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"clamd", "unix:", ""} {
		if _, err := clamd.New(a, time.Second); err == nil {
			t.Errorf("%q accepted", a)
		}
	}
}
