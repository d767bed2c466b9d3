package main

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	// The patched backend's driver ("sqlite3-casebridge") registers itself here.
	_ "github.com/FerretDB/FerretDB/ferretdb"
)

// The patched backend runs on SQLite's C library (patches/README.md). Its connections must get
// the _pragma settings of FerretDB's URI, in order (durability rests on synchronous), and the
// options of tools/ferretdb/cgo.env that FerretDB relies on.
func TestDriverAppliesTheURIPragmas(t *testing.T) {
	uri := "file:" + t.TempDir() + "/pragmas.sqlite?_pragma=busy_timeout(1234)&_pragma=journal_mode(wal)&_pragma=synchronous(full)&_pragma=wal_autocheckpoint(20000)&_pragma=temp_store(memory)"

	db, err := sql.Open("sqlite3-casebridge", uri)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	want := map[string]string{
		"PRAGMA busy_timeout":       "1234",
		"PRAGMA journal_mode":       "wal",
		"PRAGMA synchronous":        "2", // FULL
		"PRAGMA wal_autocheckpoint": "20000",
		"PRAGMA temp_store":         "2", // MEMORY
		"SELECT sqlite_version()":   "3.46.1",
		// dbstat answers collStats, dbStats and compact.
		"SELECT count(*) > 0 FROM dbstat": "1",
	}

	for q, expected := range want {
		var got string
		if err := db.QueryRow(q).Scan(&got); err != nil {
			t.Fatalf("%s: %v", q, err)
		}

		if got != expected {
			t.Errorf("%s = %s, want %s", q, got, expected)
		}
	}

	// Every connection of the pool gets them, not only the first.
	db.SetMaxIdleConns(0)

	for range 3 {
		var synchronous string
		if err := db.QueryRow("PRAGMA synchronous").Scan(&synchronous); err != nil || synchronous != "2" {
			t.Fatalf("PRAGMA synchronous on a new connection = %q (%v), want 2", synchronous, err)
		}
	}
}

func TestDriverRefusesAPragmaItCannotRead(t *testing.T) {
	for _, p := range []string{"synchronous", "synchronous(full", "synchronous(full; DROP TABLE x)", "no_such_pragma(1)x"} {
		db, err := sql.Open("sqlite3-casebridge", "file:"+t.TempDir()+"/bad.sqlite?_pragma="+url.QueryEscape(p))
		if err != nil {
			t.Fatal(err)
		}

		if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "_pragma") {
			t.Errorf("_pragma=%s: opened (%v), want an error naming _pragma", p, err)
		}

		db.Close()
	}
}
