-- Where each answer card was delivered (answer id, conversation id): only that audience, or the asker,
-- may rate the answer.
create table if not exists answer_audience (
    answer_id text not null,
    conversation_id text not null,
    created_at double precision,
    primary key (answer_id, conversation_id)
);
