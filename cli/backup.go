package cli

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kyojin/kyojin/store"
)

// The guideline's ransomware checklist (backups kept offline, restores
// rehearsed) applies to kyojin's own state too: backup writes every durable
// record and the files a restored console needs to one tar archive
// (kyojin-backup.json, then data/transfers/… and data/quarantine/…),
// restore loads it into an empty store and data directory, and the round
// trip is tested. The keys (secret.key, quarantine.key) stay out of the
// archive: the sealed TOTP secrets and the encrypted originals must not
// travel with their keys.

// snapshotEntry is the archive member holding the store's records.
const snapshotEntry = "kyojin-backup.json"

// backupDirs are the parts of the data directory a restored console needs:
// sanitized transfer outputs (pending and available transfers) and the
// encrypted quarantine of originals.
var backupDirs = []string{"transfers", "quarantine"}

func init() {
	var sf storeFlags
	register(&Command{
		Name:  "backup",
		Usage: "[--data DIR | --db postgres://…] FILE",
		Short: "コンソールの状態（利用者、権限、MFA、監査ログ、設定、ファイル転送、インシデント）を FILE にバックアップする",
		Long: `FILE（tar、権限 0600）に、データベースの記録（kyojin-backup.json）と、データディレクトリの
transfers/（無害化済みの転送ファイル）と quarantine/（暗号化隔離された原本）を書き出します。
セッション、ログイン試行、ダウンロードリンク、作業中の一時ファイルは含みません。
TOTP の秘密は secret.key で、原本は quarantine.key で、インシデントの証拠ファイルは evidence.key で
暗号化されたまま書き出されるため、これらの鍵は別の媒体に保管してください。既存の FILE は上書きしません。`,
		Flags: sf.register,
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usageError("backup needs exactly one FILE")
			}
			ctx := context.Background()
			s, err := sf.openMigrated(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			snap, err := s.Dump(ctx)
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(snap, "", " ")
			if err != nil {
				return err
			}
			var files, bytes int64
			if err := writeNewFile(args[0], func(w io.Writer) error {
				files, bytes, err = writeBackup(w, append(data, '\n'), sf.data)
				return err
			}); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: 利用者 %d、監査ログ %d 件、設定 %d 件、転送 %d 件、ファイル %d 個（%d バイト）\n",
				args[0], len(snap.Users), len(snap.Audit), len(snap.Settings), len(snap.Transfers), files, bytes)
			return nil
		},
	})
	var rf storeFlags
	register(&Command{
		Name:  "restore",
		Usage: "[--data DIR | --db postgres://…] FILE",
		Short: "kyojin backup で作った FILE を空のデータベースに復元する",
		Long: `復元先（データベースと、データディレクトリの transfers/・quarantine/）は空でなければなりません
（既存のデータを上書きしません）。原本を取り出すには、退避しておいた quarantine.key をデータディレクトリに
戻してください。復元後に kyojin audit verify を実行してください。以前の JSON 形式のバックアップも復元できます。`,
		Flags: rf.register,
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usageError("restore needs exactly one FILE")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer f.Close()
			stage, err := os.MkdirTemp(rf.data, ".restore-")
			if err != nil {
				if err := os.MkdirAll(rf.data, 0o700); err != nil {
					return err
				}
				if stage, err = os.MkdirTemp(rf.data, ".restore-"); err != nil {
					return err
				}
			}
			defer os.RemoveAll(stage)
			snap, files, err := readBackup(f, stage)
			if err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("%s: not a kyojin backup: %w", args[0], err)}
			}
			for _, d := range backupDirs {
				if n, err := countFiles(filepath.Join(rf.data, d)); err != nil {
					return err
				} else if n > 0 {
					return &ExitError{Code: 1, Err: fmt.Errorf("%w: %s has %d files", store.ErrNotEmpty, filepath.Join(rf.data, d), n),
						Hint: "restore into a new --data directory"}
				}
			}
			ctx := context.Background()
			s, err := rf.openMigrated(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Restore(ctx, snap); err != nil {
				if errors.Is(err, store.ErrNotEmpty) {
					return &ExitError{Code: 1, Err: err, Hint: "restore into a new --data directory or an empty database"}
				}
				return err
			}
			// The records are in: move the files into place (same file
			// system, so each rename is atomic).
			for _, d := range backupDirs {
				src := filepath.Join(stage, d)
				if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
					continue
				}
				dst := filepath.Join(rf.data, d)
				if err := os.RemoveAll(dst); err != nil { // holds no files (checked above)
					return err
				}
				if err := os.Rename(src, dst); err != nil {
					return fmt.Errorf("restore %s: %w", d, err)
				}
			}
			fmt.Fprintf(env.Stdout, "%s: 利用者 %d、監査ログ %d 件、転送 %d 件、ファイル %d 個を復元しました\n", args[0], len(snap.Users), len(snap.Audit), len(snap.Transfers), files)
			return nil
		},
	})
}

// writeBackup writes the snapshot and the files of backupDirs under data
// as a tar archive. Temporary spools (names starting with ".") are left
// out. It returns the number of files and their bytes.
func writeBackup(w io.Writer, snapshot []byte, data string) (files, size int64, err error) {
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: snapshotEntry, Mode: 0o600, Size: int64(len(snapshot)), Typeflag: tar.TypeReg}); err != nil {
		return 0, 0, err
	}
	if _, err := tw.Write(snapshot); err != nil {
		return 0, 0, err
	}
	for _, d := range backupDirs {
		root := filepath.Join(data, d)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".") && p != root {
				if e.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !e.Type().IsRegular() {
				return nil // directories are implied; links are never followed
			}
			rel, err := filepath.Rel(data, p)
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // expired while the backup ran
				}
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Name: "data/" + filepath.ToSlash(rel), Mode: 0o600, Size: fi.Size(),
				ModTime: fi.ModTime(), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			n, err := io.Copy(tw, io.LimitReader(f, fi.Size()))
			if err == nil && n != fi.Size() {
				err = fmt.Errorf("%s changed size during the backup", p)
			}
			files, size = files+1, size+n
			return err
		})
		if err != nil {
			return 0, 0, fmt.Errorf("back up %s: %w", root, err)
		}
	}
	return files, size, tw.Close()
}

// maxSnapshot bounds the JSON read into memory from a backup.
const maxSnapshot = 4 << 30

// readBackup reads a backup: the tar archive written by writeBackup, whose
// files are extracted under stage, or a JSON snapshot from an older kyojin.
func readBackup(r io.Reader, stage string) (*store.Snapshot, int, error) {
	br := bufio.NewReader(r)
	first, err := br.Peek(1)
	if err != nil {
		return nil, 0, err
	}
	var snap store.Snapshot
	if first[0] == '{' {
		return &snap, 0, json.NewDecoder(io.LimitReader(br, maxSnapshot)).Decode(&snap)
	}
	tr := tar.NewReader(br)
	h, err := tr.Next()
	if err != nil {
		return nil, 0, err
	}
	if h.Name != snapshotEntry {
		return nil, 0, fmt.Errorf("first member is %q, want %s", h.Name, snapshotEntry)
	}
	if err := json.NewDecoder(io.LimitReader(tr, maxSnapshot)).Decode(&snap); err != nil {
		return nil, 0, err
	}
	files := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return &snap, files, nil
		}
		if err != nil {
			return nil, 0, err
		}
		rel, err := backupPath(h.Name)
		if err != nil {
			return nil, 0, err
		}
		if h.Typeflag != tar.TypeReg {
			return nil, 0, fmt.Errorf("member %q is not a regular file", h.Name)
		}
		dst := filepath.Join(stage, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, 0, err
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, 0, err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, 0, fmt.Errorf("extract %q: %w", h.Name, err)
		}
		files++
	}
}

// backupPath checks a member name of a backup and returns the path it
// restores to, relative to the data directory: only data/transfers/… and
// data/quarantine/…, clean, without "..", so that an altered archive
// cannot write anywhere else.
func backupPath(name string) (string, error) {
	rel, ok := strings.CutPrefix(name, "data/")
	top, _, _ := strings.Cut(rel, "/")
	if !ok || path.Clean(rel) != rel || !fs.ValidPath(rel) || strings.ContainsAny(rel, "\\\x00") ||
		!strings.Contains(rel, "/") || (top != backupDirs[0] && top != backupDirs[1]) {
		return "", fmt.Errorf("unexpected member %q", name)
	}
	return filepath.FromSlash(rel), nil
}

// countFiles counts the regular files under dir (0 when it does not exist).
func countFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipDir
		}
		if err == nil && e.Type().IsRegular() {
			n++
		}
		return err
	})
	return n, err
}

// writeNewFile writes a new file with mode 0600 through fill, via a
// temporary file and rename, refusing to replace an existing file.
func writeNewFile(path string, fill func(io.Writer) error) error {
	if _, err := os.Stat(path); err == nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("%s already exists", path)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kyojin-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
