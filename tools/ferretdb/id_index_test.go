package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// A table laid out as FerretDB's SQLite backend lays out a collection.
func ferretDBFile(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "casebridge.sqlite")
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE _ferretdb_collections (name TEXT NOT NULL UNIQUE, table_name TEXT NOT NULL UNIQUE, settings TEXT NOT NULL)`,
		`INSERT INTO _ferretdb_collections VALUES ('Patient', 'patient_1234', '{}')`,
		`CREATE TABLE patient_1234 (_ferretdb_sjson TEXT)`,
		`CREATE UNIQUE INDEX patient_1234__id_ ON patient_1234 (_ferretdb_sjson->"_id")`,
		`INSERT INTO patient_1234 VALUES ('{"_id":"a"}'), ('{"_id":"b"}')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return file
}

// The plan SQLite chooses for FerretDB's query of one _id.
func idLookupPlan(t *testing.T, file string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM patient_1234 WHERE _ferretdb_sjson->'$._id' = ?`, `"a"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

func TestIDLookupIndex(t *testing.T) {
	file := ferretDBFile(t)
	if plan := idLookupPlan(t, file); !strings.Contains(plan, "SCAN") {
		t.Fatalf("FerretDB's own index was expected not to serve the lookup, plan: %s", plan)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < 2; i++ { // the second pass finds nothing to do
		if err := ensureIDIndexes(context.Background(), file, logger); err != nil {
			t.Fatal(err)
		}
	}
	if plan := idLookupPlan(t, file); !strings.Contains(plan, "USING INDEX patient_1234"+idIndexSuffix) {
		t.Fatalf("the lookup does not use the new index, plan: %s", plan)
	}
}

func TestSQLiteDir(t *testing.T) {
	for url, want := range map[string]string{
		"file:/srv/data/?_pragma=synchronous(normal)": "/srv/data/",
		"file:data/": "data/",
	} {
		if got, err := sqliteDir(url); err != nil || got != want {
			t.Errorf("sqliteDir(%q) = %q, %v; want %q", url, got, err, want)
		}
	}
}
