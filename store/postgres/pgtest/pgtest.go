// Package pgtest starts a real, throw-away PostgreSQL server for tests:
// initdb and pg_ctl from the Debian postgresql package, data and unix socket
// in a temporary directory, no TCP listener. Tests skip with a message when
// the binaries are absent (scripts/test installs them).
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver
)

// Server is a running PostgreSQL instance.
type Server struct {
	Dir string // data directory and socket directory
	n   atomic.Int64
}

// binDir finds the newest /usr/lib/postgresql/*/bin holding initdb.
func binDir() string {
	if d := os.Getenv("KYOJIN_PG_BIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// Start initialises and starts a server that is stopped and removed when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binDir()
	if bin == "" {
		t.Skip("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (install the Debian package postgresql)")
	}
	dir, err := os.MkdirTemp("", "kyojin-pg-")
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL refuses to run as root: hand the directory to the
	// postgres (or nobody) account and run the binaries as that user.
	var asUser string
	if os.Geteuid() == 0 {
		for _, name := range []string{"postgres", "nobody"} {
			if u, err := user.Lookup(name); err == nil {
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(u.Gid)
				if err := os.Chown(dir, uid, gid); err != nil {
					t.Fatal(err)
				}
				asUser = name
				break
			}
		}
		if asUser == "" {
			t.Skip("running as root and neither a postgres nor a nobody account exists")
		}
	}
	run := func(name string, args ...string) error {
		cmdArgs := append([]string{filepath.Join(bin, name)}, args...)
		if asUser != "" {
			cmdArgs = append([]string{"runuser", "-u", asUser, "--"}, cmdArgs...)
		}
		cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -F -c max_connections=100 -c shared_buffers=16MB", dir)
	if err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		t.Fatalf("%v\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			t.Logf("stop postgres: %v", err)
		}
		os.RemoveAll(dir)
	})
	return &Server{Dir: dir}
}

// DSN returns the postgres:// URL of database db (unix socket in Dir).
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&sslmode=disable", db, url.QueryEscape(s.Dir))
}

// NewDB creates a fresh, empty database and returns its DSN.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.n.Add(1))
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return s.DSN(name)
}
