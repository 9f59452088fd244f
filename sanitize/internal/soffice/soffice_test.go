package soffice

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestConvertFailures(t *testing.T) {
	if _, err := exec.LookPath("soffice"); err != nil {
		t.Skip("LibreOffice (soffice) not installed: skipping")
	}
	garbage := []byte(strings.Repeat("\x00\x01garbage", 100))
	tests := []struct {
		name string
		c    Converter
		in   []byte
		ext  string
		want error
		text string
	}{
		{"missing binary", Converter{Bin: ""}, garbage, "docx", nil, ""},
		{"no such binary", Converter{Bin: "/nonexistent/soffice"}, garbage, "docx", ErrFailed, ""},
		{"unloadable input", Converter{}, garbage, "docx", ErrFailed, "no output written"},
		{"timeout kills the group", Converter{Timeout: 200 * time.Millisecond}, garbage, "docx", ErrFailed, "timeout"},
		{"unknown target", Converter{}, garbage, "odt", nil, "unknown target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "missing binary" {
				t.Setenv("PATH", "/nonexistent")
				tc.c.Bin = ""
				tc.want = ErrUnavailable
				if _, err := tc.c.bin(); err == nil {
					t.Skip("soffice found in a fixed directory")
				}
			}
			f, _, cleanup, err := tc.c.Convert(context.Background(), bytes.NewReader(tc.in), int64(len(tc.in)), "doc", tc.ext)
			if err == nil {
				f.Close()
				cleanup()
				t.Fatal("conversion of garbage succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
}
