-- The cards the bot sent with Execute buttons, by card id: a press rewrites its own card in place on any
-- instance, and after a restart (dialogs/card_verbs.py). The card JSON is zlib-compressed.
create table sent_cards (
    card_id text primary key,
    card blob not null,
    saved_at real not null
);
create index sent_cards_by_time on sent_cards (saved_at);
