package identitycenter

// State is the Identity Center instance the handler serves (read-only
// views such as the sandbox console use it).
func (h *OIDC) State() *State { return h.state }
