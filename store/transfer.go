package store

import (
	"context"
	"errors"
	"time"
)

// ErrExpired is returned when a download link is past its expiry.
var ErrExpired = errors.New("store: expired")

// ErrUsed is returned when a single-use download link was already used.
var ErrUsed = errors.New("store: already used")

// ErrStale is returned when a compare-and-set status change finds the
// record in another state (someone else decided first).
var ErrStale = errors.New("store: state changed")

// Transfer is one zone-to-zone file transfer (ファイル無害化転送). Users are
// referred to by login name so that the record stays readable after an
// account is removed.
type Transfer struct {
	ID             string    `json:"id"`
	Direction      string    `json:"direction"` // "in" (Internet → LGWAN) or "out" (LGWAN → Internet)
	Sender         string    `json:"sender"`
	Recipients     []string  `json:"recipients"`
	Purpose        string    `json:"purpose"`
	Classification string    `json:"classification"` // e.g. "機密性2"; "" when not stated
	Encrypt        bool      `json:"encrypt"`        // the download must be encrypted (policy)
	Status         string    `json:"status"`         // "pending", "approved", "rejected", "available", "expired"
	ApprovalReason string    `json:"approval_reason"`
	Approver       string    `json:"approver"`
	Decision       string    `json:"decision"` // the approver's reason
	CreatedAt      time.Time `json:"created_at"`
	DecidedAt      time.Time `json:"decided_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// TransferFile is one file of a transfer with the engine's verdict.
type TransferFile struct {
	TransferID string `json:"transfer_id"`
	Seq        int    `json:"seq"`
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	Type       string `json:"type"`
	Verdict    string `json:"verdict"`
	Reason     string `json:"reason"`
	Actions    string `json:"actions"` // JSON array of sanitize.Action
	Quarantine string `json:"quarantine"`
	OutName    string `json:"out_name"` // "" when nothing is deliverable
	OutSize    int64  `json:"out_size"`
	OutSHA256  string `json:"out_sha256"`
}

// DownloadLink is an expiring, single-use link to one sanitized file. Token
// is the SHA-256 of the secret in the URL.
type DownloadLink struct {
	Token      string    `json:"token"`
	TransferID string    `json:"transfer_id"`
	Seq        int       `json:"seq"`
	User       string    `json:"user"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UsedAt     time.Time `json:"used_at"`
}

// TransferFilter selects transfers for the auditors' history; zero fields
// match everything.
type TransferFilter struct {
	Since  time.Time // created at or after
	Until  time.Time // created before
	Sender string    // exact login name
	Status string
	Limit  int // 0 = 1000
}

// TransferStore is the part of Store that keeps transfers.
type TransferStore interface {
	// CreateTransfer stores a transfer and its files in one transaction.
	CreateTransfer(ctx context.Context, t *Transfer, files []TransferFile) error
	Transfer(ctx context.Context, id string) (*Transfer, error)
	TransferFiles(ctx context.Context, id string) ([]TransferFile, error)
	// ListTransfers returns the newest transfers first.
	ListTransfers(ctx context.Context, limit int) ([]Transfer, error)
	// TransferHistory returns the transfers matching f, newest first.
	TransferHistory(ctx context.Context, f TransferFilter) ([]Transfer, error)
	// DecideTransfer moves a transfer from status from to t.Status, setting
	// the approver, decision and time; ErrStale when it is no longer in from.
	DecideTransfer(ctx context.Context, t *Transfer, from string) error
	// ExpireTransfers marks transfers past ExpiresAt as expired and returns their ids.
	ExpireTransfers(ctx context.Context, now time.Time) ([]string, error)
	CreateDownloadLink(ctx context.Context, l *DownloadLink) error
	// RedeemDownloadLink marks the link used and returns it; ErrNotFound,
	// ErrExpired or ErrUsed otherwise. Two concurrent redemptions: one wins.
	RedeemDownloadLink(ctx context.Context, token string, now time.Time) (*DownloadLink, error)
}
