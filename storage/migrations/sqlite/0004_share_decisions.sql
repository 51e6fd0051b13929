-- Co-sell shares an ECM confirmed after the pre-flight, with the Partner Center import row they took.
create table if not exists share_decisions (
    id integer primary key autoincrement,
    opportunity_id text not null,
    partner_id text not null,
    partner_name text not null,
    decided_by text not null,
    decided_by_id text not null default '',
    decided_at text not null,
    import_row text not null default '{}'
);
create index if not exists share_decisions_by_opportunity on share_decisions (opportunity_id);
