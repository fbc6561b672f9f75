package awsconf

import (
	"context"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/service/s3control"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// S3ControlEndpoint resolves every S3 Control call to one fixed URL. The
// SDK's rules otherwise put the account id in front of the host
// ({AccountId}.HOST), which cannot be dialled for 127.0.0.1.
type S3ControlEndpoint struct{ URL url.URL }

// ResolveEndpoint implements s3control.EndpointResolverV2.
func (e S3ControlEndpoint) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: e.URL}, nil
}

// S3ControlOptions returns the client option that pins S3 Control to
// endpoint, or nil when endpoint is empty (real AWS).
func S3ControlOptions(endpoint string) func(*s3control.Options) {
	return func(o *s3control.Options) {
		if endpoint == "" {
			return
		}
		if u, err := url.Parse(endpoint); err == nil {
			o.EndpointResolverV2 = S3ControlEndpoint{URL: *u}
		}
	}
}
