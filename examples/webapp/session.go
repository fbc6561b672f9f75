package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// cookies seals the browser-side state (the login in progress, the
// person's tokens) with AES-GCM under the application's key, so that every
// replica can read a cookie any replica wrote, and nobody else can.
type cookies struct {
	aead cipher.AEAD
}

func newCookies(key []byte) (*cookies, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &cookies{aead: aead}, nil
}

// webSession is what the session cookie holds.
type webSession struct {
	IDToken      string    `json:"id"`
	RefreshToken string    `json:"rt,omitempty"`
	Expiry       time.Time `json:"exp"`
	Email        string    `json:"email"`
	Name         string    `json:"name,omitempty"`
}

// loginState is what the login cookie holds between /login and /callback.
type loginState struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
}

func (c *cookies) set(w http.ResponseWriter, name string, v any, maxAge time.Duration) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := c.aead.Seal(nonce, nonce, plain, []byte("webapp:"+name))
	http.SetCookie(w, &http.Cookie{Name: name, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)})
	return nil
}

func (c *cookies) get(r *http.Request, name string, v any) error {
	ck, err := r.Cookie(name)
	if err != nil {
		return err
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(b) < c.aead.NonceSize() {
		return errors.New("bad cookie")
	}
	plain, err := c.aead.Open(nil, b[:c.aead.NonceSize()], b[c.aead.NonceSize():], []byte("webapp:"+name))
	if err != nil {
		return errors.New("bad cookie")
	}
	return json.Unmarshal(plain, v)
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
}

func randomString() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
