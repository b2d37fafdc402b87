//! The store's tables, created on first connect, and the layout version they carry.

use tokio_postgres::Client;

use crate::error::{ConnectError, PgError};

/// The version of the table layout this crate writes. A schema holding a higher one was
/// written by a newer es-postgres and is refused, never guessed at.
pub(crate) const LAYOUT_VERSION: i32 = 1;

/// Creates the schema's tables if they do not exist, under a transaction-scoped advisory
/// lock so that processes connecting at once do not race, and checks the layout version.
pub(crate) async fn ensure(
    client: &mut Client,
    schema: &str,
    target: &str,
) -> Result<(), ConnectError> {
    let query = |operation: &str| {
        let operation = format!("{operation} in schema `{schema}`");
        let target = target.to_owned();
        move |source| PgError::Query {
            target,
            operation,
            source,
        }
    };
    let tx = client
        .transaction()
        .await
        .map_err(query("begin the set-up"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('es-postgres layout'), hashtext($1))",
        &[&schema],
    )
    .await
    .map_err(query("lock the set-up"))?;
    let exists: bool = tx
        .query_one(
            "SELECT to_regclass(format('%I.layout', $1::text)) IS NOT NULL",
            &[&schema],
        )
        .await
        .map_err(query("look for the store's tables"))?
        .get(0);
    if exists {
        let found: i32 = tx
            .query_one(&format!("SELECT version FROM {schema}.layout"), &[])
            .await
            .map_err(query("read the layout version"))?
            .get(0);
        if found > LAYOUT_VERSION {
            return Err(ConnectError::NewerLayout {
                schema: schema.to_owned(),
                found,
                supported: LAYOUT_VERSION,
            });
        }
    } else {
        tx.batch_execute(&create_sql(schema))
            .await
            .map_err(query("create the store's tables"))?;
    }
    tx.commit().await.map_err(query("commit the set-up"))?;
    Ok(())
}

/// The statements that create a store in `schema` (a validated plain identifier).
fn create_sql(schema: &str) -> String {
    CREATE
        .replace("{schema}", schema)
        .replace("{layout}", &LAYOUT_VERSION.to_string())
}

/// The layout. Positions come from `positions`, handed out in blocks under a short session
/// lock, so each batch holds consecutive positions; under the same lock the batch's
/// transaction takes its id, kept as `writer_xid`, so ids grow with positions: once every
/// transaction below a row's `writer_xid` has ended, no event can ever appear at a lower,
/// still missing position (see docs/postgres.md).
const CREATE: &str = r"
CREATE SCHEMA IF NOT EXISTS {schema};

CREATE TABLE {schema}.layout (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version integer NOT NULL
);
INSERT INTO {schema}.layout (version) VALUES ({layout});

CREATE SEQUENCE {schema}.positions AS bigint MINVALUE 1 CACHE 1;

CREATE TABLE {schema}.events (
    position bigint PRIMARY KEY,
    stream_id text NOT NULL,
    stream_version bigint NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    schema_version bigint NOT NULL,
    payload json NOT NULL,
    metadata json NOT NULL,
    recorded_at_ns bigint NOT NULL,
    writer_xid bigint NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE TABLE {schema}.snapshots (
    stream_id text PRIMARY KEY,
    stream_version bigint NOT NULL,
    fingerprint text NOT NULL,
    state bytea NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {schema}.checkpoints (
    projection text PRIMARY KEY,
    position bigint NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
);

-- One append, in one statement: every event or none.
-- p_expected: -1 any version, -2 an existing stream, n >= 0 exactly version n (0: no stream).
-- Answers one row: ('written', version before, first position), ('conflict', current version),
-- or one ('found', ...) row per event id of the batch already stored, and then writes nothing.
CREATE FUNCTION {schema}.append(
    p_stream text,
    p_expected bigint,
    p_ids uuid[],
    p_types text[],
    p_versions bigint[],
    p_payloads json[],
    p_metadata json[],
    p_recorded_ns bigint[]
) RETURNS TABLE (
    outcome text,
    out_version bigint,
    out_position bigint,
    out_event_id uuid,
    out_stream_id text
) LANGUAGE plpgsql AS $$
DECLARE
    v_count integer := cardinality(p_ids);
    v_current bigint;
    v_first bigint;
    v_xid bigint;
    v_now bigint;
BEGIN
    -- Readers rely on transaction ids growing with positions (see the writer's id below).
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'append must be the first write of its transaction'
            USING ERRCODE = '25000';
    END IF;

    RETURN QUERY
        SELECT 'found'::text, e.stream_version, e.position, e.event_id, e.stream_id
        FROM {schema}.events e WHERE e.event_id = ANY (p_ids);
    IF FOUND THEN
        RETURN;
    END IF;

    SELECT coalesce(max(e.stream_version), 0) INTO v_current
    FROM {schema}.events e WHERE e.stream_id = p_stream;
    IF (p_expected = -2 AND v_current = 0) OR (p_expected >= 0 AND v_current <> p_expected) THEN
        RETURN QUERY SELECT 'conflict'::text, v_current, NULL::bigint, NULL::uuid, NULL::text;
        RETURN;
    END IF;

    -- The transaction id and a block of consecutive positions, taken together under a
    -- session lock held for these three calls, not until commit: a batch at a higher position
    -- always has a higher transaction id, and appends do not wait for each other's commits.
    PERFORM pg_advisory_lock(hashtext('es-postgres positions'), hashtext('{schema}'));
    v_xid := pg_current_xact_id()::text::bigint;
    v_first := nextval('{schema}.positions');
    IF v_count > 1 THEN
        PERFORM setval('{schema}.positions', v_first + v_count - 1);
    END IF;
    PERFORM pg_advisory_unlock(hashtext('es-postgres positions'), hashtext('{schema}'));
    v_now := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000;

    INSERT INTO {schema}.events (position, stream_id, stream_version, event_id, event_type,
                                 schema_version, payload, metadata, recorded_at_ns, writer_xid)
    SELECT v_first + b.n - 1, p_stream, v_current + b.n, b.id, b.type, b.version, b.payload,
           b.metadata, coalesce(b.recorded_ns, v_now), v_xid
    FROM unnest(p_ids, p_types, p_versions, p_payloads, p_metadata, p_recorded_ns)
         WITH ORDINALITY AS b (id, type, version, payload, metadata, recorded_ns, n);

    RETURN QUERY SELECT 'written'::text, v_current, v_first, NULL::uuid, NULL::text;
END
$$;
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let sql = create_sql("bank");
        assert!(
            !sql.contains("{schema}") && !sql.contains("{layout}"),
            "{sql}"
        );
        assert!(sql.contains("CREATE TABLE bank.events"));
        assert!(sql.contains("VALUES (1)"));
    }
}
