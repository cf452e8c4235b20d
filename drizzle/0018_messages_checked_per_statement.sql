-- An action's message, checked once per statement instead of row by row. A foreign key looks up
-- and locks (FOR KEY SHARE) the message of each new action, once for each of its actions, and a
-- threat message shows hundreds. Here a statement's distinct messages are looked up and locked in
-- one look-up, which keeps the key's guarantee: while an action that names a message is being
-- stored, the message cannot be deleted, and once stored, a delete of it is refused (the trigger
-- on slack_messages below).
ALTER TABLE "actions" DROP CONSTRAINT "actions_slack_message_id_slack_messages_id_fk";--> statement-breakpoint
CREATE OR REPLACE FUNCTION raise_foreign_key_violation(message text) RETURNS void AS $$
BEGIN
  RAISE EXCEPTION '%', message USING ERRCODE = 'foreign_key_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION actions_name_messages() RETURNS trigger AS $$
DECLARE
  named bigint[];
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    named := ARRAY[NEW.slack_message_id];
  ELSE
    SELECT array_agg(DISTINCT slack_message_id) INTO named FROM new_actions
      WHERE slack_message_id IS NOT NULL;
  END IF;
  -- The lock is the foreign key's: a concurrent delete of the message waits for this transaction,
  -- then finds the action that names it.
  PERFORM raise_foreign_key_violation(format('actions name message %s, which does not exist', n.id))
    FROM unnest(named) AS n(id)
    LEFT JOIN LATERAL (SELECT m.id FROM slack_messages m WHERE m.id = n.id FOR KEY SHARE) found ON true
    WHERE found.id IS NULL
    LIMIT 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER actions_name_messages
  AFTER INSERT ON actions REFERENCING NEW TABLE AS new_actions
  FOR EACH STATEMENT EXECUTE FUNCTION actions_name_messages();
--> statement-breakpoint
CREATE TRIGGER actions_name_message_on_change
  AFTER UPDATE OF slack_message_id ON actions
  FOR EACH ROW WHEN (NEW.slack_message_id IS NOT NULL AND NEW.slack_message_id IS DISTINCT FROM OLD.slack_message_id)
  EXECUTE FUNCTION actions_name_messages();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION slack_messages_kept_while_shown() RETURNS trigger AS $$
BEGIN
  PERFORM raise_foreign_key_violation(format('slack_messages: message %s shows actions, so it is kept', o.id))
    FROM old_messages o
    WHERE EXISTS (SELECT 1 FROM actions a WHERE a.slack_message_id = o.id)
    LIMIT 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER slack_messages_kept_while_shown
  AFTER DELETE ON slack_messages REFERENCING OLD TABLE AS old_messages
  FOR EACH STATEMENT EXECUTE FUNCTION slack_messages_kept_while_shown();
--> statement-breakpoint
CREATE TRIGGER slack_messages_no_id_change
  BEFORE UPDATE OF id ON slack_messages
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('slack_messages keep their ids, as actions name them');
--> statement-breakpoint
CREATE TRIGGER slack_messages_no_truncate
  BEFORE TRUNCATE ON slack_messages
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('slack_messages are named by actions');
