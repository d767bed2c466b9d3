package main

// The patched SQLite backend (patches/casebridge-pushdown.patch) against the real thing: an
// in-process FerretDB on a temporary folder, spoken to over the wire with the MongoDB Go driver.
// Each query runs twice: as written, where the patch may narrow it with its side tables, and
// wrapped in {$nor: [{$nor: [filter]}]} with a sort key after _id, which means the same to
// FerretDB but which the patch does not recognise, so FerretDB scans and sorts as upstream does.
// The answers must be the same, in the same order; and EXPLAIN must show no full scan.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "github.com/mattn/go-sqlite3" // the C library FerretDB is built with (patches/)
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// startFerretDB runs the patched FerretDB on a folder until stop is called or the test ends.
func startFerretDB(t *testing.T, dir string) (*mongo.Database, func()) {
	t.Helper()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(f.MongoDBURI()))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = client.Disconnect(context.Background())
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return client.Database("casebridge"), stop
}

func openSQLite(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+file+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// pairs returns the rows of a query selecting two text columns.
func pairs(t *testing.T, db *sql.DB, q string) [][2]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var row [2]string
		if err := rows.Scan(&row[0], &row[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
	return out
}

// sideTableObjects returns a DROP statement for each side table and trigger of the patch.
func sideTableObjects(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var drops []string
	for _, row := range pairs(t, db, `SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name GLOB '*__cb[0-9]*_*'`) {
		drops = append(drops, fmt.Sprintf("DROP %s %q", strings.ToUpper(row[0]), row[1]))
	}
	return drops
}

// observation is a document shaped like CaseBridge's (docs/storage.md), its values picked from
// small vocabularies so that each condition selects a known share of a collection.
func observation(i int) bson.D {
	id := fmt.Sprintf("obs-%05d", (i*7919)%100000) // not in insertion order
	terms := bson.A{
		"code:", fmt.Sprintf("code:t:http://loinc.org|c%d", i%7), fmt.Sprintf("code:c:c%d", i%7),
		"subject:", fmt.Sprintf("subject:r:Patient/p%03d", i%50),
		"status:", []string{"status:c:final", "status:c:amended", "status:c:preliminary"}[i%3],
		"name:", "name:s:" + []string{"abc", "abd", "ab", "ab.c", "b", "ab!x", "a", "ab\u00e9"}[i%8] + fmt.Sprint(i%3),
	}
	if i%5 == 0 {
		terms = append(terms, "performer:", fmt.Sprintf("performer:r:Practitioner/pr%d", i%4))
	}
	if i%10 != 0 { // a reference most documents hold (more than the pushdown drives from)
		terms = append(terms, "focus:r:Group/g1")
	}
	// What CaseBridge's access filters read (src/store/mongo/access.ts): the owner, and a
	// sensitive label on some documents.
	terms = append(terms, fmt.Sprintf("_owner:r:Organization/o%d", i%3))
	if i%9 == 0 {
		terms = append(terms, "_security:", "_security:t:http://terminology.hl7.org/CodeSystem/v3-ActCode|R")
	}
	date := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%400) * 24 * time.Hour)
	ranges := bson.D{
		{Key: "date~lo", Value: bson.A{date.Format("2006-01-02T15:04:05.000Z")}},
		{Key: "date~hi", Value: bson.A{date.Add(24*time.Hour - time.Millisecond).Format("2006-01-02T15:04:05.000Z")}},
	}
	order := bson.D{{Key: "date", Value: date.Format("2006-01-02T15:04:05.000Z")}}
	switch i % 4 {
	case 0: // two values, an integer and a double
		ranges = append(ranges, bson.E{Key: "value~v", Value: bson.A{int32(i % 10), float64(i%10) + 0.5}})
		order = append(order, bson.E{Key: "value", Value: int32(i % 10)})
	case 1: // one double, not an array
		ranges = append(ranges, bson.E{Key: "value~v", Value: 0.1 * float64(i%30)})
		order = append(order, bson.E{Key: "value", Value: 0.1 * float64(i%30)})
	case 2: // no value: the sort key is missing
	case 3: // a string sort key among numbers, and a null one
		order = append(order, bson.E{Key: "value", Value: []any{"high", nil}[i%2]})
	}
	if i%11 == 0 {
		order = order[1:] // no date sort key
	}
	return bson.D{
		{Key: "_id", Value: id},
		{Key: "vid", Value: int32(1)},
		{Key: "json", Value: `{"resourceType":"Observation"}`},
		{Key: "idx", Value: bson.D{{Key: "k", Value: terms}, {Key: "r", Value: ranges}, {Key: "o", Value: order}}},
	}
}

type query struct {
	name   string
	filter bson.D
	sort   bson.D
	limit  int64
}

func (q query) run(t *testing.T, coll *mongo.Collection, scan bool) []string {
	t.Helper()
	filter, sort := q.filter, q.sort
	if scan {
		filter = bson.D{{Key: "$nor", Value: bson.A{bson.D{{Key: "$nor", Value: bson.A{q.filter}}}}}}
		if len(sort) > 0 {
			sort = append(slices.Clone(sort), bson.E{Key: "not_pushed_down", Value: 1})
		}
	}
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}})
	if len(sort) > 0 {
		opts.SetSort(sort)
	}
	if q.limit > 0 {
		opts.SetLimit(q.limit)
	}
	cursor, err := coll.Find(context.Background(), filter, opts)
	if err != nil {
		t.Fatalf("%s: %v", q.name, err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err = cursor.All(context.Background(), &docs); err != nil {
		t.Fatalf("%s: %v", q.name, err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	if len(q.sort) == 0 {
		slices.Sort(ids)
	}
	return ids
}

type explained struct {
	FilterPushdown bool `bson:"filterPushdown"`
	SortPushdown   bool `bson:"sortPushdown"`
	QueryPlanner   struct {
		Plan  []string `bson:"Plan"`
		Query string   `bson:"Query"`
	} `bson:"queryPlanner"`
}

func explain(t *testing.T, db *mongo.Database, coll string, q query) explained {
	t.Helper()
	find := bson.D{{Key: "find", Value: coll}, {Key: "filter", Value: q.filter}}
	if len(q.sort) > 0 {
		find = append(find, bson.E{Key: "sort", Value: q.sort})
	}
	var res explained
	if err := db.RunCommand(context.Background(), bson.D{{Key: "explain", Value: find}}).Decode(&res); err != nil {
		t.Fatalf("%s: explain: %v", q.name, err)
	}
	return res
}

// fullScans are the plan steps that read a whole table (collection or side table) row by row.
// "SCAN T USING INDEX" is the walk in sort order (read until the page is full); "SCAN D" reads
// the driving subquery's own result.
var fullScan = regexp.MustCompile(`detail=SCAN (\S+)(.*)$`)

func fullScans(plan []string) []string {
	var scans []string
	for _, line := range plan {
		m := fullScan.FindStringSubmatch(line)
		if m == nil || m[1] == "D" || strings.Contains(m[2], "USING INDEX") || strings.Contains(m[2], "USING COVERING INDEX") {
			continue
		}
		scans = append(scans, line)
	}
	return scans
}

func TestPushdownAnswersAsScanning(t *testing.T) {
	db, _ := startFerretDB(t, t.TempDir())
	ctx := context.Background()
	coll := db.Collection("Observation")
	var docs []any
	for i := 0; i < 3000; i++ {
		docs = append(docs, observation(i))
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	// A deleted resource (no idx), as CaseBridge keeps it.
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "obs-deleted"}, {Key: "vid", Value: int32(2)}, {Key: "deleted", Value: true}}); err != nil {
		t.Fatal(err)
	}
	// Documents change: the side tables follow in the same statement.
	for i := 0; i < 3000; i += 97 {
		replacement := observation(i + 1)
		replacement[0].Value = observation(i)[0].Value
		if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: replacement[0].Value}}, replacement); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"obs-00000", observation(13)[0].Value}}}}}); err != nil {
		t.Fatal(err)
	}

	live := bson.E{Key: "idx", Value: bson.D{{Key: "$exists", Value: true}}}
	term := func(v string) bson.E { return bson.E{Key: "idx.k", Value: v} }
	rng := func(path, op string, v any) bson.D {
		return bson.D{{Key: "idx.r." + path, Value: bson.D{{Key: op, Value: v}}}}
	}
	byID := bson.D{{Key: "_id", Value: 1}}
	byDate := bson.D{{Key: "idx.o.date", Value: 1}, {Key: "_id", Value: 1}}
	byDateDesc := bson.D{{Key: "idx.o.date", Value: -1}, {Key: "_id", Value: 1}}
	byValue := bson.D{{Key: "idx.o.value", Value: 1}, {Key: "_id", Value: 1}}
	pushed := []query{
		{name: "one term", filter: bson.D{live, term("code:t:http://loinc.org|c3")}, sort: byID, limit: 21},
		{name: "one term, unsorted", filter: bson.D{term("status:c:final")}},
		{name: "one term, all of it, in order", filter: bson.D{term("code:")}, sort: byID},
		{name: "one term, descending", filter: bson.D{term("code:")}, sort: bson.D{{Key: "_id", Value: -1}}, limit: 30},
		{name: "$in terms", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$in", Value: bson.A{"subject:r:Patient/p001", "subject:r:Patient/p002"}}}}}, sort: byID},
		{name: "$or of terms (a compartment)", filter: bson.D{live, {Key: "$or", Value: bson.A{
			bson.D{term("subject:r:Patient/p007")}, bson.D{term("performer:r:Practitioner/pr1")},
		}}}, sort: byID},
		{name: "terms and a term $ne", filter: bson.D{term("subject:r:Patient/p003"), {Key: "$and", Value: bson.A{
			bson.D{{Key: "idx.k", Value: bson.D{{Key: "$ne", Value: "status:c:final"}}}},
		}}}, sort: byID},
		{name: "prefix", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "^name:s:ab"}}}}, sort: byID},
		{name: "prefix with an escaped dot", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: `^name:s:ab\.c`}}}}, sort: byID},
		{name: "prefix then an optional letter", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "^name:s:abd?1"}}}}, sort: byID},
		{name: "prefix then any text", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "^name:s:a.*1$"}}}}, sort: byID},
		{name: "prefix with a non-ASCII letter", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "^name:s:ab\u00e9"}}}}, sort: byID},
		{name: "string range (date bound)", filter: bson.D{live, {Key: "$and", Value: bson.A{
			rng("date~hi", "$gte", "2024-06-01T00:00:00.000Z"), rng("date~lo", "$lte", "2024-06-30T23:59:59.999Z"),
		}}}, sort: byID},
		{name: "string range below", filter: rng("date~lo", "$lt", "2024-01-05T00:00:00.000Z"), sort: byID},
		{name: "number range", filter: rng("value~v", "$gt", 8), sort: byID},
		{name: "number range on doubles", filter: rng("value~v", "$lte", 0.3), sort: byID},
		{name: "number equality", filter: bson.D{{Key: "idx.r.value~v", Value: 2.5}}, sort: byID},
		{name: "number between", filter: bson.D{{Key: "idx.r.value~v", Value: bson.D{{Key: "$gte", Value: 1.2}, {Key: "$lt", Value: int64(2)}}}}, sort: byID},
		{name: "term and ranges, PHQ-9 style", filter: bson.D{live, term("code:t:http://loinc.org|c2"), {Key: "$and", Value: bson.A{
			rng("date~hi", "$gte", "2024-03-01T00:00:00.000Z"), rng("date~lo", "$lte", "2024-09-30T23:59:59.999Z"),
		}}}, sort: byID, limit: 21},
		{name: "_id list", filter: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"obs-07919", "obs-15838", "nope"}}}}, live}, sort: byID},
		{name: "_id range", filter: bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: "obs-90000"}}}}, sort: byID},
		{name: "sort by date", filter: bson.D{live}, sort: byDate, limit: 50},
		{name: "sort by date, descending", filter: bson.D{term("subject:r:Patient/p004")}, sort: byDateDesc},
		{name: "sort by a key of mixed types and nulls", filter: bson.D{live}, sort: byValue, limit: 400},
		{name: "sort by date, page after a position", filter: bson.D{live, {Key: "$or", Value: bson.A{
			bson.D{{Key: "idx.o.date", Value: bson.D{{Key: "$gt", Value: "2024-05-01T00:00:00.000Z"}}}},
			bson.D{{Key: "$and", Value: bson.A{bson.D{{Key: "idx.o.date", Value: "2024-05-01T00:00:00.000Z"}}, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: "obs-50000"}}}}}}},
		}}}, sort: byDate, limit: 50},
		{name: "sort descending, page after a position with nulls last", filter: bson.D{live, {Key: "$or", Value: bson.A{
			bson.D{{Key: "idx.o.date", Value: bson.D{{Key: "$lt", Value: "2024-03-01T00:00:00.000Z"}}}},
			bson.D{{Key: "idx.o.date", Value: nil}},
		}}}, sort: byDateDesc, limit: 60},
		{name: "sort by value after a null position", filter: bson.D{{Key: "idx.o.value", Value: bson.D{{Key: "$ne", Value: nil}}}}, sort: byValue, limit: 100},
	}
	// CaseBridge's access filters (src/store/mongo/access.ts), ANDed with a search: what a
	// caller may see is one $in of terms (its owner term, its clients' compartment references,
	// the references of its referrals) or of ids, and a sensitive label is hidden unless the
	// caller owns the document or the patient consented (a negation, checked on the candidates).
	var compartment, ids bson.A
	for p := 0; p < 12; p++ {
		compartment = append(compartment, fmt.Sprintf("subject:r:Patient/p%03d", p), fmt.Sprintf("performer:r:Patient/p%03d", p))
	}
	compartment = append(compartment, "_owner:r:Organization/o1")
	for i := 0; i < 40; i++ {
		ids = append(ids, observation(i * 31)[0].Value)
	}
	visible := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "idx.k", Value: bson.D{{Key: "$in", Value: compartment}}}},
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
	}}}
	disclosed := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "idx.k", Value: bson.D{{Key: "$ne", Value: "_security:t:http://terminology.hl7.org/CodeSystem/v3-ActCode|R"}}}},
		bson.D{term("_owner:r:Organization/o1")},
		bson.D{{Key: "idx.k", Value: bson.D{{Key: "$in", Value: bson.A{"subject:r:Patient/p003"}}}}},
	}}}
	scoped := func(search bson.D) bson.D {
		return bson.D{{Key: "$and", Value: bson.A{search, bson.D{{Key: "$and", Value: bson.A{visible, disclosed}}}}}}
	}
	onlyTerms := bson.D{{Key: "idx.k", Value: bson.D{{Key: "$in", Value: compartment}}}}
	pushed = append(pushed,
		query{name: "access: a caller's whole view", filter: scoped(bson.D{live}), sort: byID, limit: 21},
		query{name: "access: a term search", filter: scoped(bson.D{live, term("code:t:http://loinc.org|c3")}), sort: byID, limit: 21},
		query{name: "access: a search sorted by date", filter: scoped(bson.D{live, term("status:c:final")}), sort: byDateDesc, limit: 21},
		query{name: "access: ranges", filter: scoped(bson.D{live, term("code:t:http://loinc.org|c2"), {Key: "$and", Value: bson.A{
			rng("date~hi", "$gte", "2024-03-01T00:00:00.000Z"), rng("date~lo", "$lte", "2024-09-30T23:59:59.999Z"),
		}}}), sort: byID, limit: 21},
		query{name: "access: a prefix", filter: scoped(bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "^name:s:ab"}}}}), sort: byID},
		query{name: "access: an include by _id", filter: bson.D{{Key: "$and", Value: bson.A{
			bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids[:10]}}}, live}, bson.D{{Key: "$and", Value: bson.A{visible, disclosed}}},
		}}}},
		query{name: "access: terms only (no ids), a page after a position", filter: bson.D{{Key: "$and", Value: bson.A{
			bson.D{live, {Key: "$or", Value: bson.A{
				bson.D{{Key: "idx.o.date", Value: bson.D{{Key: "$gt", Value: "2024-05-01T00:00:00.000Z"}}}},
				bson.D{{Key: "$and", Value: bson.A{bson.D{{Key: "idx.o.date", Value: "2024-05-01T00:00:00.000Z"}}, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: "obs-50000"}}}}}}},
			}}},
			onlyTerms,
		}}}, sort: byDate, limit: 21},
		query{name: "access: a reference rule (referrals owned or requested)", filter: bson.D{live, {Key: "idx.k", Value: bson.D{{Key: "$in", Value: bson.A{
			"_owner:r:Organization/o2", "performer:r:Practitioner/pr1",
		}}}}}, sort: byID, limit: 21},
	)
	// In _id order, a condition on one reference reads that reference's documents from the refs
	// table in that order: no sort, so a page stops the statement (an agency's queue).
	open := bson.E{Key: "idx.k", Value: bson.D{{Key: "$in", Value: bson.A{"status:c:final", "status:c:amended"}}}}
	// allOf ANDs conditions on the same path, as CaseBridge's translator does.
	allOf := func(conditions ...bson.E) bson.D {
		parts := make(bson.A, len(conditions))
		for i, c := range conditions {
			parts[i] = bson.D{c}
		}
		return bson.D{{Key: "$and", Value: parts}}
	}
	inReferenceOrder := []query{
		{name: "in reference order: a queue", filter: allOf(term("_owner:r:Organization/o1"), open), sort: byID, limit: 21},
		{name: "in reference order: descending", filter: allOf(live, term("_owner:r:Organization/o1"), open), sort: bson.D{{Key: "_id", Value: -1}}, limit: 21},
		{name: "in reference order: a page after a position", filter: allOf(term("_owner:r:Organization/o1"), open, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: "obs-50000"}}}), sort: byID, limit: 21},
		{name: "in reference order: more than the pushdown drives from", filter: allOf(term("focus:r:Group/g1"), open), sort: byID, limit: 21},
		{name: "in reference order: the smaller of two references", filter: allOf(term("focus:r:Group/g1"), term("performer:r:Practitioner/pr1")), sort: byID},
		{name: "in reference order: with a range", filter: bson.D{term("_owner:r:Organization/o2"), {Key: "$and", Value: bson.A{
			rng("date~hi", "$gte", "2024-03-01T00:00:00.000Z"), rng("date~lo", "$lte", "2024-09-30T23:59:59.999Z"),
		}}}, sort: byID, limit: 21},
	}
	pushed = append(pushed, inReferenceOrder...)
	// A smaller condition that is not in the refs table still drives (and sorts its few
	// candidates): a term, or a reference to a client (a client's documents stay few).
	pushed = append(pushed,
		query{name: "a term smaller than the reference", filter: allOf(term("_owner:r:Organization/o1"), term("code:t:http://loinc.org|c3")), sort: byID, limit: 21},
		query{name: "a client's reference", filter: allOf(term("focus:r:Group/g1"), term("subject:r:Patient/p003")), sort: byID},
	)
	for _, q := range inReferenceOrder {
		t.Run(q.name+": the plan", func(t *testing.T) {
			e := explain(t, db, "Observation", q)
			plan := strings.Join(e.QueryPlanner.Plan, "\n")
			if !strings.Contains(e.QueryPlanner.Query, "_refs\" AS R") || strings.Contains(plan, "TEMP B-TREE") {
				t.Fatalf("not read in the refs table's order:\n%s\n%s", e.QueryPlanner.Query, plan)
			}
		})
	}

	for _, q := range pushed {
		t.Run(q.name, func(t *testing.T) {
			got, want := q.run(t, coll, false), q.run(t, coll, true)
			if !slices.Equal(got, want) {
				t.Fatalf("pushed down: %d documents %v…\nscanning:    %d documents %v…", len(got), head(got), len(want), head(want))
			}
			if len(want) == 0 {
				t.Fatalf("the query selects nothing: it proves nothing")
			}
			e := explain(t, db, "Observation", q)
			if !e.FilterPushdown && !e.SortPushdown {
				t.Fatalf("not pushed down: %+v", e)
			}
			t.Logf("%s\n%s", e.QueryPlanner.Query, strings.Join(e.QueryPlanner.Plan, "\n"))
			if scans := fullScans(e.QueryPlanner.Plan); len(scans) > 0 {
				t.Fatalf("full scan %v in\n%s\n%s", scans, e.QueryPlanner.Query, strings.Join(e.QueryPlanner.Plan, "\n"))
			}
		})
	}

	// A scope that grants nothing of a type ({_id: {$in: []}}, store/mongo/access.ts) is
	// answered from the index too: nothing, without reading the collection.
	for _, q := range []query{
		{name: "access: nothing of the type", filter: bson.D{{Key: "$and", Value: bson.A{bson.D{live, term("status:c:final")}, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}}}}, sort: byID, limit: 21},
		{name: "access: no term at all", filter: bson.D{live, {Key: "idx.k", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}, sort: byDate, limit: 21},
	} {
		t.Run(q.name, func(t *testing.T) {
			if got := q.run(t, coll, false); len(got) != 0 {
				t.Fatalf("selects %d documents", len(got))
			}
			e := explain(t, db, "Observation", q)
			if !e.FilterPushdown {
				t.Fatalf("not pushed down: %+v", e)
			}
			if scans := fullScans(e.QueryPlanner.Plan); len(scans) > 0 {
				t.Fatalf("full scan %v in\n%s", scans, e.QueryPlanner.Query)
			}
		})
	}

	// What the patch does not understand is left to FerretDB: same answer, by scanning.
	notPushed := []query{
		{name: "alternatives in a regex", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "^name:s:abc|^name:s:b"}}}}, sort: byID},
		{name: "case-insensitive regex", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "^NAME:s:ab"}, {Key: "$options", Value: "i"}}}}, sort: byID},
		{name: "unanchored regex", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$regex", Value: "s:ab"}}}}, sort: byID},
		{name: "a negation alone", filter: bson.D{{Key: "idx.k", Value: bson.D{{Key: "$nin", Value: bson.A{"status:c:final"}}}}}},
	}
	for _, q := range notPushed {
		t.Run(q.name, func(t *testing.T) {
			got, want := q.run(t, coll, false), q.run(t, coll, true)
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Fatalf("got %d documents, scanning %d", len(got), len(want))
			}
			if e := explain(t, db, "Observation", q); e.FilterPushdown {
				t.Fatalf("pushed down: %s", e.QueryPlanner.Query)
			}
		})
	}
}

func head(ids []string) []string {
	return ids[:min(len(ids), 5)]
}

// A document the pushdown cannot vouch for (here idx is an array) switches it off for its
// collection: FerretDB scans, and still finds it.
func TestOddDocumentTurnsPushdownOff(t *testing.T) {
	db, _ := startFerretDB(t, t.TempDir())
	ctx := context.Background()
	coll := db.Collection("Task")
	var docs []any
	for i := 0; i < 50; i++ {
		docs = append(docs, observation(i))
	}
	odd := bson.D{{Key: "_id", Value: "odd"}, {Key: "idx", Value: bson.A{bson.D{{Key: "k", Value: bson.A{"code:c:c3"}}}}}}
	if _, err := coll.InsertMany(ctx, append(docs, odd)); err != nil {
		t.Fatal(err)
	}
	q := query{name: "term", filter: bson.D{{Key: "idx.k", Value: "code:c:c3"}}, sort: bson.D{{Key: "_id", Value: 1}}}
	if e := explain(t, db, "Task", q); e.FilterPushdown || e.SortPushdown {
		t.Fatalf("pushed down with an odd document: %s", e.QueryPlanner.Query)
	}
	got := q.run(t, coll, false)
	if !slices.Contains(got, "odd") || !slices.Equal(got, q.run(t, coll, true)) {
		t.Fatalf("got %v", got)
	}
	// Once it is gone, the collection is pushed down again.
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "odd"}}); err != nil {
		t.Fatal(err)
	}
	if e := explain(t, db, "Task", q); !e.FilterPushdown {
		t.Fatalf("not pushed down: %+v", e)
	}
}

// A database FerretDB opens again keeps its side tables, and they answer at once.
func TestReopenedDatabaseIsPushedDown(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first, stop := startFerretDB(t, dir)
	if _, err := first.Collection("Observation").InsertMany(ctx, []any{observation(1), observation(2)}); err != nil {
		t.Fatal(err)
	}
	stop()
	db, _ := startFerretDB(t, dir)
	q := query{name: "term", filter: bson.D{{Key: "idx.k", Value: "code:c:c1"}}}
	if got := q.run(t, db.Collection("Observation"), false); !slices.Equal(got, []string{observation(1)[0].Value.(string)}) {
		t.Fatalf("got %v", got)
	}
	if e := explain(t, db, "Observation", q); !e.FilterPushdown {
		t.Fatalf("not pushed down: %+v", e)
	}
}

// A database written without the side tables (before the patch, or by an older version of
// it) gets them, filled, when FerretDB opens it; dropping a collection drops them.
func TestSideTablesBuiltForExistingData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	q := query{name: "term and range", filter: bson.D{{Key: "idx.k", Value: "subject:r:Patient/p001"}, {Key: "idx.r.value~v", Value: bson.D{{Key: "$gte", Value: 1}}}}, sort: bson.D{{Key: "_id", Value: 1}}}
	first, stop := startFerretDB(t, dir)
	var docs []any
	for i := 0; i < 500; i++ {
		docs = append(docs, observation(i))
	}
	if _, err := first.Collection("Observation").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	want := q.run(t, first.Collection("Observation"), true)
	stop()

	file := dir + "/casebridge.sqlite"
	sqlite := openSQLite(t, file)
	for _, drop := range sideTableObjects(t, sqlite) {
		if _, err := sqlite.Exec(drop); err != nil {
			t.Fatal(err)
		}
	}
	if left := sideTableObjects(t, sqlite); len(left) > 0 {
		t.Fatalf("still there: %v", left)
	}
	sqlite.Close()

	db, _ := startFerretDB(t, dir)
	// The side tables are filled in the background; until then FerretDB scans, and answers.
	if got := q.run(t, db.Collection("Observation"), false); !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("while rebuilding: %v, want %v", got, want)
	}
	for deadline := time.Now().Add(time.Minute); !explain(t, db, "Observation", q).FilterPushdown; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the side tables were not rebuilt")
		}
	}
	if got := q.run(t, db.Collection("Observation"), false); !slices.Equal(got, want) {
		t.Fatalf("after the rebuild: %v, want %v", got, want)
	}
	if err := db.Collection("Observation").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	sqlite = openSQLite(t, file)
	defer sqlite.Close()
	if left := sideTableObjects(t, sqlite); len(left) > 0 {
		t.Fatalf("left behind by drop: %v", left)
	}
}

// VACUUM (compact with force) renumbers rowids, which the side tables refer to: they are
// rebuilt with it, and answers stay the same.
func TestCompactKeepsAnswers(t *testing.T) {
	db, _ := startFerretDB(t, t.TempDir())
	ctx := context.Background()
	coll := db.Collection("Observation")
	var docs []any
	for i := 0; i < 400; i++ {
		docs = append(docs, observation(i))
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	// Holes in the rowids, so that VACUUM moves rows.
	if _, err := coll.DeleteMany(ctx, bson.D{{Key: "idx.k", Value: "subject:r:Patient/p000"}}); err != nil {
		t.Fatal(err)
	}
	q := query{name: "term and range", filter: bson.D{{Key: "idx.k", Value: "status:c:final"}, {Key: "idx.r.value~v", Value: bson.D{{Key: "$lt", Value: 2}}}}, sort: bson.D{{Key: "_id", Value: 1}}}
	want := q.run(t, coll, true)
	if err := db.RunCommand(ctx, bson.D{{Key: "compact", Value: "Observation"}, {Key: "force", Value: true}}).Err(); err != nil {
		t.Fatal(err)
	}
	if got := q.run(t, coll, false); !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("after compact: %v, want %v", head(got), head(want))
	}
	if e := explain(t, db, "Observation", q); !e.FilterPushdown {
		t.Fatalf("not pushed down: %+v", e)
	}
}

// Concurrent writers share commits (metadata/casebridge_locks.go, group commit): a duplicate
// _id fails only its own command (an ordered insert keeps the documents before it, as MongoDB
// does), and exactly the acknowledged writes are there afterwards, also after a reopen.
func TestConcurrentWritersShareCommits(t *testing.T) {
	dir := t.TempDir()
	db, stop := startFerretDB(t, dir)
	ctx := context.Background()
	coll := db.Collection("Observation")
	const writers, perWriter = 16, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	acknowledged := map[string]bool{}
	duplicates := 0
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				n := w*perWriter + i
				// Two documents per command; every tenth command repeats, second, an _id of the
				// writer's previous command.
				a, b := observation(n), observation(n+100000)
				b[0].Value = fmt.Sprintf("pair-%d", n)
				if i > 0 && i%10 == 0 {
					b[0].Value = fmt.Sprintf("pair-%d", n-1)
				}
				_, err := coll.InsertMany(ctx, []any{a, b})
				mu.Lock()
				if err == nil {
					acknowledged[a[0].Value.(string)] = true
					acknowledged[b[0].Value.(string)] = true
				} else if mongo.IsDuplicateKeyError(err) {
					duplicates++
					acknowledged[a[0].Value.(string)] = true // inserted before the duplicate
				} else {
					t.Errorf("insert: %v", err)
				}
				mu.Unlock()
				// Updates and deletes of what the writer wrote take the same path.
				if err == nil && i%3 == 0 {
					if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: a[0].Value}}, bson.D{{Key: "$set", Value: bson.D{{Key: "vid", Value: int32(2)}}}}); err != nil {
						t.Errorf("update: %v", err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	if duplicates != writers*(perWriter/10-1) {
		t.Fatalf("%d commands failed with a duplicate _id, want %d", duplicates, writers*(perWriter/10-1))
	}
	count := func(db *mongo.Database) int {
		cursor, err := db.Collection("Observation").Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cursor.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if !acknowledged[d["_id"].(string)] {
				t.Fatalf("%v is stored but its command failed", d["_id"])
			}
		}
		return len(docs)
	}
	if got := count(db); got != len(acknowledged) {
		t.Fatalf("%d documents stored, %d acknowledged", got, len(acknowledged))
	}
	stop()
	reopened, _ := startFerretDB(t, dir)
	if got := count(reopened); got != len(acknowledged) {
		t.Fatalf("after reopening: %d documents stored, %d acknowledged", got, len(acknowledged))
	}
}

// The refs table holds exactly the references to shared targets (<code>:r:<Type>/<id>, Type
// an Organization, a Practitioner, a PractitionerRole, a HealthcareService, a Location or a
// Group) of the terms table, each with its document's _id, through inserts, updates and deletes.
func TestRefsHoldTheReferenceTerms(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, stop := startFerretDB(t, dir)
	coll := db.Collection("Observation")
	odd := bson.A{"a:r:Group/", ":r:Group/x", "name:s:x:r:Group/y", "x:rr:Group/y", "x:R:Group/y", "code:", "r:Group/x",
		"é:r:Location/é", "a:r:Group", "a:r:/Group/x", "a:r:PractitionerRoles/x", "a:r:Practitioner/x/_history/2", "a:r:Patient/x"}
	for i := 0; i < 60; i++ {
		doc := observation(i)
		terms := doc[3].Value.(bson.D)[0].Value.(bson.A)
		doc[3].Value.(bson.D)[0].Value = append(terms, odd[i%len(odd)])
		if _, err := coll.InsertOne(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 60; i += 7 {
		replacement := observation(i + 3)
		replacement[0].Value = observation(i)[0].Value
		if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: replacement[0].Value}}, replacement); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: observation(5)[0].Value}}); err != nil {
		t.Fatal(err)
	}
	stop()

	sqlite := openSQLite(t, dir+"/casebridge.sqlite")
	defer sqlite.Close()
	var prefix string
	if err := sqlite.QueryRow(`SELECT substr(name, 1, length(name) - length('refs')) FROM sqlite_master WHERE name GLOB 'observation_*__cb*_refs'`).Scan(&prefix); err != nil {
		t.Fatal(err)
	}
	rows := func(q string) []string {
		t.Helper()
		var out []string
		for _, row := range pairs(t, sqlite, q) {
			out = append(out, row[0]+" "+row[1])
		}
		slices.Sort(out)
		return out
	}
	reference := regexp.MustCompile(`^[^:]+:r:(Organization|Practitioner|PractitionerRole|HealthcareService|Location|Group)/`)
	var want []string
	for _, row := range rows(fmt.Sprintf(`SELECT t.term, d.id FROM %q AS t JOIN %q AS d USING (rid)`, prefix+"terms", prefix+"docs")) {
		if reference.MatchString(row) {
			want = append(want, row)
		}
	}
	got := rows(fmt.Sprintf(`SELECT r.term, r.id FROM %q AS r JOIN %q AS d USING (rid) WHERE d.id = r.id`, prefix+"refs", prefix+"docs"))
	if all := rows(fmt.Sprintf(`SELECT term, id FROM %q`, prefix+"refs")); len(all) != len(got) {
		t.Fatalf("%d entries of the refs table do not name their document's _id", len(all)-len(got))
	}
	if !slices.Equal(got, want) || len(want) < 60 {
		t.Fatalf("refs table: %d entries, want %d\n%v\n%v", len(got), len(want), head(got), head(want))
	}
	for _, term := range []string{"a:r:Group/ ", "é:r:Location/é ", "a:r:Practitioner/x/_history/2 "} {
		if !slices.ContainsFunc(got, func(row string) bool { return strings.HasPrefix(row, term) }) {
			t.Fatalf("%q is not among the refs", term)
		}
	}
}
