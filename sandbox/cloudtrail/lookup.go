package cloudtrail

import (
	"encoding/base64"

	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
)

// TargetPrefix is CloudTrail's X-Amz-Target prefix (botocore cloudtrail
// 2013-11-01); aws-sdk-go-v2 sends the short form ShortTargetPrefix.
const (
	TargetPrefix      = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
	ShortTargetPrefix = "CloudTrail_20131101."
)

// LookupKeys are the model's LookupAttributeKey values.
var LookupKeys = []string{"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"}

// Service serves CloudTrail LookupEvents over a Recorder.
type Service struct {
	rec *Recorder
	api *json11.API
}

// NewService returns the CloudTrail handler (signing name cloudtrail).
func NewService(rec *Recorder, rt json11.Runtime, stats json11.Counter) *Service {
	s := &Service{rec: rec}
	s.api = &json11.API{Name: "cloudtrail", TargetPrefix: TargetPrefix, ShortTargetPrefix: ShortTargetPrefix, Service: "cloudtrail", Runtime: rt, Stats: stats,
		Operations: map[string]json11.Operation{"LookupEvents": s.lookupEvents}}
	return s
}

// ServeHTTP dispatches on X-Amz-Target.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

type lookupAttribute struct {
	AttributeKey   *string
	AttributeValue *string
}

type lookupRequest struct {
	LookupAttributes []lookupAttribute
	StartTime        *float64
	EndTime          *float64
	EventCategory    *string
	MaxResults       *int
	NextToken        *string
}

type resource struct {
	ResourceType string
	ResourceName string
}

type lookupEvent struct {
	EventId         string
	EventName       string
	ReadOnly        string
	AccessKeyId     string `json:",omitempty"`
	EventTime       float64
	EventSource     string
	Username        string `json:",omitempty"`
	Resources       []resource
	CloudTrailEvent string
}

type lookupResponse struct {
	Events    []lookupEvent
	NextToken *string `json:",omitempty"`
}

func invalid(code, format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, code, format, a...)
}

func epoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// Username is what LookupEvents reports and filters on: the IAM user name,
// the role session name, or the web identity's subject.
func Username(u *UserIdentity) string {
	if u == nil {
		return ""
	}
	if u.UserName != "" {
		return u.UserName
	}
	if u.Type == "AssumedRole" {
		if i := strings.LastIndex(u.ARN, "/"); i >= 0 {
			return u.ARN[i+1:]
		}
	}
	return ""
}

func (s *Service) lookupEvents(c *json11.Call) (any, *awsproto.Error) {
	var req lookupRequest
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := c.Authorize("*"); e != nil {
		return nil, e
	}
	if len(req.LookupAttributes) > 1 {
		return nil, invalid("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
	}
	var key, value string
	if len(req.LookupAttributes) == 1 {
		a := req.LookupAttributes[0]
		if a.AttributeKey == nil || a.AttributeValue == nil {
			return nil, invalid("InvalidLookupAttributesException", "Each lookup attribute needs AttributeKey and AttributeValue.")
		}
		key, value = *a.AttributeKey, *a.AttributeValue
		ok := false
		for _, k := range LookupKeys {
			ok = ok || k == key
		}
		if !ok {
			return nil, invalid("InvalidLookupAttributesException", "AttributeKey must be one of %s.", strings.Join(LookupKeys, ", "))
		}
		if len(value) > 2000 || value == "" {
			return nil, invalid("InvalidLookupAttributesException", "AttributeValue must be 1 to 2000 characters long.")
		}
	}
	if req.EventCategory != nil && *req.EventCategory != "insight" {
		return nil, invalid("InvalidEventCategoryException", "EventCategory must be insight.")
	}
	if req.EventCategory != nil {
		// The sandbox generates no Insights events.
		return lookupResponse{Events: []lookupEvent{}}, nil
	}
	max := 50
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > 50 {
			return nil, invalid("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
		}
		max = *req.MaxResults
	}
	var start, end time.Time
	if req.StartTime != nil {
		start = epoch(*req.StartTime)
	}
	if req.EndTime != nil {
		end = epoch(*req.EndTime)
	}
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return nil, invalid("InvalidTimeRangeException", "Start time must be before end time.")
	}
	params := key + "\x00" + value
	var before uint64 = math.MaxUint64
	if req.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*req.NextToken)
		seq, rest, ok := strings.Cut(string(b), ":")
		n, perr := strconv.ParseUint(seq, 10, 64)
		if err != nil || !ok || perr != nil || rest != params {
			return nil, invalid("InvalidNextTokenException", "The NextToken is invalid; repeat the call with the same parameters and the token it returned.")
		}
		before = n
	}
	out := lookupResponse{Events: []lookupEvent{}}
	for _, ev := range s.rec.Events() {
		if ev.seq >= before {
			continue
		}
		if (!start.IsZero() && ev.Time.Before(start)) || (!end.IsZero() && ev.Time.After(end)) || !matches(ev, key, value) {
			continue
		}
		if len(out.Events) == max {
			t := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(ev.seq+1, 10) + ":" + params))
			out.NextToken = &t
			break
		}
		out.Events = append(out.Events, summary(ev))
	}
	return out, nil
}

func summary(ev *Event) lookupEvent {
	r := &ev.Summary
	le := lookupEvent{EventId: r.EventID, EventName: r.EventName, ReadOnly: strconv.FormatBool(r.ReadOnly),
		EventTime: float64(ev.Time.Unix()), EventSource: r.EventSource, Username: r.Username,
		Resources: []resource{}, CloudTrailEvent: string(ev.JSON()), AccessKeyId: r.AccessKeyID}
	for _, x := range r.Resources {
		le.Resources = append(le.Resources, resource{ResourceType: x.Type, ResourceName: x.ARN})
	}
	return le
}

func matches(ev *Event, key, value string) bool {
	r := &ev.Summary
	switch key {
	case "":
		return true
	case "EventId":
		return r.EventID == value
	case "EventName":
		return r.EventName == value
	case "ReadOnly":
		return strconv.FormatBool(r.ReadOnly) == value
	case "Username":
		return r.Username == value
	case "EventSource":
		return r.EventSource == value
	case "AccessKeyId":
		return r.AccessKeyID != "" && r.AccessKeyID == value
	case "ResourceType", "ResourceName":
		for _, x := range r.Resources {
			if (key == "ResourceType" && x.Type == value) || (key == "ResourceName" && x.ARN == value) {
				return true
			}
		}
	}
	return false
}
