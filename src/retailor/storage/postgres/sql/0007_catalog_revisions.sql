-- Catalog revisions: each upsert takes the next value of catalog_revision (under the
-- catalog writers' advisory lock, held until it commits, so revisions become visible in
-- order) and stamps the items it wrote with it; servers ask for the items written after
-- the revision they hold. Items stored before this migration share revision 1.
ALTER TABLE catalog ADD COLUMN revision bigint NOT NULL DEFAULT 1;
ALTER TABLE catalog ALTER COLUMN revision DROP DEFAULT;
CREATE SEQUENCE catalog_revision START 2;
CREATE INDEX catalog_by_revision ON catalog (revision);
