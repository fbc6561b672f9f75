package quicksight

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qstypes "github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// Config is a snapshot job's configuration in the StartDashboardSnapshotJob
// wire shape (the SnapshotConfiguration of --cli-input-json).
type Config struct {
	FileGroups               []FileGroup  `json:"FileGroups"`
	DestinationConfiguration *Destination `json:"DestinationConfiguration,omitempty"`
	Parameters               *Parameters  `json:"Parameters,omitempty"`
}

// FileGroup holds one file configuration.
type FileGroup struct {
	Files []File `json:"Files"`
}

// File is one requested format and its sheet selections.
type File struct {
	FormatType      string           `json:"FormatType"`
	SheetSelections []SheetSelection `json:"SheetSelections"`
}

// SheetSelection selects a sheet (PDF: ALL_VISUALS) or visuals of a sheet
// (CSV, Excel: SELECTED_VISUALS with VisualIds).
type SheetSelection struct {
	SheetId        string   `json:"SheetId"`
	SelectionScope string   `json:"SelectionScope"`
	VisualIds      []string `json:"VisualIds,omitempty"`
}

// Destination is where QuickSight writes the files; without one, the
// job's result holds short-lived download URLs.
type Destination struct {
	S3Destinations []S3Destination `json:"S3Destinations"`
}

// S3Destination is a bucket destination.
type S3Destination struct {
	BucketConfiguration *BucketConfiguration `json:"BucketConfiguration,omitempty"`
}

// BucketConfiguration names the bucket, prefix and region.
type BucketConfiguration struct {
	BucketName   string `json:"BucketName"`
	BucketPrefix string `json:"BucketPrefix"`
	BucketRegion string `json:"BucketRegion"`
}

// Parameters are dashboard parameter values.
type Parameters struct {
	StringParameters   []StringParameter   `json:"StringParameters,omitempty"`
	IntegerParameters  []IntegerParameter  `json:"IntegerParameters,omitempty"`
	DecimalParameters  []DecimalParameter  `json:"DecimalParameters,omitempty"`
	DateTimeParameters []DateTimeParameter `json:"DateTimeParameters,omitempty"`
}

// StringParameter is a string parameter's values.
type StringParameter struct {
	Name   string   `json:"Name"`
	Values []string `json:"Values"`
}

// IntegerParameter is an integer parameter's values.
type IntegerParameter struct {
	Name   string  `json:"Name"`
	Values []int64 `json:"Values"`
}

// DecimalParameter is a decimal parameter's values.
type DecimalParameter struct {
	Name   string    `json:"Name"`
	Values []float64 `json:"Values"`
}

// DateTimeParameter is a date-time parameter's values.
type DateTimeParameter struct {
	Name   string      `json:"Name"`
	Values []time.Time `json:"Values"`
}

// Empty reports whether p sets no parameter.
func (p *Parameters) Empty() bool {
	return p == nil || len(p.StringParameters)+len(p.IntegerParameters)+len(p.DecimalParameters)+len(p.DateTimeParameters) == 0
}

// Counts returns how many PDF, CSV and Excel files c produces.
func (c *Config) Counts() (pdf, csv, excel int) {
	for _, g := range c.FileGroups {
		for _, f := range g.Files {
			switch f.FormatType {
			case "PDF":
				pdf++
			case "CSV":
				csv += len(f.SheetSelections)
			case "EXCEL":
				excel++
			}
		}
	}
	return
}

// SDK returns c as aws-sdk-go-v2 input.
func (c *Config) SDK() *qstypes.SnapshotConfiguration {
	out := &qstypes.SnapshotConfiguration{}
	for _, g := range c.FileGroups {
		var sg qstypes.SnapshotFileGroup
		for _, f := range g.Files {
			sf := qstypes.SnapshotFile{FormatType: qstypes.SnapshotFileFormatType(f.FormatType)}
			for _, s := range f.SheetSelections {
				sf.SheetSelections = append(sf.SheetSelections, qstypes.SnapshotFileSheetSelection{SheetId: aws.String(s.SheetId),
					SelectionScope: qstypes.SnapshotFileSheetSelectionScope(s.SelectionScope), VisualIds: s.VisualIds})
			}
			sg.Files = append(sg.Files, sf)
		}
		out.FileGroups = append(out.FileGroups, sg)
	}
	if d := c.DestinationConfiguration; d != nil {
		out.DestinationConfiguration = &qstypes.SnapshotDestinationConfiguration{}
		for _, s := range d.S3Destinations {
			sd := qstypes.SnapshotS3DestinationConfiguration{}
			if b := s.BucketConfiguration; b != nil {
				sd.BucketConfiguration = &qstypes.S3BucketConfiguration{BucketName: aws.String(b.BucketName),
					BucketPrefix: aws.String(b.BucketPrefix), BucketRegion: aws.String(b.BucketRegion)}
			}
			out.DestinationConfiguration.S3Destinations = append(out.DestinationConfiguration.S3Destinations, sd)
		}
	}
	if p := c.Parameters; !p.Empty() {
		sp := &qstypes.Parameters{}
		for _, x := range p.StringParameters {
			sp.StringParameters = append(sp.StringParameters, qstypes.StringParameter{Name: aws.String(x.Name), Values: x.Values})
		}
		for _, x := range p.IntegerParameters {
			sp.IntegerParameters = append(sp.IntegerParameters, qstypes.IntegerParameter{Name: aws.String(x.Name), Values: x.Values})
		}
		for _, x := range p.DecimalParameters {
			sp.DecimalParameters = append(sp.DecimalParameters, qstypes.DecimalParameter{Name: aws.String(x.Name), Values: x.Values})
		}
		for _, x := range p.DateTimeParameters {
			sp.DateTimeParameters = append(sp.DateTimeParameters, qstypes.DateTimeParameter{Name: aws.String(x.Name), Values: x.Values})
		}
		out.Parameters = sp
	}
	return out
}

// configFromSDK converts a job's configuration as DescribeDashboardSnapshotJob returns it.
func configFromSDK(c *qstypes.SnapshotConfiguration) *Config {
	out := &Config{}
	if c == nil {
		return out
	}
	for _, g := range c.FileGroups {
		var fg FileGroup
		for _, f := range g.Files {
			fg.Files = append(fg.Files, fileFromSDK(f))
		}
		out.FileGroups = append(out.FileGroups, fg)
	}
	return out
}

func fileFromSDK(f qstypes.SnapshotFile) File {
	file := File{FormatType: string(f.FormatType)}
	for _, s := range f.SheetSelections {
		file.SheetSelections = append(file.SheetSelections, SheetSelection{SheetId: aws.ToString(s.SheetId),
			SelectionScope: string(s.SelectionScope), VisualIds: s.VisualIds})
	}
	return file
}
