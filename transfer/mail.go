package transfer

import (
	"context"
	"fmt"
	"mime"
	"net/smtp"
	"strings"
	"time"
)

// SMTPNotifier sends notices through an SMTP relay (the municipality's
// mail server). Users are addressed as name@Domain.
type SMTPNotifier struct {
	Addr   string // host:port
	From   string
	Domain string
}

// Notify sends one message to all users.
func (n *SMTPNotifier) Notify(ctx context.Context, users []string, subject, body string) error {
	var to []string
	for _, u := range users {
		if strings.ContainsAny(u, "\r\n<>@ ,") {
			return fmt.Errorf("notify: unusable user name %q", u)
		}
		to = append(to, u+"@"+n.Domain)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n", n.From, strings.Join(to, ", "),
		mime.BEncoding.Encode("utf-8", subject), time.Now().Format(time.RFC1123Z))
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(n.Addr, nil, n.From, to, []byte(b.String())) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("notify via %s: %w", n.Addr, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
