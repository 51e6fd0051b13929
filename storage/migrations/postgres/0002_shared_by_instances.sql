-- What several instances must agree on: who sends today's digest (a lease per subscriber), which
-- activities were answered (the replay guard), and the export files behind download links.
alter table digest_subscriptions add column claimed_by text not null default '';
alter table digest_subscriptions add column claimed_until double precision;

create table delivered_activities (
    key text primary key,
    seen_at double precision not null
);
create index delivered_activities_by_time on delivered_activities (seen_at);

create table exports (
    name text primary key,
    data bytea not null,
    created_at double precision not null
);
create index exports_by_time on exports (created_at);
