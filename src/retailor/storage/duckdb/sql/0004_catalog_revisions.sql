-- Catalog revisions: each upsert stamps the items it writes with one revision above
-- every earlier one (the database has one writer process). Items stored before this
-- migration share revision 1.
ALTER TABLE catalog ADD COLUMN revision BIGINT DEFAULT 1;
