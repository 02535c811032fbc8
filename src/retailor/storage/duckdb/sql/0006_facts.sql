-- The fact tables of reports (storage/facts.py), derived from the decision and event
-- logs by the analytics updater and rebuildable from them. No index on the decisions'
-- time: DuckDB's zone maps skip row groups outside a time range, and facts arrive in
-- time order. Look-ups by id go through ART indexes (not unique: the updater replaces
-- rows by deleting them first).
CREATE TABLE fact_decisions (
    decision_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    placement VARCHAR NOT NULL,
    channel VARCHAR,
    customer VARCHAR,
    anonymous_id VARCHAR,
    person VARCHAR,
    model_versions VARCHAR[] NOT NULL,
    items VARCHAR[] NOT NULL,
    offer_ids VARCHAR[] NOT NULL,
    offer_costs DOUBLE[] NOT NULL,
    campaigns VARCHAR[] NOT NULL,
    segments VARCHAR[] NOT NULL,
    experiment_id VARCHAR,
    variant VARCHAR,
    holdout BOOLEAN,
    impressions INTEGER NOT NULL DEFAULT 0,
    clicks INTEGER NOT NULL DEFAULT 0,
    add_to_carts INTEGER NOT NULL DEFAULT 0,
    redemptions INTEGER NOT NULL DEFAULT 0,
    budget_spent DOUBLE NOT NULL DEFAULT 0
);
CREATE INDEX fact_decisions_by_id ON fact_decisions (decision_id);
CREATE INDEX fact_decisions_by_customer ON fact_decisions (customer);
CREATE INDEX fact_decisions_by_visitor ON fact_decisions (anonymous_id);
CREATE TABLE fact_exposures (
    decision_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    position INTEGER NOT NULL,
    item_id VARCHAR,
    offer_id VARCHAR,
    cost DOUBLE NOT NULL DEFAULT 0,
    viewed_at TIMESTAMPTZ,
    clicked_at TIMESTAMPTZ,
    added_at TIMESTAMPTZ,
    redeemed_at TIMESTAMPTZ,
    redeemed_order VARCHAR
);
CREATE INDEX fact_exposures_by_decision ON fact_exposures (decision_id);
CREATE TABLE fact_lines (
    order_id VARCHAR NOT NULL,
    line INTEGER NOT NULL,
    item_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    quantity DOUBLE NOT NULL,
    price DOUBLE NOT NULL,
    unit_cost DOUBLE,
    revenue DOUBLE NOT NULL,
    margin DOUBLE NOT NULL,
    decision_id VARCHAR,
    decision_at TIMESTAMPTZ,
    placement VARCHAR,
    reason VARCHAR,
    refunded BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX fact_lines_by_order ON fact_lines (order_id);
CREATE TABLE fact_orders (
    order_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    customer_id VARCHAR,
    anonymous_id VARCHAR,
    person VARCHAR,
    revenue DOUBLE NOT NULL,
    engaged BOOLEAN NOT NULL,
    attributed_revenue DOUBLE NOT NULL,
    settled BOOLEAN NOT NULL
);
CREATE INDEX fact_orders_by_id ON fact_orders (order_id);
CREATE TABLE fact_cursors (
    name VARCHAR PRIMARY KEY,
    decision_at TIMESTAMPTZ,
    decision_id VARCHAR,
    event_position BIGINT
);
