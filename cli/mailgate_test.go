package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestMailgateValidate(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		out, errIn string
	}{
		{[]string{"mailgate", "validate", "../mailgate/testdata/example.yaml"}, 0, "OK (1 listeners", ""},
		{[]string{"--lang=en", "mailgate", "validate", "../mailgate/testdata/semantic.bad.yaml"}, 2, "", `semantic.bad.yaml:10:3: error: downstream.protocol: "pop3" is not allowed`},
		{[]string{"mailgate", "queue", "list"}, 2, "", "queue needs -c CONFIG or -dir"},
		{[]string{"mailgate", "queue", "-dir", "/nonexistent-kyojin", "drop", "../../etc"}, 2, "", "needs one queue ID"},
		{[]string{"mailgate", "frobnicate"}, 2, "", "unknown mailgate subcommand"},
	} {
		var out, errb bytes.Buffer
		code := Main(tc.args, nil, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.errIn) {
			t.Errorf("%v: code %d\nstdout: %s\nstderr: %s", tc.args, code, out.String(), errb.String())
		}
	}
}

func TestMailgateQueueList(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"mailgate", "queue", "-dir", dir, "list"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "0 messages") {
		t.Fatalf("code %d: %s %s", code, out.String(), errb.String())
	}
}
