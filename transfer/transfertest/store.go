package transfertest

import (
	"os"
	"testing"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/storetest"
)

func storeSQLite(tb testing.TB) store.Store { return storetest.SQLite(tb) }

func mkdir(d string) error { return os.MkdirAll(d, 0o700) }
