-- Nothing readable in the outbox. A message's recipient and body are
-- sealed under the key of the person it is addressed to (a patient's data
-- key, or the staff member's own subject key), so an erased patient's
-- messages become unreadable with everything else of theirs, and one-time
-- codes and reset links are never at rest in plaintext.
--
-- The plaintext columns `recipient` and `body` stay (forward-only
-- migrations never drop a column in the release that stops using it) but
-- are emptied here and written empty from now on; a later release drops
-- them. Messages queued before this migration are deleted: they held codes
-- and links in plaintext, and every one of them has expired (codes live
-- minutes, links a day or a week at most) or can be asked for again.

DELETE FROM outbox_messages;

ALTER TABLE outbox_messages ADD COLUMN kind TEXT NOT NULL DEFAULT '';
-- `patient` or `user`: whose key seals the message.
ALTER TABLE outbox_messages ADD COLUMN addressee_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_messages ADD COLUMN addressee_id TEXT NOT NULL DEFAULT '';
-- The branch the message belongs to (NULL: the whole organisation).
ALTER TABLE outbox_messages ADD COLUMN branch_id TEXT;
-- The message carries a one-time code or a sign-in link.
ALTER TABLE outbox_messages ADD COLUMN carries_secret BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox_messages ADD COLUMN recipient_sealed BLOB;
ALTER TABLE outbox_messages ADD COLUMN body_sealed BLOB;

CREATE INDEX outbox_messages_by_created ON outbox_messages (tenant_id, created_at, id);
CREATE INDEX outbox_messages_by_addressee ON outbox_messages (tenant_id, addressee_kind, addressee_id);
