package broker

// WithoutOpenedMemo returns a copy of r that authenticates and decrypts
// every value it reads (for benchmarks of what the memo saves).
func WithoutOpenedMemo(r *Redis) *Redis {
	c := *r
	c.opened = nil
	return &c
}
