"""Every SQL table Solace keeps, declared on one metadata (the Alembic migrations compare
against it), and the text-vector cache's own table.

The stores that read and write them are beside this module (``storage.events``,
``storage.profiles``...) and in ``content_catalog.store`` for the catalog.
"""

from __future__ import annotations

from sqlalchemy import (
    Date,
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- the catalog: each resource's current and last approved record, and its audit trail ---
resources_table = Table(
    "resources",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("type", String(16), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("data", JSON, nullable=False),
    Column("approved_data", JSON(none_as_null=True), nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # NULL: the global catalog; else the one tenant whose staff change it and whose users see it.
    Column("owner_tenant", String(64), nullable=True, index=True),
)

audit_table = Table(
    "resource_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(80), ForeignKey("resources.id"), nullable=False, index=True),
    Column("actor", String(80), nullable=False),
    Column("action", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("changes", JSON, nullable=False),
    # what a reviewer wrote with a decision (a rejection always says what to change)
    Column("comment", Text, nullable=True),
)

# --- the event log, deduplicated by (tenant, event_id) ---
events_table = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("resource_id", String(80), nullable=False),
    Column("type", String(16), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("recommendation_id", String(64), nullable=True),
    Column("source", String(16), nullable=False, default="api"),
    Column("reason", String(16), nullable=True),
    Column("score", SmallInteger, nullable=True),  # mood check-ins only: 1 to 5
    UniqueConstraint("tenant", "event_id", name="uq_events_tenant_event"),
)

# --- outcomes per resource, tenant and day, kept up to date at ingestion (never recounted
# from the event log per request); analytics sums the days of a window ---
OUTCOME_COUNTERS = ("impressions", "clicks", "starts", "completions", "helpful", "not_helpful",
                    "dismissals", "content_reports", "distress",
                    # mood check-ins: pairs (before, after) and the sums of their change and its square
                    "mood_n", "mood_sum", "mood_sq")
outcome_rollups_table = Table(
    "outcome_rollups",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("resource_id", String(80), primary_key=True),
    Column("day", Date, primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in OUTCOME_COUNTERS),
)
# the same counters summed over all days, per tenant and resource: the all-time figures
# (the default of `solace analytics resources`) read a row per resource, whatever the volume
outcome_totals_table = Table(
    "outcome_totals",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("resource_id", String(80), primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in OUTCOME_COUNTERS),
)
Index("ix_outcome_rollups_resource_day", outcome_rollups_table.c.resource_id, outcome_rollups_table.c.day)
Index("ix_events_tenant_user", events_table.c.tenant, events_table.c.user_id)

# --- experiments between model versions (and policy variants) of one tenant ---
experiments_table = Table(
    "experiments",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("experiment_id", String(24), primary_key=True),
    Column("description", String(200), nullable=False, server_default=""),
    # [{"name", "model_version", "share", "max_topic_share"?}], the first arm is control
    Column("arms", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # draft, running, stopped
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("stopped_at", DateTime(timezone=True), nullable=True),
    Column("stop_reason", String(300), nullable=True),
)
# outcome counters per arm, incremented at ingestion from the events whose recommendation id
# names the arm (as outcome_rollups are per resource)
experiment_rollups_table = Table(
    "experiment_rollups",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("experiment_id", String(24), primary_key=True),
    Column("arm", String(12), primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in OUTCOME_COUNTERS),
)
# resources whose outcomes sent them back to clinical review: the evidence, and the
# reviewer's decision once made (an open flag pauses the resource for tenants that ask)
resource_flags_table = Table(
    "resource_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(80), nullable=False, index=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),  # the counts the rule read (no user ids)
    Column("status", String(16), nullable=False),  # open, kept, retired
    Column("decided_by", String(80), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("comment", Text, nullable=True),
)
# who reached which arm (for the sample-ratio check); a user's rows go with their erasure
experiment_users_table = Table(
    "experiment_users",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("experiment_id", String(24), primary_key=True),
    Column("user_id", String(128), primary_key=True),
    Column("arm", String(12), nullable=False),
)

# --- user profiles ---
profiles_table = Table(
    "user_profiles",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("user_id", String(128), primary_key=True),
    Column("features", JSON, nullable=False),
    Column("locale", String(35), nullable=True),
    Column("age_band", String(8), nullable=True),
    Column("opt_outs", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- API keys, stored only as a hash ---
api_keys_table = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("reviewer", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("global_staff", Boolean, nullable=False, default=False, server_default=false()),
    # the staff account an editor key acts as (its name is what the audit trail records)
    Column("staff", String(80), nullable=True),
)

# --- staff accounts: the people who write, review and run the catalog (console, CLI, editor
# keys bound to them); passwords only as argon2 hashes ---
staff_accounts_table = Table(
    "staff_accounts",
    metadata,
    Column("name", String(80), primary_key=True),
    # NULL: global staff (the global catalog); else the one tenant whose staff they are
    Column("tenant", String(64), nullable=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
)

# --- every sign-in attempt of staff: who, when, how, and whether it worked (never a password) ---
staff_signins_table = Table(
    "staff_signins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("success", Boolean, nullable=False),
    # ok, wrong_password, locked, disabled, unknown_account
    Column("outcome", String(32), nullable=False),
    Column("via", String(16), nullable=False),
)

# --- per-tenant safety settings ---
tenant_policies_table = Table(
    "tenant_policies",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("policy", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- the erasure log: a salted hash of the id and the time, never the id ---
erasure_log_table = Table(
    "erasure_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("user_hash", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # what was done for the user: "erase", or "export" (a copy of their data was handed out)
    Column("action", String(16), nullable=False, server_default="erase"),
)

# --- catalog text embeddings, by item and encoder ---
embeddings_table = Table(
    "item_embeddings",
    metadata,
    Column("item_id", String(80), primary_key=True),
    Column("model_name", String(120), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("text_hash", String(64), nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

# --- the text-vector cache of file texts: its own metadata, since the cache is a local
# SQLite file beside the data, not part of the migrated schema (the catalog database may be
# PostgreSQL, and a cache may be deleted) ---
cache_metadata = MetaData()

text_vectors_table = Table(
    "text_vectors",
    cache_metadata,
    Column("model_name", String(120), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
)
