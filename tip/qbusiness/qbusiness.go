// Package qbusiness chats with an Amazon Q Business application as the
// person behind an identity-enhanced session (ChatSync in RETRIEVAL_MODE),
// with aws-sdk-go-v2's client exactly as against AWS; only the endpoint
// may change.
package qbusiness

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	qb "github.com/aws/aws-sdk-go-v2/service/qbusiness"
	qbtypes "github.com/aws/aws-sdk-go-v2/service/qbusiness/types"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/session"
)

// Client is a Q Business client whose credentials are the profile's
// identity-enhanced session, renewed as it nears its end.
func Client(mgr *session.Manager) (*qb.Client, error) {
	p := mgr.Profile
	cfg, err := awsconf.New(awsconf.Options{Region: p.Region, Endpoint: p.EndpointURL, HTTPClient: mgr.HTTP, Getenv: mgr.Getenv,
		Credentials: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			c, err := mgr.Credentials(ctx, false)
			if err != nil {
				return aws.Credentials{}, err
			}
			return c.AWS(), nil
		})})
	if err != nil {
		return nil, err
	}
	if e := awsconf.ServiceEndpoint(p.EndpointURL, "QBUSINESS", mgr.Getenv); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	return qb.NewFromConfig(cfg), nil
}

// Source is a document an answer cites.
type Source struct {
	Citation   int    `json:"citation"`
	DocumentID string `json:"document_id"`
	Title      string `json:"title"`
	URL        string `json:"url,omitempty"`
}

// Answer is Q Business's reply to one question.
type Answer struct {
	ConversationID string   `json:"conversation_id"`
	Text           string   `json:"answer"`
	Sources        []Source `json:"sources"`
}

// DeniedError is a refusal: no identity-aware credentials, or IAM.
type DeniedError struct{ Message string }

func (e *DeniedError) Error() string { return "Q Business refused the request: " + e.Message }

// NotFoundError is an application or conversation that does not exist for
// the person.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return "not found: " + e.Message }

// Chat asks question in RETRIEVAL_MODE, continuing conversationID when set.
func Chat(ctx context.Context, c *qb.Client, applicationID, conversationID, question string) (*Answer, error) {
	in := &qb.ChatSyncInput{ApplicationId: aws.String(applicationID), UserMessage: aws.String(question),
		ChatMode: qbtypes.ChatModeRetrievalMode}
	if conversationID != "" {
		in.ConversationId = aws.String(conversationID)
	}
	out, err := c.ChatSync(ctx, in)
	if err != nil {
		var ad *qbtypes.AccessDeniedException
		var nf *qbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &ad):
			return nil, &DeniedError{Message: aws.ToString(ad.Message)}
		case errors.As(err, &nf):
			return nil, &NotFoundError{Message: aws.ToString(nf.Message)}
		}
		return nil, err
	}
	a := &Answer{ConversationID: aws.ToString(out.ConversationId), Text: aws.ToString(out.SystemMessage), Sources: []Source{}}
	for _, s := range out.SourceAttributions {
		a.Sources = append(a.Sources, Source{Citation: int(aws.ToInt32(s.CitationNumber)), DocumentID: aws.ToString(s.DocumentId),
			Title: aws.ToString(s.Title), URL: aws.ToString(s.Url)})
	}
	return a, nil
}
