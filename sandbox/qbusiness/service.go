// Package qbusiness is the sandbox's Amazon Q Business: applications whose
// index holds the world's documents, and ChatSync in RETRIEVAL_MODE as a
// retrieval emulator. It never invents text: an answer is the text of the
// best passages the person may see, ranked with BM25 after their ACLs have
// removed every other document, and its source attributions name only
// those documents. Conversations belong to the Identity Center user whose
// identity-enhanced session made them.
package qbusiness

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/qbusiness/bm25"
	"github.com/tipctl/tipctl/sandbox/world"
)

// NoAnswer is the reply when no document the person may see matches the
// question. The Amazon Q Business User Guide ("Using global controls",
// Response settings) gives it for an application that answers from
// enterprise data only and finds nothing; the API reference (ChatSync
// chatMode) calls it the "No Answer Found" message. The guide typesets the
// apostrophe as U+2019, as it does every apostrophe; the sandbox sends an
// ASCII one.
const NoAnswer = "Sorry, I couldn't find enough information to answer."

// Limits on what the sandbox keeps and answers.
const (
	maxConversations = 2000 // across all people; the oldest is dropped
	maxMessages      = 200  // per conversation (user and system messages)
	maxPassages      = 3    // passages quoted in one answer
	// relevance keeps passages scoring at least this share of the best.
	relevance = 0.5
)

// Application is a Q Business application and its index.
type Application struct {
	ID, Name, Arn string
	Created       time.Time
	Documents     []world.QBusinessDocument
}

// Person is who asks: an Identity Center user and their groups.
type Person struct {
	// Key identifies the person across sessions (identity store and user id).
	Key    string
	User   string
	Groups []string
}

// PersonOf returns the person of an identity-enhanced session, or false
// for any other caller.
func PersonOf(p *auth.Principal) (Person, bool) {
	c := p.Context
	if c == nil || c.Provider != auth.IdentityCenterProvider || c.UserID == "" {
		return Person{}, false
	}
	return Person{Key: c.IdentityStoreID + "/" + c.UserID, User: c.UserName, Groups: c.GroupNames()}, true
}

// Allows reports whether the document's ACL lets the person see it.
func (pr Person) Allows(d world.QBusinessDocument) bool { return pr.Why(d) != "" }

// Source is a document an answer quotes.
type Source struct {
	DocumentID, Title, Snippet string
	Citation                   int
	// Begin and End locate the quoted text in the answer.
	Begin, End int
}

// Message is one message of a conversation.
type Message struct {
	ID, Body, Type string // Type is USER or SYSTEM
	Time           time.Time
	Sources        []Source
}

// Conversation is one person's conversation with an application.
type Conversation struct {
	ID, App, Owner, Title string
	Start                 time.Time
	Messages              []Message
}

// Service holds the applications and the conversations.
type Service struct {
	env   *env.Env
	apps  []*Application
	byID  map[string]*Application
	mu    sync.Mutex
	convs map[string]*Conversation
	order []string
}

// NewService builds the world's applications.
func NewService(e *env.Env) *Service {
	w := e.World
	s := &Service{env: e, byID: map[string]*Application{}, convs: map[string]*Conversation{}}
	for _, a := range w.QBusiness.Applications {
		app := &Application{ID: a.ID, Name: a.Name, Documents: a.Documents, Created: e.Now(),
			Arn: fmt.Sprintf("arn:aws:qbusiness:%s:%s:application/%s", w.Region, w.AccountID, a.ID)}
		s.apps = append(s.apps, app)
		s.byID[a.ID] = app
	}
	return s
}

// Applications lists the applications in world order.
func (s *Service) Applications() []*Application { return s.apps }

// Application finds an application by id.
func (s *Service) Application(id string) (*Application, bool) {
	a, ok := s.byID[id]
	return a, ok
}

// Answer ranks the passages the person may see and answers with the best
// ones. The index is built from the permitted documents only, so a
// forbidden document influences neither the ranking nor the statistics.
func (a *Application) Answer(pr Person, question string) (string, []Source) {
	var docs []world.QBusinessDocument
	var texts []string
	for _, d := range a.Documents {
		if pr.Allows(d) {
			docs = append(docs, d)
			texts = append(texts, d.Title+"\n"+d.Text) // the title is indexed too
		}
	}
	hits := bm25.New(texts).Rank(question)
	if len(hits) == 0 {
		return NoAnswer, nil
	}
	var b strings.Builder
	var srcs []Source
	for i, h := range hits {
		if i == maxPassages || h.Score < relevance*hits[0].Score {
			break
		}
		d := docs[h.Passage]
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		begin := b.Len()
		b.WriteString(d.Text)
		srcs = append(srcs, Source{DocumentID: d.ID, Title: d.Title, Snippet: d.Text, Citation: len(srcs) + 1,
			Begin: begin, End: b.Len()})
	}
	return b.String(), srcs
}

// ErrNotFound is returned for a conversation that does not exist or is
// not the person's own (the two are indistinguishable to the caller).
var ErrNotFound = fmt.Errorf("conversation not found")

// ErrFull is returned when a conversation holds maxMessages messages.
var ErrFull = fmt.Errorf("conversation full")

// Chat adds the question and the answer to the person's conversation,
// starting one when convID is empty.
func (s *Service) Chat(a *Application, pr Person, convID, question string) (*Conversation, Message, Message, error) {
	answer, srcs := a.Answer(pr, question)
	now := s.env.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *Conversation
	if convID == "" {
		title := question
		if r := []rune(title); len(r) > 80 {
			title = string(r[:80])
		}
		c = &Conversation{ID: uuid.NewString(), App: a.ID, Owner: pr.Key, Title: title, Start: now}
		s.convs[c.ID] = c
		s.order = append(s.order, c.ID)
		if len(s.order) > maxConversations {
			delete(s.convs, s.order[0])
			s.order = s.order[1:]
		}
	} else {
		c = s.convs[convID]
		if c == nil || c.Owner != pr.Key || c.App != a.ID {
			return nil, Message{}, Message{}, ErrNotFound
		}
		if len(c.Messages)+2 > maxMessages {
			return nil, Message{}, Message{}, ErrFull
		}
	}
	user := Message{ID: uuid.NewString(), Body: question, Type: "USER", Time: now}
	sys := Message{ID: uuid.NewString(), Body: answer, Type: "SYSTEM", Time: now, Sources: srcs}
	c.Messages = append(c.Messages, user, sys)
	return c, user, sys, nil
}

// Conversations lists the person's conversations with an application,
// newest first.
func (s *Service) Conversations(a *Application, pr Person) []Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Conversation
	for _, id := range s.order {
		if c := s.convs[id]; c.Owner == pr.Key && c.App == a.ID {
			out = append(out, Conversation{ID: c.ID, App: c.App, Title: c.Title, Start: c.Start})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out
}

// Messages returns the messages of the person's conversation, newest first
// as Q Business lists them.
func (s *Service) Messages(a *Application, pr Person, convID string) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[convID]
	if c == nil || c.Owner != pr.Key || c.App != a.ID {
		return nil, ErrNotFound
	}
	out := make([]Message, len(c.Messages))
	for i, m := range c.Messages {
		out[len(out)-1-i] = m
	}
	return out, nil
}

// Delete removes the person's conversation.
func (s *Service) Delete(a *Application, pr Person, convID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[convID]
	if c == nil || c.Owner != pr.Key || c.App != a.ID {
		return ErrNotFound
	}
	delete(s.convs, convID)
	for i, id := range s.order {
		if id == convID {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return nil
}
