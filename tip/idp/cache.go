package idp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/tipctl/tipctl/tip/config"
)

// Cache keeps an IdP's discovery document and signing keys between
// processes, so that a token refresh costs one round trip to the IdP (the
// token endpoint) instead of three. Everything in it is public.
type Cache interface {
	Get(key string) ([]byte, bool)
	Put(key string, data []byte)
}

// DiscoveryTTL is how long a cached discovery document is used.
const DiscoveryTTL = 24 * time.Hour

// DirCache is a Cache of one file per key in a directory (0700 / 0600,
// written atomically). Errors only make it miss.
type DirCache struct{ Dir string }

func (c DirCache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:12])+".json")
}

// Get returns the cached bytes of key.
func (c DirCache) Get(key string) ([]byte, bool) {
	b, err := os.ReadFile(c.path(key))
	return b, err == nil
}

// Put stores data under key.
func (c DirCache) Put(key string, data []byte) {
	if config.EnsureDir(c.Dir) == nil {
		_ = config.WriteFileAtomic(c.path(key), data, 0o600)
	}
}

type cachedDiscovery struct {
	Issuer     string    `json:"issuer"`
	Endpoints  Endpoints `json:"endpoints"`
	Algorithms []string  `json:"algorithms,omitempty"`
	IssParam   bool      `json:"iss_parameter,omitempty"`
	FetchedAt  time.Time `json:"fetched_at"`
}

type cachedKeys struct {
	Keys      jose.JSONWebKeySet `json:"keys"`
	FetchedAt time.Time          `json:"fetched_at"`
}

// fromCache builds a Provider from a fresh cached discovery document.
func fromCache(cfg Config, client *http.Client) (*Provider, bool) {
	b, ok := cfg.Cache.Get("discovery:" + cfg.Issuer)
	if !ok {
		return nil, false
	}
	var d cachedDiscovery
	if json.Unmarshal(b, &d) != nil || d.Issuer != cfg.Issuer || time.Since(d.FetchedAt) > DiscoveryTTL || d.Endpoints.TokenURL == "" || d.Endpoints.JWKSURL == "" {
		return nil, false
	}
	eps := d.Endpoints.merge(cfg.Endpoints)
	octx := oidc.ClientContext(context.Background(), client)
	op := (&oidc.ProviderConfig{IssuerURL: cfg.Issuer, AuthURL: eps.AuthURL, TokenURL: eps.TokenURL, DeviceAuthURL: eps.DeviceAuthURL,
		UserInfoURL: eps.UserInfoURL, JWKSURL: eps.JWKSURL, Algorithms: d.Algorithms}).NewProvider(octx)
	p := &Provider{cfg: cfg, client: client, endpoints: eps, oidc: op, issParam: d.IssParam}
	p.verifier = oidc.NewVerifier(cfg.Issuer, newCachedKeySet(cfg, client, eps.JWKSURL), &oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: d.Algorithms})
	return p, true
}

// toCache stores a discovery document fetched over the network.
func toCache(cfg Config, found Endpoints, algs []string, issParam bool) {
	b, err := json.Marshal(cachedDiscovery{Issuer: cfg.Issuer, Endpoints: found, Algorithms: supportedAlgs(algs), IssParam: issParam, FetchedAt: time.Now().UTC()})
	if err == nil {
		cfg.Cache.Put("discovery:"+cfg.Issuer, b)
	}
}

// cachedKeySet verifies signatures with cached keys, fetching the JWKS
// again when no cached key verifies (the IdP rotated its keys).
type cachedKeySet struct {
	cfg    Config
	client *http.Client
	url    string

	mu   sync.Mutex
	keys *jose.JSONWebKeySet
}

func newCachedKeySet(cfg Config, client *http.Client, jwksURL string) *cachedKeySet {
	ks := &cachedKeySet{cfg: cfg, client: client, url: jwksURL}
	if b, ok := cfg.Cache.Get("jwks:" + jwksURL); ok {
		var c cachedKeys
		if json.Unmarshal(b, &c) == nil && time.Since(c.FetchedAt) < DiscoveryTTL {
			ks.keys = &c.Keys
		}
	}
	return ks
}

var allAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// VerifySignature implements oidc.KeySet.
func (k *cachedKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, allAlgs)
	if err != nil {
		return nil, fmt.Errorf("parsing jwt: %v", err)
	}
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	if keys != nil {
		if payload, ok := verifyWith(jws, keys); ok {
			return payload, nil
		}
	}
	fresh, err := k.fetch(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, fresh); ok {
		return payload, nil
	}
	return nil, errors.New("failed to verify id token signature")
}

func verifyWith(jws *jose.JSONWebSignature, keys *jose.JSONWebKeySet) ([]byte, bool) {
	kid := jws.Signatures[0].Header.KeyID
	for _, key := range keys.Keys {
		if kid != "" && key.KeyID != "" && key.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(key.Public().Key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

func (k *cachedKeySet) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, classify("jwks", k.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the IdP's keys from %s: HTTP %d", k.url, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("the IdP's keys at %s are not a JWKS: %v", k.url, err)
	}
	k.mu.Lock()
	k.keys = &set
	k.mu.Unlock()
	if b, err := json.Marshal(cachedKeys{Keys: set, FetchedAt: time.Now().UTC()}); err == nil {
		k.cfg.Cache.Put("jwks:"+k.url, b)
	}
	return &set, nil
}
