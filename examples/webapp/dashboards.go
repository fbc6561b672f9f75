package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// QuickSight's reading APIs (ListUsers, SearchDashboards) take the
// application's own IAM credentials: identity-enhanced sessions reach only
// snapshot jobs. So the application finds the person's QuickSight user by
// email and asks which dashboards that user may open, the way it would
// against QuickSight itself. Its role needs quicksight:ListUsers and
// quicksight:SearchDashboards.

// userDirectory maps an email to its QuickSight user ARN, per replica, for
// a few minutes (people are not re-registered between two page views).
type userDirectory struct {
	mu   sync.Mutex
	arns map[string]dirEntry
}

type dirEntry struct {
	arn   string
	until time.Time
}

const directoryTTL = 5 * time.Minute

// userArn finds the QuickSight user with email in namespace.
func (rp *replica) userArn(ctx context.Context, email string) (string, error) {
	key := strings.ToLower(email)
	d := &rp.cfg.directory
	d.mu.Lock()
	if e, ok := d.arns[key]; ok && time.Now().Before(e.until) {
		d.mu.Unlock()
		return e.arn, nil
	}
	d.mu.Unlock()
	var found []string
	p := qs.NewListUsersPaginator(qs.NewFromConfig(rp.cfg.admin), &qs.ListUsersInput{
		AwsAccountId: aws.String(rp.cfg.account), Namespace: aws.String(rp.cfg.qsNamespace)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, u := range out.UserList {
			if strings.EqualFold(aws.ToString(u.Email), email) && u.Active {
				found = append(found, aws.ToString(u.Arn))
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("you have no QuickSight user in namespace %s", rp.cfg.qsNamespace)
	case 1:
	default:
		return "", fmt.Errorf("%d QuickSight users in namespace %s have your email; ask an administrator to keep one", len(found), rp.cfg.qsNamespace)
	}
	d.mu.Lock()
	if d.arns == nil || len(d.arns) > 10000 {
		d.arns = map[string]dirEntry{}
	}
	d.arns[key] = dirEntry{arn: found[0], until: time.Now().Add(directoryTTL)}
	d.mu.Unlock()
	return found[0], nil
}

// dashboardsOf lists the names of the dashboards the person may open:
// the ones whose permissions name them as viewer or owner, directly or
// through a group or their namespace.
func (rp *replica) dashboardsOf(ctx context.Context, email string) ([]string, error) {
	arn, err := rp.userArn(ctx, email)
	if err != nil {
		return nil, err
	}
	var names []string
	p := qs.NewSearchDashboardsPaginator(qs.NewFromConfig(rp.cfg.admin), &qs.SearchDashboardsInput{
		AwsAccountId: aws.String(rp.cfg.account),
		Filters: []types.DashboardSearchFilter{{Name: types.DashboardFilterAttributeQuicksightViewerOrOwner,
			Operator: types.FilterOperatorStringEquals, Value: aws.String(arn)}}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range out.DashboardSummaryList {
			names = append(names, aws.ToString(d.Name))
		}
	}
	return names, nil
}
