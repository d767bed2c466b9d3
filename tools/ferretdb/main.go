// Command ferretdb runs FerretDB 1.24.2 (SQLite backend) as CaseBridge's embedded database.
//
// It wraps the embeddable package github.com/FerretDB/FerretDB/ferretdb instead of building
// FerretDB's own cmd/ferretdb: that command panics unless built from a FerretDB git checkout
// (it wants generated build/version/version.txt), which a module build cannot provide.
//
// Once listening it prints one JSON line, {"uri":"mongodb://127.0.0.1:PORT/"}, so the caller can
// ask for port 0 and learn the real port without racing for a free one. It stops on SIGINT or
// SIGTERM, and also when its standard input closes: a parent that dies without cleaning up
// (SIGKILL, crash) does not leave an orphaned database behind.
//
// FerretDB is built from a patched copy (patches/, see scripts/install-ferretdb.sh) whose SQLite
// backend answers CaseBridge's search conditions from indexes kept in step by triggers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/ferretdb"
)

const ferretDBModule = "github.com/FerretDB/FerretDB"

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:0", "TCP address to listen on (port 0 picks a free port)")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URI (trailing slash required)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	watchStdin := flag.Bool("exit-on-stdin-close", false, "stop when standard input reaches EOF")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail("invalid -log-level: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	setFerretDBVersion()
	tuneGC(os.Getenv)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// Once shutdown has begun, restore default signal handling: a second SIGINT/SIGTERM kills
	// at once instead of waiting for FerretDB's grace period for open connections (3 s).
	go func() {
		<-ctx.Done()
		stop()
	}()

	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		fail("%v", err)
	}

	// CASEBRIDGE_FERRETDB_CPU_PROFILE=<file>: a Go CPU profile of the whole run, written when the
	// database stops (go tool pprof <file>): how npm run bench:ingest looks at FerretDB's share.
	if file := os.Getenv("CASEBRIDGE_FERRETDB_CPU_PROFILE"); file != "" {
		out, err := os.Create(file)
		if err != nil {
			fail("CASEBRIDGE_FERRETDB_CPU_PROFILE: %v", err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			fail("CASEBRIDGE_FERRETDB_CPU_PROFILE: %v", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = out.Close()
		}()
	}

	ready, _ := json.Marshal(map[string]string{"uri": f.MongoDBURI()})
	fmt.Println(string(ready))

	if err := f.Run(ctx); err != nil {
		fail("%v", err)
	}
}

// setFerretDBVersion makes buildInfo report the real FerretDB version in its ferretdbVersion field.
// The version package only reads it from files generated in a FerretDB checkout, so a build of
// the embeddable package from the module cache reports "unknown"; the module version recorded in
// this binary's build info is the truth.
func setFerretDBVersion() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}

	for _, dep := range info.Deps {
		if dep.Path == ferretDBModule {
			version.Get().Version = dep.Version
			return
		}
	}
}

// gcPercent is the Go collector's setting unless GOGC says otherwise. FerretDB allocates a decoded
// copy of every document it reads or writes, and at Go's default (100: collect when the heap has
// doubled) collecting took about a tenth of its CPU. At 400 the heap may grow to five times what
// is live: under ingest at 1,000 clients FerretDB's CPU per resource fell by a sixth for ~50 MiB
// more peak memory (docs/performance.md).
const gcPercent = 400

// tuneGC sets the collector to gcPercent, unless the environment's GOGC, which the Go runtime
// has already applied, says otherwise.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferretdb: "+format+"\n", args...)
	os.Exit(1)
}
