package main

// FerretDB 1.24's SQLite backend answers a find, update or delete by a single _id with
//
//	WHERE _ferretdb_sjson->'$._id' = ?
//
// but its unique _id index is on _ferretdb_sjson->"_id". SQLite uses an expression index only
// for the same expression, so every _id lookup scanned the whole table (EXPLAIN QUERY PLAN:
// SCAN). keepIDIndexes gives each FerretDB table one more index, on the exact expression of the
// query, so the same lookups become index searches (SEARCH … USING INDEX). FerretDB never reads
// sqlite_master, and DROP TABLE drops the index with its table.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// The suffix names our index apart from FerretDB's own ("<table>_<index name>").
const idIndexSuffix = "__casebridge_id_lookup"

// keepIDIndexes indexes every table now and then every interval, for collections created since.
func keepIDIndexes(ctx context.Context, sqliteURL string, interval time.Duration, logger *slog.Logger) {
	dir, err := sqliteDir(sqliteURL)
	if err != nil {
		logger.WarnContext(ctx, "no _id lookup indexes", slog.String("error", err.Error()))
		return
	}

	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			if err := ensureIDIndexes(ctx, file, logger); err != nil && ctx.Err() == nil {
				logger.DebugContext(ctx, "_id lookup indexes not checked", slog.String("file", file), slog.String("error", err.Error()))
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// ensureIDIndexes creates the missing _id lookup indexes of one database file.
func ensureIDIndexes(ctx context.Context, file string, logger *slog.Logger) error {
	// mode=rw: never re-create a database file FerretDB has just dropped. The busy timeout waits
	// for FerretDB's writes, as FerretDB's own connections (10 s) wait for ours.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()

	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || ?)`, idIndexSuffix)
	if err != nil {
		return err
	}

	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	rows.Close()

	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+idIndexSuffix, table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
		logger.DebugContext(ctx, "_id lookup index created", slog.String("file", file), slog.String("table", table))
	}

	return nil
}

// sqliteDir is the folder of a FerretDB SQLite URL: file:/abs/dir/?… or file:rel/dir/.
func sqliteDir(sqliteURL string) (string, error) {
	u, err := url.Parse(sqliteURL)
	if err != nil {
		return "", err
	}

	dir := u.Path
	if u.Opaque != "" {
		dir = strings.SplitN(u.Opaque, "?", 2)[0]
	}

	if dir == "" {
		return "", fmt.Errorf("no folder in %q", sqliteURL)
	}

	return dir, nil
}
