package pgevents

// migration is one version of this package's own schema. The console
// store's numbered migrations (store/sqlstore) are a separate history: the
// event table may live in another database, and neither side's upgrades
// should wait for the other.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// migrations are applied in order, each in one transaction, by whoever
// calls Migrate; that role owns the objects. The role the cloud runs as is
// then given only what Grant lists, so it cannot switch row security off.
var migrations = []migration{{
	Version: 1,
	Name:    "partitioned events with row-level security",
	SQL: `
CREATE TABLE kyojin_events (
	tenant      text        NOT NULL,
	time        timestamptz NOT NULL,
	received    timestamptz NOT NULL,
	source      text        NOT NULL DEFAULT '',
	host        text        NOT NULL DEFAULT '',
	raw         text        NOT NULL DEFAULT '',
	parse_error text        NOT NULL DEFAULT '',
	fields      jsonb       NOT NULL DEFAULT '{}'
) PARTITION BY RANGE (time);

-- Every search names one tenant and a time range.
CREATE INDEX kyojin_events_tenant_time ON kyojin_events (tenant, time);

-- Row-level security keyed on the transaction-local setting kyojin.tenant:
-- without it no row is visible and no row can be written. FORCE makes the
-- owner subject to it as well (only superusers and BYPASSRLS roles are not).
ALTER TABLE kyojin_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE kyojin_events FORCE ROW LEVEL SECURITY;
CREATE POLICY kyojin_events_tenant ON kyojin_events
	USING (tenant = current_setting('kyojin.tenant', true))
	WITH CHECK (tenant = current_setting('kyojin.tenant', true));

-- kyojin_events_partition creates the partition of one UTC day on demand.
-- Its search_path is fixed to the schema of the table (pg_temp last), so a
-- caller cannot slip its own objects in front of it.
-- SECURITY DEFINER: the cloud's role may create days without owning the
-- table. Partitions do not inherit policies, so each gets the same policy
-- and FORCE, which keeps direct access to a partition tenant-scoped too.
CREATE FUNCTION kyojin_events_partition(d date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {{schema}}, pg_temp AS $fn$
DECLARE
	part text := 'kyojin_events_' || to_char(d, 'YYYYMMDD');
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext(part));
	IF to_regclass(quote_ident(part)) IS NOT NULL THEN
		RETURN false;
	END IF;
	EXECUTE format('CREATE TABLE %I PARTITION OF kyojin_events FOR VALUES FROM (%L) TO (%L)',
		part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
	EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
	EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
	EXECUTE format('CREATE POLICY kyojin_events_tenant ON %I USING (tenant = current_setting(''kyojin.tenant'', true)) WITH CHECK (tenant = current_setting(''kyojin.tenant'', true))', part);
	RETURN true;
END
$fn$;

-- kyojin_events_drop_before drops whole days before cut, every tenant at
-- once: what is left when each tenant's own retention has passed.
CREATE FUNCTION kyojin_events_drop_before(cut date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {{schema}}, pg_temp AS $fn$
DECLARE
	part text;
	n integer := 0;
BEGIN
	FOR part IN
		SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'kyojin_events'::regclass AND c.relname ~ '^kyojin_events_[0-9]{8}$'
		  AND to_date(substr(c.relname, 15), 'YYYYMMDD') < cut
	LOOP
		EXECUTE format('DROP TABLE %I', part);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$fn$;

-- Functions are executable by PUBLIC by default; these are for the roles
-- Grant names only.
REVOKE EXECUTE ON FUNCTION kyojin_events_partition(date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION kyojin_events_drop_before(date) FROM PUBLIC;
`,
}}
