package setup

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

func (e *engine) s3cTags() []s3ctypes.Tag {
	return []s3ctypes.Tag{{Key: aws.String(SetupTag), Value: aws.String(tagValue(e.s))}}
}

func (e *engine) planAccessGrants(ctx context.Context) error {
	ag := e.s.AccessGrants
	acct := aws.String(e.account)
	inst, err := e.c.S3C.GetAccessGrantsInstance(ctx, &s3control.GetAccessGrantsInstanceInput{AccountId: acct})
	if err != nil && !notFound(err) {
		return readErr("the S3 Access Grants instance", "s3:GetAccessGrantsInstance", err)
	}
	if ag == nil {
		return nil
	}
	switch {
	case err != nil:
		e.add(Change{Action: Create, Resource: "access-grants-instance", Name: "default", Reason: "no S3 Access Grants instance; it is created associated with Identity Center",
			Permission: "s3:CreateAccessGrantsInstance",
			run: func(ctx context.Context) (string, error) {
				o, err := e.c.S3C.CreateAccessGrantsInstance(ctx, &s3control.CreateAccessGrantsInstanceInput{AccountId: acct,
					IdentityCenterArn: aws.String(e.instance), Tags: e.s3cTags()})
				if err != nil {
					return "", err
				}
				return aws.ToString(o.AccessGrantsInstanceArn), nil
			},
			record: func(a string) *Resource { return &Resource{Type: "access-grants-instance", ID: "default", Arn: a} }})
	case aws.ToString(inst.IdentityCenterInstanceArn) == "" && aws.ToString(inst.IdentityCenterArn) == "":
		e.add(Change{Action: Update, Resource: "access-grants-instance", Name: "default", Reason: "it is not associated with Identity Center",
			Permission: "s3:AssociateAccessGrantsIdentityCenter",
			run: func(ctx context.Context) (string, error) {
				_, err := e.c.S3C.AssociateAccessGrantsIdentityCenter(ctx, &s3control.AssociateAccessGrantsIdentityCenterInput{AccountId: acct,
					IdentityCenterArn: aws.String(e.instance)})
				return aws.ToString(inst.AccessGrantsInstanceArn), err
			}})
	}
	locs := map[string]s3ctypes.ListAccessGrantsLocationsEntry{}
	var grants []s3ctypes.ListAccessGrantEntry
	if err == nil {
		lo, err := e.c.S3C.ListAccessGrantsLocations(ctx, &s3control.ListAccessGrantsLocationsInput{AccountId: acct})
		if err != nil {
			return readErr("the Access Grants locations", "s3:ListAccessGrantsLocations", err)
		}
		for _, l := range lo.AccessGrantsLocationsList {
			locs[aws.ToString(l.LocationScope)] = l
		}
		gr, err := e.c.S3C.ListAccessGrants(ctx, &s3control.ListAccessGrantsInput{AccountId: acct})
		if err != nil {
			return readErr("the access grants", "s3:ListAccessGrants", err)
		}
		grants = gr.AccessGrantsList
	}
	roleArn := e.roleArn(ag.LocationRole)
	for _, l := range ag.Locations {
		if have, ok := locs[l]; ok {
			e.locIDs[l] = aws.ToString(have.AccessGrantsLocationId)
			if aws.ToString(have.IAMRoleArn) != roleArn {
				return &ReadError{What: "location " + l, Err: fmt.Errorf("it exists with role %s, not %s; change access_grants.location_role in the file", aws.ToString(have.IAMRoleArn), roleArn)}
			}
			continue
		}
		e.add(Change{Action: Create, Resource: "access-grants-location", Name: l, Reason: "location in the file", Permission: "s3:CreateAccessGrantsLocation",
			run: func(ctx context.Context) (string, error) {
				o, err := e.c.S3C.CreateAccessGrantsLocation(ctx, &s3control.CreateAccessGrantsLocationInput{AccountId: acct,
					LocationScope: aws.String(l), IAMRoleArn: aws.String(roleArn), Tags: e.s3cTags()})
				if err != nil {
					return "", err
				}
				e.locIDs[l] = aws.ToString(o.AccessGrantsLocationId)
				return aws.ToString(o.AccessGrantsLocationArn), nil
			},
			record: func(a string) *Resource {
				return &Resource{Type: "access-grants-location", ID: e.locIDs[l], Arn: a, Name: l}
			}})
	}
	wanted := map[string]bool{}
	for _, g := range ag.Grants {
		gid := e.groups[g.Group]
		key := grantKey(gid, g.Permission, g.Target)
		wanted[key] = true
		found := false
		for _, have := range grants {
			if have.Grantee != nil && grantKey(aws.ToString(have.Grantee.GranteeIdentifier), string(have.Permission), aws.ToString(have.GrantScope)) == key {
				found = true
			}
		}
		if found {
			continue
		}
		loc := locationOf(ag.Locations, g.Target)
		e.add(Change{Action: Create, Resource: "access-grant", Name: g.Group + " " + g.Permission + " " + g.Target, Reason: "grant in the file",
			Permission: "s3:CreateAccessGrant",
			run: func(ctx context.Context) (string, error) {
				in := &s3control.CreateAccessGrantInput{AccountId: acct, AccessGrantsLocationId: aws.String(e.locIDs[loc]),
					Grantee:    &s3ctypes.Grantee{GranteeType: s3ctypes.GranteeTypeDirectoryGroup, GranteeIdentifier: aws.String(gid)},
					Permission: s3ctypes.Permission(g.Permission), Tags: e.s3cTags()}
				if sp := strings.TrimPrefix(g.Target, strings.TrimSuffix(loc, "*")); sp != "" {
					in.AccessGrantsLocationConfiguration = &s3ctypes.AccessGrantsLocationConfiguration{S3SubPrefix: aws.String(sp)}
				}
				o, err := e.c.S3C.CreateAccessGrant(ctx, in)
				if err != nil {
					return "", err
				}
				return aws.ToString(o.AccessGrantArn) + "#" + aws.ToString(o.AccessGrantId), nil
			},
			record: func(a string) *Resource {
				arn, id, _ := strings.Cut(a, "#")
				return &Resource{Type: "access-grant", ID: id, Arn: arn, Name: g.Group + " " + g.Permission + " " + g.Target}
			}})
	}
	// Grants setup created that the file no longer has.
	for _, have := range grants {
		id := aws.ToString(have.AccessGrantId)
		if e.st.find("access-grant", id) == nil || have.Grantee == nil ||
			wanted[grantKey(aws.ToString(have.Grantee.GranteeIdentifier), string(have.Permission), aws.ToString(have.GrantScope))] {
			continue
		}
		e.add(Change{Action: Delete, Resource: "access-grant", Name: aws.ToString(have.GrantScope), Reason: "setup's grant is no longer in the file",
			Permission: "s3:DeleteAccessGrant",
			run: func(ctx context.Context) (string, error) {
				_, err := e.c.S3C.DeleteAccessGrant(ctx, &s3control.DeleteAccessGrantInput{AccountId: acct, AccessGrantId: aws.String(id)})
				return aws.ToString(have.AccessGrantArn), err
			},
			forget: &Resource{Type: "access-grant", ID: id}})
	}
	return nil
}

func grantKey(grantee, perm, scope string) string { return grantee + "|" + perm + "|" + scope }
