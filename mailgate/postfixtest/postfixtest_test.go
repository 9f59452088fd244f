package postfixtest

import (
	"net/smtp"
	"testing"
	"time"
)

// TestInstance: a private instance accepts mail for its domain over SMTP
// and delivers it into its maildir.
func TestInstance(t *testing.T) {
	in := Start(t, Options{Name: "selftest", Domains: []string{"city.lg.jp"}})
	msg := "From: a@example.jp\r\nTo: k@city.lg.jp\r\nSubject: t\r\nMessage-ID: <self@test>\r\n\r\nhello\r\n"
	if err := smtp.SendMail(in.Addr, nil, "a@example.jp", []string{"k@city.lg.jp"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for in.MessageIDs()["<self@test>"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered; log:\n%s", in.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
