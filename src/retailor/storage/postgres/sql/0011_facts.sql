-- The fact tables of reports (storage/facts.py), derived from the decision and event
-- logs by the analytics updater and rebuildable from them. Reports read decisions by
-- time, the updater reads a person's recent decisions and an order's lines.
CREATE TABLE fact_decisions (
    decision_id text NOT NULL,
    "at" timestamptz NOT NULL,
    day date NOT NULL,
    placement text NOT NULL,
    channel text,
    customer text,
    anonymous_id text,
    person text,
    model_versions text[] NOT NULL,
    items text[] NOT NULL,
    offer_ids text[] NOT NULL,
    offer_costs double precision[] NOT NULL,
    campaigns text[] NOT NULL,
    segments text[] NOT NULL,
    experiment_id text,
    variant text,
    holdout boolean,
    impressions integer NOT NULL DEFAULT 0,
    clicks integer NOT NULL DEFAULT 0,
    add_to_carts integer NOT NULL DEFAULT 0,
    redemptions integer NOT NULL DEFAULT 0,
    budget_spent double precision NOT NULL DEFAULT 0
);
ALTER TABLE fact_decisions ADD PRIMARY KEY (decision_id);
CREATE INDEX fact_decisions_by_time ON fact_decisions ("at");
CREATE INDEX fact_decisions_by_customer ON fact_decisions (customer, "at");
CREATE INDEX fact_decisions_by_visitor ON fact_decisions (anonymous_id, "at");
CREATE TABLE fact_exposures (
    decision_id text NOT NULL,
    "at" timestamptz NOT NULL,
    day date NOT NULL,
    position integer NOT NULL,
    item_id text,
    offer_id text,
    cost double precision NOT NULL DEFAULT 0,
    viewed_at timestamptz,
    clicked_at timestamptz,
    added_at timestamptz,
    redeemed_at timestamptz,
    redeemed_order text
);
ALTER TABLE fact_exposures ADD PRIMARY KEY (decision_id, position);
CREATE TABLE fact_lines (
    order_id text NOT NULL,
    line integer NOT NULL,
    item_id text NOT NULL,
    "at" timestamptz NOT NULL,
    day date NOT NULL,
    quantity double precision NOT NULL,
    price double precision NOT NULL,
    unit_cost double precision,
    revenue double precision NOT NULL,
    margin double precision NOT NULL,
    decision_id text,
    decision_at timestamptz,
    placement text,
    reason text,
    refunded boolean NOT NULL DEFAULT false
);
ALTER TABLE fact_lines ADD PRIMARY KEY (order_id, line);
CREATE INDEX fact_lines_by_decision_time ON fact_lines (decision_at) WHERE decision_id IS NOT NULL;
CREATE TABLE fact_orders (
    order_id text NOT NULL,
    "at" timestamptz NOT NULL,
    day date NOT NULL,
    customer_id text,
    anonymous_id text,
    person text,
    revenue double precision NOT NULL,
    engaged boolean NOT NULL,
    attributed_revenue double precision NOT NULL,
    settled boolean NOT NULL
);
ALTER TABLE fact_orders ADD PRIMARY KEY (order_id);
CREATE INDEX fact_orders_by_time ON fact_orders ("at");
CREATE INDEX fact_orders_unsettled ON fact_orders ("at") WHERE NOT settled;
CREATE TABLE fact_cursors (
    name text PRIMARY KEY,
    decision_at timestamptz,
    decision_id text,
    event_position bigint
);
