package quicksight_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/quicksight"
)

// seedJSON is the StartDashboardSnapshotJob input of the article users copy
// (with its placeholders filled in, and its region fixed to the sandbox's).
const seedJSON = `{
  "AwsAccountId": "123456789012",
  "DashboardId": "sales-overview",
  "SnapshotJobId": "Snapshot1",
  "UserConfiguration":{
        "AnonymousUsers":[{}]
    },
  "SnapshotConfiguration":{
        "FileGroups":[
                {
                    "Files":[
                        {
                            "SheetSelections":[
                                    {
                                        "SheetId":"overview",
                                        "SelectionScope":"ALL_VISUALS"
                                    }
                            ],
                            "FormatType":"PDF"
                        }
                    ]
                }
            ],
        "DestinationConfiguration":{
            "S3Destinations":[
                                {
                                "BucketConfiguration": { "BucketName" : "quicksight-snapshots" , "BucketPrefix" : "prefix123" , "BucketRegion" : "us-east-1" }
                                }
                              ]
        },
        "Parameters": {
        }
    }
}`

func TestParseCLIInputJSON(t *testing.T) {
	in, err := quicksight.ParseCLIInputJSON([]byte("\xef\xbb\xbf" + seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := in.SnapshotConfiguration
	if in.AwsAccountId != account || in.DashboardId != "sales-overview" || in.SnapshotJobId != "Snapshot1" ||
		in.UserConfiguration == nil || len(in.UserConfiguration.AnonymousUsers) != 1 || len(c.FileGroups) != 1 ||
		c.FileGroups[0].Files[0].SheetSelections[0].SheetId != "overview" || c.DestinationConfiguration.S3Destinations[0].BucketConfiguration.BucketPrefix != "prefix123" ||
		c.Parameters != nil {
		t.Fatalf("%+v", in)
	}
	params, err := quicksight.ParseCLIInputJSON([]byte(`{"DashboardId":"d","SnapshotConfiguration":{"FileGroups":[],"Parameters":{
		"StringParameters":[{"Name":"Region","Values":["EMEA"]}],"IntegerParameters":[{"Name":"n","Values":[3, 4.0]}],
		"DecimalParameters":[{"Name":"x","Values":[1.5]}],"DateTimeParameters":[{"Name":"when","Values":[1767225600, "2026-01-02", "2026-01-03T10:00:00Z"]}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	p := params.SnapshotConfiguration.Parameters
	if p.IntegerParameters[0].Values[1] != 4 || p.DecimalParameters[0].Values[0] != 1.5 ||
		!p.DateTimeParameters[0].Values[0].Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!p.DateTimeParameters[0].Values[2].Equal(time.Date(2026, 1, 3, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("%+v", p)
	}

	bad := map[string]string{
		``:                         "empty",
		`[]`:                       "want a JSON object, not a list",
		`{"DashboardId": "d"} {}`:  "more data after the top-level object",
		`{"DashboardId": "d",}`:    "not valid JSON",
		`{"DashboardID": "d"}`:     `unknown member of the top level; did you mean "DashboardId"?`,
		`{"DashboardId": 7}`:       "DashboardId: want a string, not a number",
		`{"AwsAccountId": "1234"}`: "not a 12-digit account id",
		`{"DashboardId": "<<extracted dashboard id>>"}`: "still a template placeholder",
		`{"SnapshotJobId": "a b"}`:                      "may hold only letters",
		`{"SnapshotConfiguration": {"FileGroup": []}}`:  `did you mean "FileGroups"?`,
		`{"SnapshotConfiguration": {"FileGroups": [{"Files": [{"FormatType": "PDF", "SheetSelections": [{"SheetId": "<<extracted sheet id>>"}]}]}]}}`: "SnapshotConfiguration.FileGroups[0].Files[0].SheetSelections[0].SheetId",
		`{"SnapshotConfiguration": {"Parameters": {"IntegerParameters": [{"Name": "n", "Values": [1.5]}]}}}`:                                          "not a whole number",
		`{"SnapshotConfiguration": {"Parameters": {"DecimalParameters": [{"Name": "n", "Values": [1e999]}]}}}`:                                        "out of range",
		`{"SnapshotConfiguration": {"Parameters": {"DateTimeParameters": [{"Name": "n", "Values": [1e15]}]}}}`:                                        "between the years 1 and 9999",
		`{"SnapshotConfiguration": {"Parameters": {"StringParameters": [{"Values": ["x"]}]}}}`:                                                        "needs a name",
		`{"a\nb": 1}`:     `["a\nb"]`,
		"\xff\xfe{}":      "not UTF-8",
		`{"DashboardId":`: "ends too early",
	}
	for doc, want := range bad {
		_, err := quicksight.ParseCLIInputJSON([]byte(doc))
		e := wantKind(t, err, quicksight.KindInput, want)
		if !strings.HasPrefix(e.Msg, "--cli-input-json: ") {
			t.Errorf("%q: %q", doc, e.Msg)
		}
	}
	if _, err := quicksight.ParseCLIInputJSON(bytes.Repeat([]byte(" "), quicksight.MaxCLIInputJSON+1)); err == nil {
		t.Error("an oversized document was accepted")
	}
}

// TestSnapshotFromCLIInputJSON: the article's JSON runs as is with
// identity-enhanced credentials: the anonymous UserConfiguration, which
// such credentials must not send, is left out with a note.
func TestSnapshotFromCLIInputJSON(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	in, err := quicksight.ParseCLIInputJSON([]byte(seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: aliceSession(t, sb, admin), Admin: &admin,
		AccountID: account, Input: in, OutDir: t.TempDir(), Notes: &notes, PollMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("%v (notes %s)", err, notes.String())
	}
	if !strings.Contains(notes.String(), "UserConfiguration of --cli-input-json left out") || res.Jobs[0].JobID != "Snapshot1" ||
		!strings.HasPrefix(res.Jobs[0].Files[0].Source, "s3://quicksight-snapshots/prefix123/") {
		t.Fatalf("%+v\n%s", res, notes.String())
	}
	checkAliceFiles(t, sb.Env.World, res.Files)

	// The same document checked locally: a sheet that does not exist, and
	// flags that select files as well.
	in.SnapshotConfiguration.FileGroups[0].Files[0].SheetSelections[0].SheetId = "overveiw"
	_, err = quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: aliceSession(t, sb, admin), Admin: &admin,
		AccountID: account, Input: in, OutDir: t.TempDir()})
	wantKind(t, err, quicksight.KindNotFound, "SnapshotConfiguration.FileGroups[0].Files[0].SheetSelections[0].SheetId", `did you mean "overview"`)
	_, err = quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: aliceSession(t, sb, admin), Admin: &admin,
		AccountID: "111122223333", Input: in, OutDir: t.TempDir()})
	wantKind(t, err, quicksight.KindInput, "names account 123456789012")
}

// salesModel is the default world's dashboard as DescribeDashboard
// reads it (checked against the sandbox in TestDescribeDashboard).
func salesModel() *quicksight.Dashboard {
	return &quicksight.Dashboard{ID: "sales-overview", Name: "Sales Overview", Sheets: []quicksight.Sheet{
		{ID: "overview", Name: "Overview", Visuals: []quicksight.Visual{{ID: "total-revenue", Type: "KPI", Title: "Total revenue"},
			{ID: "total-units", Type: "KPI", Title: "Units sold"}, {ID: "revenue-by-product", Type: "BAR_CHART", Title: "Revenue by product"}}},
		{ID: "by-region", Name: "By region", Visuals: []quicksight.Visual{
			{ID: "country-table", Type: "TABLE", Title: "Revenue by country", Exportable: true},
			{ID: "product-pivot", Type: "PIVOT_TABLE", Title: "Revenue by country and product", Exportable: true},
			{ID: "sales-detail", Type: "TABLE", Title: "Sales detail", Exportable: true}}},
	}, Parameters: []quicksight.Parameter{{Name: "Region", Type: "STRING"}, {Name: "Product", Type: "STRING"}}}
}

// FuzzCLIInputJSON: any document is parsed or refused with one line of
// KindInput, never a panic; what is accepted survives a round trip through
// its own JSON, and the local checks never panic on it.
func FuzzCLIInputJSON(f *testing.F) {
	f.Add([]byte(seedJSON))
	f.Add([]byte(`{"SnapshotConfiguration":{"FileGroups":[{"Files":[{"FormatType":"csv","SheetSelections":[{"SheetId":"by-region","VisualIds":["sales-detail"]}]}]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := quicksight.ParseCLIInputJSON(data)
		if err != nil {
			var qe *quicksight.Error
			if !errors.As(err, &qe) || qe.Kind != quicksight.KindInput || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("refusal %q (%T) is not one line of KindInput", err, err)
			}
			return
		}
		b, err := in.JSON()
		if err != nil {
			t.Fatalf("cannot write back %+v: %v", in, err)
		}
		again, err := quicksight.ParseCLIInputJSON(b)
		if err != nil {
			t.Fatalf("own output refused: %v\n%s", err, b)
		}
		b2, _ := again.JSON()
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed the input:\n%s\n%s", b, b2)
		}
		if c := in.SnapshotConfiguration; c != nil {
			_, _ = quicksight.Check(salesModel(), c)
			_ = c.SDK()
		}
	})
}

func TestFuzzCorpusPresent(t *testing.T) {
	entries, err := os.ReadDir("testdata/fuzz/FuzzCLIInputJSON")
	if err != nil || len(entries) < 5 {
		t.Fatalf("the seed corpus of FuzzCLIInputJSON is missing: %v", err)
	}
}
