-- The audit trail is append-only: no code path, and no stray SQL session, may rewrite history.
CREATE OR REPLACE FUNCTION action_events_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'action_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER action_events_no_update_or_delete
  BEFORE UPDATE OR DELETE ON action_events
  FOR EACH ROW EXECUTE FUNCTION action_events_append_only();
--> statement-breakpoint
CREATE TRIGGER action_events_no_truncate
  BEFORE TRUNCATE ON action_events
  FOR EACH STATEMENT EXECUTE FUNCTION action_events_append_only();
