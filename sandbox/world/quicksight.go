package world

// QuickSight declares the QuickSight account: users, datasets and dashboards.
// (Filled in by the QuickSight sandbox.)
type QuickSight struct {
	Namespace string `yaml:"namespace,omitempty"`
}

func (w *World) validateQuickSight(c *checker) {}
