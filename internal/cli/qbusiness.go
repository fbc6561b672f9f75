package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/qbusiness"
)

func init() { register(newQBusinessCmd) }

func newQBusinessCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "qbusiness",
		Short: "Ask an Amazon Q Business application as the person logged in",
	}
	var appID, convID string
	chat := &cobra.Command{
		Use:   "chat --application-id ID [--conversation-id ID] QUESTION",
		Short: "Ask a question (ChatSync, RETRIEVAL_MODE) and print the answer with its sources",
		Long: `Asks the question with the identity-enhanced session, so Q Business answers
only from the documents the person's Identity Center user and groups may
see, and prints the answer, its sources and the conversation id. Continue
the conversation with --conversation-id. --output json prints the answer,
its sources and the conversation id as JSON.

Exit codes: 9 (denied) when Q Business refuses the person, the "aws" code
for other service errors; see ` + "`tipctl help exit-codes`" + `.`,
		Example: `  tipctl qbusiness chat --application-id a1b2c3d4-5678-90ab-cdef-EXAMPLE11111 "What is the discount policy?"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return Errorf(ExitUsage, `quote the question: tipctl qbusiness chat --application-id ID "What …?"`, "chat takes one question, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if appID == "" {
				return Errorf(ExitUsage, "e.g. `tipctl qbusiness chat --application-id a1b2c3d4-5678-90ab-cdef-EXAMPLE11111 \"…\"`", "--application-id is required")
			}
			if strings.TrimSpace(args[0]) == "" {
				return Errorf(ExitUsage, "ask a question", "the question is empty")
			}
			p, m, err := app.session()
			if err != nil {
				return err
			}
			c, err := qbusiness.Client(m)
			if err != nil {
				return failure(err, p.Name)
			}
			a, err := qbusiness.Chat(cmd.Context(), c, appID, convID, args[0])
			if err != nil {
				return chatFailure(cmd.Context(), err, p.Name)
			}
			if app.Output == "json" {
				return app.printJSON(a)
			}
			for _, line := range strings.Split(a.Text, "\n") {
				fmt.Fprintln(app.Stdout, safeText(line))
			}
			if len(a.Sources) > 0 {
				fmt.Fprintln(app.Stdout, "\nSources:")
				for _, s := range a.Sources {
					fmt.Fprintf(app.Stdout, "  [%d] %s (%s)\n", s.Citation, safeText(s.Title), safeText(s.DocumentID))
				}
			}
			fmt.Fprintf(app.Stdout, "\nConversation: %s\n", safeText(a.ConversationID))
			return nil
		},
	}
	f := chat.Flags()
	f.StringVar(&appID, "application-id", "", "Q Business application id")
	f.StringVar(&convID, "conversation-id", "", "continue this conversation")
	cmd.AddCommand(chat)
	return cmd
}

func chatFailure(ctx context.Context, err error, profile string) error {
	var de *qbusiness.DeniedError
	var nf *qbusiness.NotFoundError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return &Error{Code: ExitInterrupted, Msg: "interrupted", Err: err}
	case errors.As(err, &de):
		return &Error{Code: ExitDenied, Msg: safeText(de.Error()), Fix: "log in with an identity-enhanced profile (`tipctl auth login`) whose role allows qbusiness:ChatSync", Err: err}
	case errors.As(err, &nf):
		return &Error{Code: ExitAWS, Msg: safeText(nf.Error()), Fix: "check --application-id and --conversation-id (a conversation is only its owner's)", Err: err}
	}
	return failure(err, profile)
}
