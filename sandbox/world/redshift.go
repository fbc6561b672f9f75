package world

import "fmt"

// Redshift declares Redshift Serverless workgroups reachable through the
// Redshift Data API.
type Redshift struct {
	// IdentityCenterNamespace prefixes Identity Center users and groups
	// inside the database ("AWSIDC" makes AWSIDC:alice and the role
	// AWSIDC:emea-sales); empty disables identity-enhanced sessions.
	IdentityCenterNamespace string              `yaml:"identity_center_namespace,omitempty"`
	Workgroups              []RedshiftWorkgroup `yaml:"workgroups,omitempty"`
}

// RedshiftWorkgroup is a Redshift Serverless workgroup and its namespace.
type RedshiftWorkgroup struct {
	Name string `yaml:"name"`
	// Aliases are other names the workgroup answers to.
	Aliases   []string `yaml:"aliases,omitempty"`
	Namespace string   `yaml:"namespace"`
	// Databases lists the databases (default: dev).
	Databases []RedshiftDatabase `yaml:"databases,omitempty"`
}

// RedshiftDatabase is one database and the SQL an administrator ran in it.
type RedshiftDatabase struct {
	Name string `yaml:"name"`
	// Objects are generated into the sandbox's S3 before the SQL runs, so
	// that its COPY statements find them.
	Objects []GeneratedObject `yaml:"objects,omitempty"`
	// SQL is run statement by statement as the superuser, through the same
	// path as BatchExecuteStatement.
	SQL string `yaml:"sql,omitempty"`
}

// GeneratedObject is an S3 object made by a generator.
type GeneratedObject struct {
	S3        string `yaml:"s3"`
	Generator struct {
		Kind string `yaml:"kind"`
		Seed int64  `yaml:"seed,omitempty"`
		Rows int    `yaml:"rows"`
	} `yaml:"generator"`
}

func (w *World) validateRedshift(c *checker) {
	seen := map[string]bool{}
	for i, wg := range w.Redshift.Workgroups {
		p := func(f string) string { return fmt.Sprintf("redshift.workgroups[%d].%s", i, f) }
		if c.required(p("name"), wg.Name) {
			c.unique(seen, p("name"), wg.Name)
		}
		for _, a := range wg.Aliases {
			c.unique(seen, p("aliases"), a)
		}
		c.required(p("namespace"), wg.Namespace)
		for j, db := range wg.Databases {
			c.required(p(fmt.Sprintf("databases[%d].name", j)), db.Name)
			for k, o := range db.Objects {
				op := p(fmt.Sprintf("databases[%d].objects[%d]", j, k))
				if o.Generator.Kind != "sales_data" {
					c.add(op+".generator.kind", "unknown generator %q (known: sales_data)", o.Generator.Kind)
				}
				if o.Generator.Rows < 0 || o.Generator.Rows > 100000 {
					c.add(op+".generator.rows", "must be between 0 and 100000")
				}
				if len(o.S3) < 6 || o.S3[:5] != "s3://" {
					c.add(op+".s3", "must be an s3://bucket/key URI")
				}
			}
		}
	}
}
