-- The tables as the releases before versioned migrations created them (so an older file is adopted as is).
create table if not exists decisions (
    id integer primary key autoincrement,
    opportunity_id text not null,
    partner_id text not null,
    partner_name text not null,
    action text not null check (action in ('propose', 'attach', 'dismiss')),
    reason text not null default '',
    decided_by text not null,
    decided_by_id text not null default '',
    decided_at text not null
);
create index if not exists decisions_by_opportunity on decisions (opportunity_id);

create table if not exists answers (
    answer_id text primary key,
    question_id text,
    conversation_type text,
    user_id text,
    question text,
    kind text,
    title text,
    created_at real,
    outcome text not null default '',
    topic text not null default '',
    unknown_terms text not null default '[]'
);
create table if not exists feedback (
    answer_id text not null,
    user_id text,
    rating text not null check (rating in ('up', 'down')),
    comment text,
    created_at real,
    primary key (answer_id, user_id)
);
create index if not exists answers_by_time on answers (created_at);
create index if not exists feedback_by_rating on feedback (rating, answer_id);

create table if not exists digest_subscriptions (
    user_id text primary key,
    user_name text not null default '',
    reference text not null,
    created_at real not null,
    last_sent_date text,
    failed_date text,
    failures integer not null default 0
);

create table if not exists readiness_sessions (
    session_id text primary key,
    conversation_key text not null,
    conversation_type text not null default '',
    topic text not null default '',
    started_by_id text not null default '',
    started_by_name text not null default '',
    started_at real not null,
    ended_at real,
    ended_by_name text not null default ''
);
create unique index if not exists one_running_session_per_conversation
    on readiness_sessions (conversation_key) where ended_at is null;
create index if not exists sessions_by_conversation on readiness_sessions (conversation_key, started_at);
create table if not exists session_questions (
    id integer primary key autoincrement,
    session_id text not null references readiness_sessions (session_id),
    activity_id text not null default '',
    thread_id text not null default '',
    asker_id text not null default '',
    asker_name text not null default '',
    question text not null,
    asked_at real not null,
    answer_id text not null default '',
    kind text not null default '',
    title text not null default '',
    outcome text not null default '',
    sources text not null default '[]',
    topic text not null default '',
    duplicate_of integer references session_questions (id),
    normalised text not null default '',
    vector blob,
    facts text not null default '{}'
);
create index if not exists questions_by_session on session_questions (session_id, id);

create table if not exists bot_state (
    key text primary key,
    etag text not null,
    document text not null,
    updated_at real not null
);
