-- The groups an answer (and a readiness-session question) was restricted to, so the knowledge-gaps log
-- and session digests show it only to readers who may see it now (dialogs/audience.py).
alter table answers add column restricted_to text not null default '[]';
alter table session_questions add column restricted_to text not null default '[]';
