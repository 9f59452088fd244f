package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/clamd"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/quarantine"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/std"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/web"
)

// transferService builds the file transfer from the configuration: the
// sanitization policy (the embedded strict default unless a file is named),
// its quarantine, and the approval policy. With the default policy the
// quarantine lives in the data directory with a key generated there, like
// the TOTP sealing key.
func transferService(env *Env, cfg *web.Config, s store.Store, al *audit.Log, m *model.Model) (*transfer.Service, func(), error) {
	tc := cfg.Transfer
	p, err := loadPolicy(env, tc.SanitizePolicy)
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp(cfg.Data, ".transfer-tmp-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	ecfg := sanitize.Config{Policy: p, Log: env.Log, TempDir: tmp, Handlers: std.Handlers(tmp), Inspectors: std.Inspectors(tmp)}
	if p.Clamd.Enabled {
		c, err := clamd.New(p.Clamd.Address, p.Clamd.Timeout)
		if err != nil {
			cleanup()
			return nil, nil, &ExitError{Code: 2, Err: err}
		}
		ecfg.Scanner = c
	}
	var vault *quarantine.Store
	if p.Quarantine.Enabled {
		if tc.SanitizePolicy == "" {
			vault, err = dataQuarantine(cfg.Data, p.Quarantine.KeyEnv, p.Quarantine.Retention)
		} else {
			vault, err = openVault(p)
		}
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		ecfg.Vault = vault
	}
	eng, err := sanitize.New(ecfg)
	if err != nil {
		cleanup()
		return nil, nil, &ExitError{Code: 2, Err: err}
	}
	pol := transfer.DefaultPolicy()
	if tc.MaxFiles > 0 {
		pol.MaxFiles = tc.MaxFiles
	}
	if tc.MaxFileMB > 0 {
		pol.MaxFileBytes = tc.MaxFileMB << 20
	}
	if tc.MaxTotalMB > 0 {
		pol.MaxTotalBytes = tc.MaxTotalMB << 20
	}
	pol.ApproveAll = tc.ApproveAll
	pol.ApproveAboveBytes = tc.ApproveAboveMB << 20
	if tc.ApproveTypes != nil {
		pol.ApproveTypes = tc.ApproveTypes
	}
	if tc.EncryptFrom != "" {
		pol.EncryptFromRank = model.Confidentiality(tc.EncryptFrom).Rank()
	}
	if tc.Retention.Duration > 0 {
		pol.Retention = tc.Retention.Duration
	}
	if tc.LinkTTL.Duration > 0 {
		pol.LinkTTL = tc.LinkTTL.Duration
	}
	svc := &transfer.Service{Store: s, Users: s, Audit: al, Engine: eng, Dir: filepath.Join(cfg.Data, "transfers"), Policy: pol, Log: env.Log,
		DepartmentOf: departmentOf(m)}
	if vault != nil {
		svc.Originals = func(ref string, w io.Writer) error { _, err := vault.Extract(ref, w); return err }
	}
	if tc.SMTP.Addr != "" {
		svc.Notifier = &transfer.SMTPNotifier{Addr: tc.SMTP.Addr, From: tc.SMTP.From, Domain: tc.SMTP.Domain}
	}
	return svc, cleanup, nil
}

// dataQuarantine opens data/quarantine with the key from keyEnv when set,
// else from data/quarantine.key (created on first use, mode 0600).
func dataQuarantine(data, keyEnv string, retention time.Duration) (*quarantine.Store, error) {
	var key []byte
	var err error
	if keyEnv != "" && os.Getenv(keyEnv) != "" {
		key, err = quarantine.LoadKey("", keyEnv)
	} else {
		file := filepath.Join(data, "quarantine.key")
		if _, serr := os.Stat(file); errors.Is(serr, fs.ErrNotExist) {
			k := make([]byte, 32)
			rand.Read(k)
			if err := os.WriteFile(file, k, 0o600); err != nil {
				return nil, fmt.Errorf("create quarantine key: %w", err)
			}
		}
		key, err = quarantine.LoadKey(file, "")
	}
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return quarantine.Open(filepath.Join(data, "quarantine"), key, retention)
}

// departmentOf maps a division to its department as the model declares
// them (organization.departments[].divisions); nil without a model.
func departmentOf(m *model.Model) func(string) string {
	if m == nil || m.Org == nil {
		return nil
	}
	dept := map[string]string{}
	for _, d := range m.Org.Departments {
		for _, v := range d.Divisions {
			dept[v.ID] = d.ID
		}
	}
	return func(div string) string { return dept[div] }
}

// expireTransfers applies the retention every ten minutes.
func expireTransfers(ctx context.Context, svc *transfer.Service, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if err := svc.Expire(ctx); err != nil {
			log.Warn("transfer expiry failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
