package redshiftdata_test

import (
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestSeedRBACStatements: seed 003's RBAC scripts (database users and
// groups, technical and business roles, schema-wide and scoped grants,
// column attributes) run as the administrator writes them, and a scoped
// grant to an Identity Center group's role reaches a table created after
// it, for that group's members only.
func TestSeedRBACStatements(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	adm := client(sb, ststest.Admin())
	admin(t, adm,
		`create schema tickit`,
		`create schema sales_schema`,
		`create user etl_user_1 password 'EtlUser1!'`,
		`create user adhoc_user_1 password 'AdhocUser1!'`,
		`create role role_bn_etl_tickit`,
		`create role role_tn_sel_tickit`,
		`create role role_tn_dml_tickit`,
		`create group group_adhoc`,
		`create table tickit.sales (salesid integer not null distkey sortkey, qtysold smallint not null, pricepaid decimal(8,2))`,
		`grant usage on schema tickit to role role_tn_sel_tickit`,
		`grant select on all tables in schema tickit to role role_tn_sel_tickit`,
		`grant insert, update, delete on all tables in schema tickit to role role_tn_dml_tickit`,
		`grant usage, create on schema tickit to role role_tn_dml_tickit`,
		`grant drop on all tables in schema tickit to role role_tn_dml_tickit`,
		`grant role role_tn_sel_tickit to role role_bn_etl_tickit`,
		`grant role role_tn_dml_tickit to role role_bn_etl_tickit`,
		`grant role role_bn_etl_tickit to etl_user_1`,
		`grant usage on schema tickit to group group_adhoc`,
		`grant select on all tables in schema tickit to group group_adhoc`,
		`alter group group_adhoc add user adhoc_user_1`,
		`CREATE role "AWSIDC:analysts"`,
		`grant usage on schema sales_schema to role "AWSIDC:analysts"`,
		`grant select,insert  for tables in schema sales_schema to role "AWSIDC:analysts"`,
		// created after the scoped grant
		"CREATE TABLE IF NOT EXISTS \nsales_schema.store_sales_s3access ( \nID INTEGER ENCODE az64, \nProduct varchar(20), \nSales_Amount INTEGER ENCODE az64 \n) \nDISTSTYLE AUTO",
		`insert into dev.sales_schema.store_sales_s3access values (1, 'boots', 120), (2, 'tent', 300)`,
		`insert into tickit.sales values (1, 2, '3.5'::decimal(8,2))`,
	)
	alice := client(sb, person(t, sb, "alice")) // in analysts
	o := run(t, alice, "my-workgroup", `SELECT product, sales_amount FROM "dev"."sales_schema"."store_sales_s3access" ORDER BY id`)
	if o.Status != "FINISHED" || len(o.Rows) != 2 || o.Rows[1][0] != "tent" || o.Rows[1][1] != "300" {
		t.Fatalf("alice through the scoped grant: %+v", o)
	}
	if o := run(t, client(sb, ststest.Admin()), "my-workgroup", `SELECT pricepaid FROM tickit.sales`); o.Rows[0][0] != "3.50" {
		t.Fatalf("decimal(8,2) column: %+v", o)
	}
	bob := client(sb, person(t, sb, "bob")) // not in analysts
	for _, q := range []string{`SELECT * FROM sales_schema.store_sales_s3access`, `SELECT * FROM tickit.sales`} {
		if o := run(t, bob, "my-workgroup", q); o.Status != "FAILED" || o.Error[:31] != "ERROR: permission denied for re" {
			t.Fatalf("bob: %s: %+v", q, o)
		}
	}
	admin(t, adm, `revoke select for tables in schema sales_schema from role "AWSIDC:analysts"`)
	if o := run(t, alice, "my-workgroup", `SELECT * FROM sales_schema.store_sales_s3access`); o.Status != "FAILED" || o.Error != "ERROR: permission denied for relation store_sales_s3access" {
		t.Fatalf("after REVOKE … FOR TABLES: %+v", o)
	}
	for q, want := range map[string]string{
		`create user etl_user_1 password 'x'`:                  `ERROR: user "etl_user_1" already exists`,
		`alter group group_adhoc add user nobody`:              `ERROR: user "nobody" does not exist`,
		`alter group no_group add user etl_user_1`:             `ERROR: group "no_group" does not exist`,
		`UNLOAD ('SELECT * FROM tickit.sales') TO 's3://b/p/'`: `ERROR: the sandbox does not support UNLOAD`,
	} {
		if o := run(t, adm, "my-workgroup", q); o.Status != "FAILED" || o.Error != want {
			t.Errorf("%s: %+v, want %s", q, o, want)
		}
	}
	if o := run(t, alice, "my-workgroup", `create user mallory password 'x'`); o.Status != "FAILED" || o.Error[:24] != "ERROR: permission denied" {
		t.Fatalf("a person creates a user: %+v", o)
	}
}
