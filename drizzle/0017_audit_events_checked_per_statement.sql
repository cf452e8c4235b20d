-- The audit trail's tie to its action, checked once per statement instead of row by row. A
-- foreign key looks each event's action up and locks it (FOR KEY SHARE) until the event commits,
-- so that the action cannot be deleted under it. Actions are never deleted (the triggers below
-- refuse it, and the change of an id, for everyone, the database owner too), so one look-up of a
-- statement's events in `actions` gives the same guarantee without a lock and its WAL per event.
ALTER TABLE "action_events" DROP CONSTRAINT "action_events_action_id_actions_id_fk";--> statement-breakpoint
CREATE OR REPLACE FUNCTION action_events_name_actions() RETURNS trigger AS $$
DECLARE
  missing bigint;
BEGIN
  SELECT n.action_id INTO missing FROM new_events n
    WHERE NOT EXISTS (SELECT 1 FROM actions a WHERE a.id = n.action_id)
    LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'action_events names action %, which does not exist', missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER action_events_name_actions
  AFTER INSERT ON action_events REFERENCING NEW TABLE AS new_events
  FOR EACH STATEMENT EXECUTE FUNCTION action_events_name_actions();
--> statement-breakpoint
-- One refusal for every change the store never allows, its reason given by each trigger.
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '%: % is not allowed', TG_ARGV[0], TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE OR REPLACE TRIGGER action_events_no_update_or_delete
  BEFORE UPDATE OR DELETE ON action_events
  FOR EACH ROW EXECUTE FUNCTION refuse_change('action_events is append-only');
--> statement-breakpoint
CREATE OR REPLACE TRIGGER action_events_no_truncate
  BEFORE TRUNCATE ON action_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('action_events is append-only');
--> statement-breakpoint
DROP FUNCTION action_events_append_only();
--> statement-breakpoint
CREATE TRIGGER actions_no_delete
  BEFORE DELETE ON actions
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('actions are kept, as their audit trail names them');
--> statement-breakpoint
CREATE TRIGGER actions_no_truncate
  BEFORE TRUNCATE ON actions
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('actions are kept, as their audit trail names them');
--> statement-breakpoint
CREATE TRIGGER actions_no_id_change
  BEFORE UPDATE OF id ON actions
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('actions are kept, as their audit trail names them');
