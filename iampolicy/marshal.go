package iampolicy

import (
	"encoding/json"
)

// MarshalJSON writes the document back as policy JSON: the same statements,
// principals and conditions, in a canonical layout (lists for multi-valued
// elements). Parse reads it back to an equivalent document.
func (d *Document) MarshalJSON() ([]byte, error) {
	type stmt map[string]any
	list := make([]stmt, 0, len(d.Statements))
	for _, st := range d.Statements {
		m := stmt{"Effect": st.Effect}
		if st.Sid != "" {
			m["Sid"] = st.Sid
		}
		put := func(k string, v []string) {
			if len(v) > 0 {
				m[k] = v
			}
		}
		put("Action", st.Action)
		put("NotAction", st.NotAction)
		put("Resource", st.Resource)
		put("NotResource", st.NotResource)
		if st.Principal != nil {
			m["Principal"] = st.Principal.value()
		}
		if st.NotPrincipal != nil {
			m["NotPrincipal"] = st.NotPrincipal.value()
		}
		if len(st.Conditions) > 0 {
			c := map[string]map[string][]string{}
			for _, cond := range st.Conditions {
				if c[cond.Operator] == nil {
					c[cond.Operator] = map[string][]string{}
				}
				c[cond.Operator][cond.Key] = cond.Values
			}
			m["Condition"] = c
		}
		list = append(list, m)
	}
	v := d.Version
	if v == "" {
		v = "2012-10-17"
	}
	return json.Marshal(map[string]any{"Version": v, "Statement": list})
}

func (p *Principals) value() any {
	if p.Any {
		return "*"
	}
	m := map[string][]string{}
	if len(p.AWS) > 0 {
		m["AWS"] = p.AWS
	}
	if len(p.Federated) > 0 {
		m["Federated"] = p.Federated
	}
	if len(p.Service) > 0 {
		m["Service"] = p.Service
	}
	return m
}
