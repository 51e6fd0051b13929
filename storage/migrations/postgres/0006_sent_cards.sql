-- The cards the bot sent with Execute buttons, by card id: a press rewrites its own card in place on any
-- instance, and after a restart (dialogs/card_verbs.py). The card JSON is zlib-compressed.
create table sent_cards (
    card_id text primary key,
    card bytea not null,
    saved_at double precision not null
);
create index sent_cards_by_time on sent_cards (saved_at);
